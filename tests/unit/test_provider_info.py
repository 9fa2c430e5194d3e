from __future__ import annotations

import importlib
import json
from importlib.metadata import distribution, entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_hadoop_eco.get_provider_info import get_provider_info


def _schema(name: str) -> dict:
    return json.loads((Path(airflow.__file__).parent / name).read_text())


def test_provider_info_passes_airflows_own_schema():
    jsonschema.validate(get_provider_info(), _schema("provider_info.schema.json"))


def test_ui_field_behaviour_passes_airflows_form_schema():
    behaviour = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    schema_path = Path(airflow.__file__).parent / "customized_form_field_behaviours.schema.json"
    customized = {
        "hidden_fields": behaviour["hidden-fields"],
        "relabeling": behaviour["relabeling"],
        "placeholders": behaviour["placeholders"],
    }
    jsonschema.validate(customized, json.loads(schema_path.read_text()))


def test_package_name_is_the_normalised_distribution_name():
    dist = distribution("airflow-provider-hadoop-eco")
    normalised = dist.metadata["Name"].lower().replace("_", "-")
    assert get_provider_info()["package-name"] == normalised


def test_entry_point_resolves_to_get_provider_info():
    eps = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_hadoop_eco")
    ]
    assert len(eps) == 1
    assert eps[0].load()() == get_provider_info()


def test_version_is_defined_once():
    import airflow_provider_hadoop_eco

    assert get_provider_info()["versions"] == [airflow_provider_hadoop_eco.__version__]
    assert distribution("airflow-provider-hadoop-eco").version == airflow_provider_hadoop_eco.__version__


def test_every_listed_module_and_class_imports():
    info = get_provider_info()
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for path in [*info["extra-links"], *(c["hook-class-name"] for c in info["connection-types"])]:
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name)


def test_connection_type_declares_labelled_fields_and_a_masked_key():
    conn = get_provider_info()["connection-types"][0]
    assert conn["connection-type"] == "hadoop_eco"
    assert conn["conn-fields"]["api_key"]["schema"]["format"] == "password"
    assert conn["ui-field-behaviour"]["relabeling"]["login"] == "Access Key ID"
    assert conn["ui-field-behaviour"]["relabeling"]["password"] == "Secret Access Key"


def test_providers_manager_sees_the_hook_and_its_form():
    from airflow.providers_manager import ProvidersManager

    pm = ProvidersManager()
    assert "airflow-provider-hadoop-eco" in pm.providers
    hooks = pm.hooks
    assert "hadoop_eco" in hooks
    hook_info = hooks["hadoop_eco"]
    assert hook_info is not None
    assert hook_info.hook_class_name == "airflow_provider_hadoop_eco.hooks.hadoop_eco.HadoopEcoHook"
    assert pm.field_behaviours["hadoop_eco"]["relabeling"]["login"] == "Access Key ID"
    if airflow.__version__.startswith("3."):
        assert pm.connection_form_widgets["extra__hadoop_eco__api_key"].is_sensitive


def test_airflow2_form_methods():
    from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook

    behaviour = HadoopEcoHook.get_ui_field_behaviour()
    assert behaviour["relabeling"]["password"] == "Secret Access Key"
    assert "schema" in behaviour["hidden_fields"]
    if airflow.__version__.startswith("3."):
        pytest.skip("the Airflow 3 UI reads conn-fields; flask-appbuilder is not installed")
    widgets = HadoopEcoHook.get_connection_form_widgets()
    assert set(widgets) == {
        "api_key",
        "cluster_id",
        "allow_insecure_http",
        "verify",
        "region",
        "proxies",
        "trust_env",
        "create_path",
        "status_path",
    }
    assert "kr-central-2" in str(widgets["region"].kwargs["description"])
    assert widgets["api_key"].field_class.__name__ == "PasswordField"


def test_only_secret_fields_have_names_airflow_hides():
    """Airflow redacts any field whose name holds a sensitive word, defaults included: the 3.3 form then shows a
    switch named ``use_env_proxies`` as on (its default arrived as ``***``) and saves ``***``. Only fields that
    are secrets (or may carry one, like a proxy URL with a password) may have such names.
    """
    try:
        from airflow.sdk.execution_time.secrets_masker import should_hide_value_for_key
    except ImportError:  # Airflow 2
        from airflow.utils.log.secrets_masker import should_hide_value_for_key

    from airflow_provider_hadoop_eco.get_provider_info import CONN_FIELDS

    may_hold_a_secret = {"api_key", "proxies"}
    hidden = {name for name in CONN_FIELDS if should_hide_value_for_key(name)}
    assert hidden == may_hold_a_secret, hidden
    for name in may_hold_a_secret:
        assert CONN_FIELDS[name]["schema"].get("default") is None, name
    # The rule this test relies on: the switch's first name was hidden, which is how the defect came about.
    assert should_hide_value_for_key("use_env_proxies")

"""The emulator's copy of the contract equals the provider's: a drift on either side fails here.

The emulator keeps its own ranges on purpose (an independent implementation of the API); this test is what
keeps the two copies honest.
"""

from __future__ import annotations

import pytest

from airflow_provider_hadoop_eco import cluster_settings as provider
from airflow_provider_hadoop_eco.emulator import contract as emulator
from airflow_provider_hadoop_eco.emulator.validation import validate_create_body, validate_settings
from airflow_provider_hadoop_eco.exceptions import HadoopEcoConfigError

INTEGER_SETTINGS = [s for s in provider.SETTINGS if s.minimum is not None]
CHOICE_SETTINGS = [s for s in provider.SETTINGS if s.choices]
TEXT_SETTINGS = [s for s in provider.SETTINGS if s.minimum is None and not s.choices]


def test_field_names_and_order():
    assert tuple(s.api_name for s in provider.SETTINGS) == emulator.SETTING_KEYS


def test_integer_ranges():
    assert {s.api_name: (s.minimum, s.maximum) for s in INTEGER_SETTINGS} == emulator.INT_RANGES


def test_enum_choices():
    assert [s.api_name for s in CHOICE_SETTINGS] == ["userTaskDeployMode"]
    assert CHOICE_SETTINGS[0].choices == emulator.DEPLOY_MODES


def test_free_text_fields():
    assert tuple(s.api_name for s in TEXT_SETTINGS) == emulator.STR_FIELDS


def test_instance_specs():
    assert emulator.INSTANCE_SPEC_TYPES == provider.INSTANCE_SPEC_TYPES
    assert emulator.INSTANCE_SPEC_RANGES == {
        "nodeCnt": provider.INSTANCE_SPEC_NODE_COUNT,
        "volumeSize": provider.INSTANCE_SPEC_VOLUME_SIZE,
    }
    # The provider exports no constant for the entry's element names; these are the spec's.
    assert emulator.INSTANCE_SPEC_FIELDS == ("type", "nodeCnt", "volumeSize")
    assert emulator.INSTANCE_SPECS == "instanceSpecs"
    assert emulator.WORKER_SPEC_SETTINGS == {"nodeCnt": "workerCnt", "volumeSize": "workerVolumeSize"}


@pytest.mark.parametrize("setting", INTEGER_SETTINGS, ids=lambda s: s.api_name)
def test_both_sides_agree_at_the_range_edges(setting):
    """Beyond equal numbers: each side's validation accepts and rejects the same edge values."""
    assert setting.minimum is not None and setting.maximum is not None
    for value in (setting.minimum, setting.maximum):
        assert setting.coerce(value) == value
        assert validate_settings({setting.api_name: value}) is None
    for value in (setting.minimum - 1, setting.maximum + 1):
        with pytest.raises(HadoopEcoConfigError):
            setting.coerce(value)
        assert setting.api_name in (validate_settings({setting.api_name: value}) or "")


@pytest.mark.parametrize(
    ("field", "bounds"),
    [("nodeCnt", provider.INSTANCE_SPEC_NODE_COUNT), ("volumeSize", provider.INSTANCE_SPEC_VOLUME_SIZE)],
)
def test_instance_spec_edges_follow_the_provider_ranges(field, bounds):
    low, high = bounds

    def body(value: int) -> dict:
        entry = {"type": "WORKER", "nodeCnt": 1, "volumeSize": 50, field: value}
        return {"instanceSpecs": [entry]}

    assert validate_create_body(body(low)) is None
    assert validate_create_body(body(high)) is None
    assert f"instanceSpecs[0].{field}" in (validate_create_body(body(low - 1)) or "")
    assert f"instanceSpecs[0].{field}" in (validate_create_body(body(high + 1)) or "")

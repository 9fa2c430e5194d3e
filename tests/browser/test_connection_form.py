"""The ``hadoop_eco`` connection form in the real Airflow 3.3 UI, driven by headless Chromium.

A real ``airflow api-server`` (all-admins mode, SQLite, 127.0.0.1) serves the React UI. Chromium (Debian's
``/usr/bin/chromium``, installed by ``scripts/install-system-packages.sh chromium``) is driven through Playwright: open
Connections, Add Connection, pick "Kakao Cloud Hadoop Eco", check our labels and the masked API key field,
fill the form with credentials registered in the local emulator and save. Then the saved connection is read
back by the CLI and used by ``HadoopEcoHook`` in a separate Airflow process, and the emulator must have
received the calls with the right ``Credential-ID``: the form stored what the hook needs.

Screenshots go to ``artifacts/`` (``connection-form.png`` is the one the docs use, copied to ``docs/img``).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_harness import REPO, AirflowEnv, airflow_python
from tests_support import CANARY_API_KEY, CANARY_SECRET

from airflow_provider_hadoop_eco.defaults import parse_flag
from airflow_provider_hadoop_eco.get_provider_info import UI_FIELD_BEHAVIOUR

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.airflow3]

CHROMIUM = os.environ.get("HADOOP_ECO_CHROMIUM", "/usr/bin/chromium")
# Flags that work for root in a container (see shared notes): no sandbox, no GPU, no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "artifacts"

CONN_ID = "hadoop_eco_browser"
CLUSTER_ID = "browser-test-cluster-0001"
ACCESS_KEY_ID = "browser-access-key-id"


def _missing(message: str) -> None:
    if os.environ.get("HADOOP_ECO_REQUIRE_ALL") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the 'playwright' Python package is not installed (it is in the [test] extra)")
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not found: run scripts/install-system-packages.sh chromium")
    return sync_playwright


@pytest.fixture(scope="module")
def emulator() -> Iterator[object]:
    from airflow_provider_hadoop_eco.emulator import Emulator

    emu = Emulator(
        host="127.0.0.1",
        clusters=[
            {
                "cluster_id": CLUSTER_ID,
                "name": "browser-hive-cluster",
                "credential_id": ACCESS_KEY_ID,
                "credential_secret": CANARY_SECRET,
                "api_key": CANARY_API_KEY,
                "duration": 3600,
            }
        ],
    )
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def airflow3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowEnv]:
    python = airflow_python(3)
    home = tmp_path_factory.mktemp("airflow-home")
    env = AirflowEnv(python=python, home=home, extra_env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"})
    env.migrate()
    env.start(
        "api-server", "api-server", "--host", "127.0.0.1", "--port", str(env.api_port), "--workers", "1"
    )
    try:
        env.wait_healthy(timeout=120)
        yield env
    finally:
        env.stop_all()


def _field_input(dialog, label: str):
    """The input of the form field whose visible label is ``label``.

    The 3.3 UI's labels of extra fields point (``for=``) at an id their input does not have, so
    ``get_by_label`` cannot find them: go from the label to its field root instead.
    """
    xpath = f"xpath=//label[normalize-space(.)='{label}']/ancestor::*[@data-part='root'][1]//input"
    field = dialog.locator(xpath)
    field.first.wait_for(state="attached")
    assert field.count() == 1, f"expected one input for the label {label!r}, found {field.count()}"
    return field


def _compose_side_by_side(browser, images: list[Path], target: Path) -> None:
    """Put screenshots next to each other in one PNG, using the browser itself (no imaging library)."""
    tags = "".join(
        f'<img src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}" '
        'style="display:block;border:1px solid #ccc">'
        for p in images
    )
    page = browser.new_page(viewport={"width": 800, "height": 600})
    try:
        page.set_content(
            '<html><body style="margin:0;background:#fff">'
            f'<div id="row" style="display:inline-flex;gap:16px;padding:16px;align-items:flex-start">{tags}'
            "</div></body></html>"
        )
        page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        page.locator("#row").screenshot(path=str(target))
    finally:
        page.close()


def test_connection_form_saves_a_connection_the_hook_can_use(sync_playwright, emulator, airflow3: AirflowEnv):
    ARTIFACTS.mkdir(exist_ok=True)
    standard_png = ARTIFACTS / "connection-form-standard.png"
    extra_png = ARTIFACTS / "connection-form-extra.png"
    form_png = ARTIFACTS / "connection-form.png"
    for path in (standard_png, extra_png, form_png):
        path.unlink(missing_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.set_default_timeout(30_000)
            page.goto(f"{airflow3.api_url}/connections", wait_until="domcontentloaded")
            page.get_by_role("button", name="Add Connection").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_role("heading", name="Add Connection").wait_for()

            # Pick our connection type in the react-select combobox.
            combo = dialog.get_by_role("combobox")
            combo.click()
            combo.fill("Kakao")
            page.get_by_role("option", name="Kakao Cloud Hadoop Eco", exact=True).click()

            # Standard fields: relabelled by ui-field-behaviour; schema and port hidden.
            host = _field_input(dialog, "API Base URL (optional)")
            login = _field_input(dialog, "Access Key ID")
            password = _field_input(dialog, "Secret Access Key")
            host.wait_for(state="visible")
            assert host.get_attribute("name") == "host"
            assert login.get_attribute("name") == "login"
            assert password.get_attribute("name") == "password"
            assert password.get_attribute("type") == "password"
            assert host.get_attribute("placeholder") == UI_FIELD_BEHAVIOUR["placeholders"]["host"]
            for hidden in ("schema", "port"):
                assert dialog.locator(f"input[name='{hidden}']").count() == 0, f"{hidden} should be hidden"
            for default_label in ("Host", "Login", "Password", "Schema", "Port"):
                assert dialog.get_by_text(default_label, exact=True).count() == 0, default_label

            dialog.locator("input[name='connection_id']").fill(CONN_ID)
            host.fill(emulator.url)
            login.fill(ACCESS_KEY_ID)
            password.fill(CANARY_SECRET)
            dialog.screenshot(path=str(standard_png))

            # Extra fields (conn-fields): the accordion opens on real mouse events (Playwright's click).
            dialog.get_by_role("button", name="Extra Fields", exact=True).click()
            api_key = _field_input(dialog, "Hadoop Eco Open API Key")
            api_key.wait_for(state="visible")
            assert api_key.get_attribute("name") == "element_api_key"
            assert api_key.get_attribute("type") == "password", "the Open API key must be a masked input"
            cluster_id = _field_input(dialog, "Cluster ID (optional)")
            verify = _field_input(dialog, "TLS verification")
            assert cluster_id.get_attribute("type") in (None, "text")
            assert verify.get_attribute("name") == "element_verify"
            assert _field_input(dialog, "Allow plain http").get_attribute("type") == "checkbox"
            api_key.fill(CANARY_API_KEY)
            cluster_id.fill(CLUSTER_ID)
            # The region is a choice (an enum in conn-fields): pick kr-central-2, whose paths the hook must use.
            region = dialog.locator(
                "xpath=//label[normalize-space(.)='Region']/ancestor::*[@data-part='root'][1]"
            ).get_by_role("combobox")
            assert region.count() == 1, "the region must be a choice, not a free text field"
            region.click()
            page.get_by_role("option", name="kr-central-2", exact=True).click()
            assert api_key.input_value() == CANARY_API_KEY
            dialog.screenshot(path=str(extra_png))

            save = dialog.get_by_role("button", name="Save")
            assert save.is_enabled()
            save.click()
            dialog.wait_for(state="hidden")
            page.get_by_text(CONN_ID, exact=True).first.wait_for()
            _compose_side_by_side(browser, [standard_png, extra_png], form_png)
        finally:
            browser.close()

    assert form_png.stat().st_size > 10_000
    assert form_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # What the UI stored, read back by the CLI.
    out = airflow3.run("connections", "get", CONN_ID, "-o", "json").stdout
    stored = json.loads(out[out.index("[") :])[0]
    assert stored["conn_type"] == "hadoop_eco"
    assert stored["host"] == emulator.url
    assert stored["login"] == ACCESS_KEY_ID
    extra = (
        json.loads(stored["extra_dejson"])
        if isinstance(stored["extra_dejson"], str)
        else stored["extra_dejson"]
    )
    assert extra["api_key"] == CANARY_API_KEY  # stored unprefixed by the 3.3 UI
    assert extra["cluster_id"] == CLUSTER_ID
    assert extra["region"] == "kr-central-2"

    # `airflow connections test` runs the hook's test_connection() on the stored connection: a status call
    # for a request id that cannot exist, answered 404 only after all three credentials were accepted.
    tested = airflow3.run("connections", "test", CONN_ID).stdout
    assert "Connection success!" in tested, tested

    # The hook, in another Airflow process with the same AIRFLOW_HOME, starts a job and reads its status.
    # Outside a task, Airflow 3.3 reads connections from the metadata DB only in a "server" process context,
    # which is what `airflow connections test` (and the scheduler and triggerer) set.
    script = f"""
import json, os
os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "server"
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
hook = HadoopEcoHook({CONN_ID!r}, retry_limit=1)
created = hook.create_cluster({CLUSTER_ID!r})
status = hook.get_request_status({CLUSTER_ID!r}, created["requestId"])
# The CLI masks any extra whose name says "proxies": read the switches here.
extra = hook.get_connection({CONN_ID!r}).extra_dejson
flags = {{k: extra.get(k) for k in ("allow_insecure_http", "trust_env")}}
print("RESULT " + json.dumps({{"request_id": created["requestId"], "status": status, "flags": flags}}))
"""
    proc = subprocess.run(
        [airflow3.python, "-c", script],
        env=airflow3.env(),
        cwd=airflow3.home,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    result = json.loads(output[output.index("RESULT ") + 7 :].splitlines()[0])
    assert result["status"]["requestId"] == result["request_id"]
    assert result["status"]["clusterName"] == "browser-hive-cluster"
    # Switches left untouched are saved off: no plain http, no proxy taken from the environment.
    print("switches as saved by the form:", result["flags"])
    assert (
        result["flags"]["allow_insecure_http"] is None
        or parse_flag(result["flags"]["allow_insecure_http"]) is False
    )
    assert result["flags"]["trust_env"] is None or parse_flag(result["flags"]["trust_env"]) is False
    assert CANARY_SECRET not in output and CANARY_API_KEY not in output

    # The emulator saw exactly these calls, each with the access key ID from the form (secrets redacted).
    calls = [(r["method"], r["status"]) for r in emulator.requests]
    assert calls == [("GET", 404), ("POST", 200), ("GET", 200)], calls
    for record in emulator.requests:
        assert record["cluster_id"] == CLUSTER_ID
        assert record["headers"]["Credential-ID"] == ACCESS_KEY_ID
        assert CANARY_SECRET not in json.dumps(record) and CANARY_API_KEY not in json.dumps(record)
    # The region picked in the form chose the paths (the explicit Host still chose the emulator).
    paths = [r["path"] for r in emulator.requests]
    assert paths[0].startswith(f"/v2/hadoop-eco/clusters/{CLUSTER_ID}/request-id/"), paths  # Test
    assert paths[1:] == [
        f"/v2/hadoop-eco/clusters/{CLUSTER_ID}",
        f"/v2/hadoop-eco/clusters/{CLUSTER_ID}/request-id/{result['request_id']}",
    ]

    # Nothing the api-server wrote to AIRFLOW_HOME logs the secrets in clear (the DB is encrypted or
    # holds them, so only log files are checked).
    leaked = [p for p in airflow3.files_containing(CANARY_SECRET) if p.suffix == ".log"]
    assert not leaked, leaked

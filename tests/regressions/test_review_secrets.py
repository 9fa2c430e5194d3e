"""Review defects 3 and 10, and test gap (a): secrets with whitespace or control characters, scrubbing of every
quoted body, and the registration of the secrets with Airflow's masker.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
from fake_context import make_context
from review_support import (
    CANARY_FRAGMENTS,
    airflow_version,
    arun,
    assert_no_secret,
    log_texts,
    run_one_event,
    secret_fragments,
)
from tests_support import ACCESS_KEY_ID, CANARY_API_KEY, CANARY_SECRET
from tests_support import conn_json as conn
from tests_support import status_body as status

from airflow_provider_hadoop_eco.exceptions import (
    HadoopEcoConfigError,
    HadoopEcoError,
    HadoopEcoJobMayHaveStartedError,
    HadoopEcoResponseError,
)
from airflow_provider_hadoop_eco.hooks.hadoop_eco import HadoopEcoHook
from airflow_provider_hadoop_eco.sensors.hadoop_eco import HadoopEcoRequestSensor
from airflow_provider_hadoop_eco.triggers.hadoop_eco import HadoopEcoRequestTrigger

pytestmark = pytest.mark.timeout(30)

CLUSTER = "c-1"
CONN_ENV = "AIRFLOW_CONN_HADOOP_ECO_DEFAULT"


def hook() -> HadoopEcoHook:
    return HadoopEcoHook(retry_delay=0.01, retry_max_delay=0.05, timeout=5, connect_timeout=2)


def trigger(**kwargs) -> HadoopEcoRequestTrigger:
    kwargs.setdefault("poll_interval", 0.01)
    kwargs.setdefault("jitter_first_poll", False)
    kwargs.setdefault("max_consecutive_errors", 2)
    return HadoopEcoRequestTrigger(CLUSTER, "req-1", **kwargs)


# --- defect 3: surrounding whitespace is stripped -----------------------------------------------------------

PADDINGS = [("", "\n"), ("", "\r\n"), (" ", " \t"), ("\t", "\n\n")]


@pytest.mark.parametrize("field", ["password", "api_key"])
@pytest.mark.parametrize(("before", "after"), PADDINGS, ids=["lf", "crlf", "spaces", "tab-lf"])
def test_surrounding_whitespace_is_stripped_and_the_calls_succeed(
    canary_emulator, monkeypatch, caplog, field, before, after
):
    """A secret read with a trailing newline (secrets backends, files) works, sync and async alike."""
    caplog.set_level(logging.DEBUG)
    value = before + (CANARY_SECRET if field == "password" else CANARY_API_KEY) + after
    monkeypatch.setenv(CONN_ENV, conn(canary_emulator.url, **{field: value}))

    created = hook().create_cluster(CLUSTER, worker_count=2)
    request_id = created["requestId"]
    hook().get_request_status(CLUSTER, request_id)  # no exception: the status call was accepted
    arun(hook().aget_request_status(CLUSTER, request_id))
    deadline = time.time() + 10
    event = run_one_event(
        HadoopEcoRequestTrigger(
            CLUSTER, request_id, poll_interval=0.05, jitter_first_poll=False, end_time=deadline
        )
    )

    assert event["status"] == "success", event
    assert [p["status"] for p in canary_emulator.posts()] == [200], canary_emulator.posts()
    assert all(g["status"] == 200 for g in canary_emulator.gets()), canary_emulator.gets()
    assert_no_secret([*log_texts(caplog), json.dumps(event)])


# --- defect 3: any other control character is a configuration error naming the field ------------------------

BAD = {
    "nul-at-end": lambda s: s + "\x00",
    "cr-inside": lambda s: s + "\rX-Injected: 1",
    "lf-inside": lambda s: s[:8] + "\n" + s[8:],
    "del-at-end": lambda s: s + "\x7f",
    "bell-inside": lambda s: s[:5] + "\x07" + s[5:],
}
FIELDS = {"password": ("password", CANARY_SECRET), "api_key": ("api_key", CANARY_API_KEY)}


def bad_value(field: str, kind: str) -> str:
    return BAD[kind](FIELDS[field][1])


def assert_names_field_not_value(text: str, field: str, value: str) -> None:
    assert FIELDS[field][0] in text.lower(), f"the message does not name the field {field!r}: {text}"
    assert "MAY HAVE STARTED" not in text, text
    assert_no_secret([text], secret_fragments(value) + CANARY_FRAGMENTS)


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("call", ["create", "status"])
def test_control_characters_are_a_config_error_naming_the_field_sync(
    hadoop_eco_conn, monkeypatch, caplog, field, kind, call
):
    caplog.set_level(logging.DEBUG)
    value = bad_value(field, kind)
    monkeypatch.setenv(CONN_ENV, conn(hadoop_eco_conn.url, **{field: value}))
    with pytest.raises(HadoopEcoError) as info:
        if call == "create":
            hook().create_cluster(CLUSTER)
        else:
            hook().get_request_status(CLUSTER, "req-1")
    assert isinstance(info.value, HadoopEcoConfigError), f"{type(info.value).__name__}: {info.value}"
    assert not isinstance(info.value, HadoopEcoJobMayHaveStartedError)
    assert_names_field_not_value(str(info.value), field, value)
    assert hadoop_eco_conn.requests == [], "a request was sent with the bad value"
    assert_no_secret(log_texts(caplog), secret_fragments(value))


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("kind", sorted(BAD))
def test_control_characters_end_the_trigger_with_an_error_event(
    hadoop_eco_conn, monkeypatch, caplog, fast_retries, field, kind
):
    caplog.set_level(logging.DEBUG)
    value = bad_value(field, kind)
    monkeypatch.setenv(CONN_ENV, conn(hadoop_eco_conn.url, **{field: value}))
    event = run_one_event(trigger(end_time=time.time() + 3))
    assert event["status"] == "error", event
    assert_names_field_not_value(event["message"], field, value)
    assert hadoop_eco_conn.requests == [], "a request was sent with the bad value"
    assert_no_secret([*log_texts(caplog), json.dumps(event)], secret_fragments(value))


# --- defect 10: every quoted body is scrubbed ---------------------------------------------------------------

ECHO_HTML = (
    f"<html><head><title>proxy</title></head><body>Your request: Credential-Secret={CANARY_SECRET} "
    f"Hadoop-Eco-Api-Key={CANARY_API_KEY}</body></html>"
).encode()
ECHO_TEXT = f"upstream said: {CANARY_SECRET} / {CANARY_API_KEY}".encode()


@pytest.mark.parametrize("raw", [ECHO_HTML, ECHO_TEXT], ids=["html", "text"])
@pytest.mark.parametrize("call", ["create", "status"])
def test_a_200_that_is_not_json_quotes_no_secret(hadoop_eco_conn, raw, call):
    hadoop_eco_conn.add(200, raw=raw, headers={"Content-Type": "text/html"})
    with pytest.raises(HadoopEcoError) as info:
        if call == "create":
            hook().create_cluster(CLUSTER)
        else:
            hook().get_request_status(CLUSTER, "req-1")
    assert isinstance(info.value, HadoopEcoResponseError) or call == "create", type(info.value)
    assert_no_secret([str(info.value), repr(info.value)])


@pytest.mark.parametrize("raw", [ECHO_HTML, ECHO_TEXT], ids=["html", "text"])
def test_a_200_that_is_not_json_gives_a_trigger_event_without_secrets(hadoop_eco_conn, caplog, raw):
    caplog.set_level(logging.DEBUG)
    hadoop_eco_conn.default = (200, {"Content-Type": "text/html"}, raw)
    event = run_one_event(trigger())
    assert event["status"] == "error", event
    assert_no_secret([json.dumps(event), *log_texts(caplog)])


def test_a_200_that_is_not_json_fails_the_sensor_poke_without_secrets(hadoop_eco_conn):
    hadoop_eco_conn.add(200, raw=ECHO_HTML, headers={"Content-Type": "text/html"})
    with pytest.raises(HadoopEcoError) as info:
        HadoopEcoRequestSensor(task_id="s", cluster_id=CLUSTER, request_id="req-1").poke(make_context())
    assert_no_secret([str(info.value)])


def test_a_create_answer_without_request_id_quotes_no_secret(hadoop_eco_conn):
    hadoop_eco_conn.add(200, {"message": f"ok {CANARY_SECRET}", "echo": {"api_key": CANARY_API_KEY}})
    with pytest.raises(HadoopEcoResponseError) as info:
        hook().create_cluster(CLUSTER)
    assert_no_secret([str(info.value), repr(info.value)])


def test_a_status_about_another_request_quotes_no_secret(hadoop_eco_conn):
    hadoop_eco_conn.add(200, status("Success", "Terminate", requestId=f"echo {CANARY_SECRET}"))
    with pytest.raises(HadoopEcoResponseError) as info:
        hook().get_request_status(CLUSTER, "req-1")
    assert_no_secret([str(info.value)])


ERROR_STATUSES = [301, 400, 401, 403, 404, 418, 429, 500, 502, 503]


@pytest.mark.parametrize("code", [202, *ERROR_STATUSES])
def test_guard_every_error_status_of_create_quotes_no_secret(hadoop_eco_conn, code):
    """Guard (passes today): the error-status path scrubs; it must keep doing so after the rewrite."""
    hadoop_eco_conn.add(
        code, raw=ECHO_HTML, headers={"Content-Type": "text/html", "Location": "https://x.example/"}
    )
    with pytest.raises(HadoopEcoError) as info:
        HadoopEcoHook(retry_limit=1).create_cluster(CLUSTER)
    assert_no_secret([str(info.value), repr(info.value)])


@pytest.mark.parametrize("code", ERROR_STATUSES)
def test_guard_every_error_status_of_the_trigger_quotes_no_secret(hadoop_eco_conn, fast_retries, code):
    fast_retries(retry_limit=1)
    hadoop_eco_conn.default = (
        code,
        {"Content-Type": "text/html", "Location": "https://x.example/"},
        ECHO_HTML,
    )
    event = run_one_event(trigger(max_consecutive_errors=1))
    assert event["status"] == "error", event
    assert_no_secret([json.dumps(event)])


# --- test gap (a): the secrets are registered with Airflow's masker ------------------------------------------


def _masker():
    """Airflow's secrets masker instance (a logging.Filter) of the running version."""
    try:
        from airflow.sdk._shared.secrets_masker.secrets_masker import _secrets_masker
    except ImportError:  # Airflow 2
        from airflow.utils.log.secrets_masker import _secrets_masker  # type: ignore[no-redef]
    return _secrets_masker()


def _logged_through_masker(text: str) -> str:
    """Log ``text`` through a logger filtered by Airflow's masker and return what came out."""
    import io

    stream = io.StringIO()
    logger = logging.getLogger(f"review.masking.{uuid.uuid4().hex}")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    masker = _masker()
    handler.addFilter(masker)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # Airflow 3 switches the filter on where it configures task logging (its structlog processors call the
    # same masker's redact()); switch it on here for this one line.
    # Airflow 2 does the same through settings.MASK_SECRETS_IN_LOGS (off in unit-test mode).
    was_enabled = getattr(type(masker), "mask_secrets_in_logs", None)
    if was_enabled is not None:
        type(masker).mask_secrets_in_logs = True
    from airflow import settings

    was_set = getattr(settings, "MASK_SECRETS_IN_LOGS", None)
    if was_set is not None:
        settings.MASK_SECRETS_IN_LOGS = True
    try:
        logger.info("%s", text)
    finally:
        logger.removeHandler(handler)
        if was_enabled is not None:
            type(masker).mask_secrets_in_logs = was_enabled
        if was_set is not None:
            settings.MASK_SECRETS_IN_LOGS = was_set
    return stream.getvalue()


def _assert_masked(*secrets: str) -> None:
    from airflow.providers.common.compat.sdk import redact

    line = "sent " + " and ".join(secrets)
    redacted = str(redact(line))
    logged = _logged_through_masker(line)
    for secret in secrets:
        assert secret not in redacted, f"redact() left a secret in: {redacted}"
        assert secret not in logged, f"a log line kept a secret: {logged}"


def test_stripped_secrets_are_masked_as_sent(programmable_api, monkeypatch):
    """The values sent (stripped) must be masked, not only the raw values Airflow itself registered.

    Fresh values (not the shared canaries) so that no earlier test's registration can make this pass.
    """
    secret = f"MASKPROBE-SECRET-{uuid.uuid4().hex}"
    api_key = f"MASKPROBE-APIKEY-{uuid.uuid4().hex}"
    monkeypatch.setenv(
        CONN_ENV, conn(programmable_api.url, password=secret + "\n", api_key=" " + api_key + "\n")
    )
    hook().get_request_status(CLUSTER, "req-1")
    sent = programmable_api.requests[-1].headers
    assert sent["Credential-Secret"] == secret and sent["Hadoop-Eco-Api-Key"] == api_key
    _assert_masked(secret, api_key)


@pytest.mark.skipif(
    airflow_version() < (3, 3),
    reason="Airflow 2 masks a Connection's password when the object is built, so it cannot tell",
)
def test_the_hook_masks_a_password_airflow_did_not_mask(programmable_api, monkeypatch):
    """A connection object Airflow never masked (built directly, as a secrets backend or a test may do): the
    provider registers its password itself as soon as it reads it (fails if the provider's masking is removed).
    """
    from airflow.sdk import Connection

    secret = f"MASKPROBE-PASSWORD-{uuid.uuid4().hex}"
    connection = Connection(
        conn_id="hadoop_eco_default",
        conn_type="hadoop_eco",
        host=programmable_api.url,
        login=ACCESS_KEY_ID,
        password=secret,
        extra=json.dumps({"api_key": f"MASKPROBE-APIKEY-{uuid.uuid4().hex}"}),
    )
    from airflow.providers.common.compat.sdk import BaseHook, redact

    monkeypatch.delenv(CONN_ENV, raising=False)
    monkeypatch.setattr(BaseHook, "get_connection", classmethod(lambda cls, conn_id: connection))

    assert secret in str(redact(f"x {secret} y")), "precondition: nothing registered the value yet"
    hook().get_request_status(CLUSTER, "req-1")
    assert programmable_api.requests[-1].headers["Credential-Secret"] == secret
    _assert_masked(secret)

"""Fault injection: every kind, scoping by cluster/method, count consumption, the ways to set faults."""

from __future__ import annotations

import json
import time

import pytest
import requests

from airflow_provider_hadoop_eco.emulator import Emulator, Fault


@pytest.mark.parametrize("code", [500, 502, 503])
def test_status_fault_json(api, emu: Emulator, code):
    emu.inject_fault("status", code=code)
    r = api.post({})
    assert r.status_code == code
    assert r.json()["code"] == code
    assert emu.jobs() == []  # the job was not started
    assert api.post({}).status_code == 200  # count=1 consumed


def test_status_fault_html_page(api, emu: Emulator):
    rid = api.start()
    emu.inject_fault("status", code=502, html=True, method="GET")
    r = api.get(rid)
    assert r.status_code == 502
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html>" in r.text and "502 Bad Gateway" in r.text
    with pytest.raises(ValueError):
        r.json()


def test_rate_limit_retry_after(api, emu: Emulator):
    emu.inject_fault("rate_limit", retry_after=7, count=2)
    for _ in range(2):
        r = api.post({})
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "7"
    assert api.post({}).status_code == 200


def test_slow_post_times_out_client_but_job_started(api, emu: Emulator):
    emu.inject_fault("slow", delay=1.0, method="POST")
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.post({}, timeout=0.3)
    assert time.monotonic() - t0 < 0.9
    jobs = emu.jobs()
    assert len(jobs) == 1  # the job started even though the client gave up
    # the retry finds the job in progress
    r = api.post({})
    assert r.status_code == 202
    assert r.json()["requestId"] == jobs[0]["requestId"]


def test_slow_get_answers_after_delay(api, emu: Emulator):
    rid = api.start()
    emu.inject_fault("slow", delay=0.4, method="GET")
    t0 = time.monotonic()
    r = api.get(rid)
    assert r.status_code == 200
    assert time.monotonic() - t0 >= 0.35


def test_drop_raises_connection_error_without_starting_job(api, emu: Emulator):
    emu.inject_fault("drop", method="POST")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post({})
    assert emu.jobs() == []
    assert emu.requests[-1]["fault"] == "drop"
    assert emu.requests[-1]["status"] is None


def test_drop_with_process_starts_job(api, emu: Emulator):
    emu.inject_fault("drop", method="POST", process=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post({})
    assert len(emu.jobs()) == 1
    assert api.post({}).status_code == 202


def test_malformed_json(api, emu: Emulator):
    rid = api.start()
    emu.inject_fault("malformed_json", method="GET")
    r = api.get(rid)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(r.text)
    assert api.get(rid).json()["requestId"] == rid


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ("WEIRD", None)),
        ({"request_status": "Terminate", "request_result": "success"}, ("Terminate", "success")),
        ({"request_result": "Cancelled"}, ("Pending", "Cancelled")),
    ],
)
def test_unknown_status(api, emu: Emulator, params, expected):
    rid = api.start()
    emu.inject_fault("unknown_status", method="GET", **params)
    body = api.get(rid).json()
    assert (body["requestStatus"], body["requestResult"]) == expected
    assert body["requestId"] == rid
    normal = api.get(rid).json()
    assert (normal["requestStatus"], normal["requestResult"]) == ("Pending", None)


@pytest.mark.parametrize("code", [302, 307])
def test_redirect(api, emu: Emulator, code):
    emu.inject_fault("redirect", code=code, location="https://login.example.invalid/sso")
    r = api.post({}, allow_redirects=False)
    assert r.status_code == code
    assert r.headers["Location"] == "https://login.example.invalid/sso"
    assert emu.jobs() == []


def test_raw_body_fault(api, emu: Emulator):
    emu.inject_fault("body", body='{"requestId": 42}', method="POST")
    r = api.post({})
    assert r.status_code == 200
    assert r.json() == {"requestId": 42}
    emu.inject_fault("body", body={"clusterId": "x"}, code=200)  # non-string bodies are JSON-encoded
    assert api.post({}).json() == {"clusterId": "x"}
    assert emu.jobs() == []


def test_fault_scoped_to_cluster(emu: Emulator, make_api):
    emu.add_cluster(cluster_id="other")
    default, other = make_api(), make_api(cluster_id="other")
    emu.inject_fault("status", code=503, cluster_id="other", count=None)
    assert default.post({}).status_code == 200
    for _ in range(3):
        assert other.post({}).status_code == 503
    emu.clear_faults()
    assert other.post({}).status_code == 200


def test_fault_scoped_to_method_and_consumed_in_order(api, emu: Emulator):
    emu.inject_fault("status", code=500, method="GET", count=2)
    emu.inject_fault("rate_limit", method="GET", retry_after=3)
    rid = api.start()  # POST unaffected
    assert [api.get(rid).status_code for _ in range(4)] == [500, 500, 429, 200]
    assert emu.faults == []


def test_invalid_fault_definitions_rejected(emu: Emulator):
    with pytest.raises(ValueError):
        emu.inject_fault("explode")
    with pytest.raises(ValueError):
        emu.inject_fault("redirect")  # needs location
    with pytest.raises(ValueError):
        emu.inject_fault("status", method="PUT")
    with pytest.raises(ValueError):
        Fault.from_dict({"kind": "status", "colour": "red"})


def test_faults_from_constructor_dicts(make_api):
    emulator = Emulator(manual_clock=True, faults=[{"kind": "status", "code": 503, "method": "POST"}])
    with emulator:
        api = make_api(emulator=emulator)
        assert api.post({}).status_code == 503
        assert api.post({}).status_code == 200


def test_faults_via_admin_api(api, emu: Emulator):
    r = requests.post(
        emu.url + "/_emulator/faults",
        json=[{"kind": "rate_limit", "retry_after": 2, "method": "POST"}, {"type": "status", "code": 502}],
        timeout=5,
    )
    assert r.status_code == 201
    listed = requests.get(emu.url + "/_emulator/faults", timeout=5).json()
    assert [f["kind"] for f in listed] == ["rate_limit", "status"]
    r = api.post({})
    assert (r.status_code, r.headers.get("Retry-After")) == (429, "2")
    assert api.post({}).status_code == 502
    assert api.post({}).status_code == 200
    bad = requests.post(emu.url + "/_emulator/faults", json={"kind": "nope"}, timeout=5)
    assert bad.status_code == 400
    requests.post(emu.url + "/_emulator/faults", json={"kind": "status", "count": None}, timeout=5)
    assert requests.delete(emu.url + "/_emulator/faults", timeout=5).status_code == 200
    assert emu.faults == []


def test_unknown_status_fault_from_constructor_keeps_unset_fields(make_api):
    """Faults given to the constructor are deep-copied; a field left unset must stay unset (not a stray object)."""
    emulator = Emulator(
        manual_clock=True, faults=[{"kind": "unknown_status", "method": "GET", "request_result": "success"}]
    )
    with emulator:
        listed = requests.get(emulator.url + "/_emulator/faults", timeout=5)
        assert listed.status_code == 200
        assert "request_status" not in listed.json()[0]
        api = make_api(emulator=emulator)
        rid = api.start()
        r = api.get(rid)
        assert r.status_code == 200
        assert (r.json()["requestStatus"], r.json()["requestResult"]) == ("Pending", "success")
        emulator.reset()
        rid = api.start()
        assert api.get(rid).json()["requestResult"] == "success"

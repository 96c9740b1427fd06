"""Broker down while commands arrive: 503 with a clear message, reads still served, recovery without restart."""
import time

import requests

from conftest import post


def test_commands_fail_cleanly_while_the_broker_is_down_and_recover(broker, service_factory):
    service = service_factory(env={"CRM_COMMAND_TIMEOUT_MS": "3000"}).start().wait_ready()
    before = post(service, {"id": "BEFORE", "kind": "person", "legalName": "Before the outage"})
    assert before.status_code == 201

    broker.command("broker down all")
    started = time.time()
    refused = post(service, {"id": "DURING", "kind": "person", "legalName": "During the outage"})
    elapsed = time.time() - started
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "Kafka" in refused.json()["detail"]
    assert refused.headers.get("retry-after")
    assert elapsed < 15, f"the wait must be bounded (took {elapsed:.1f}s)"

    read = requests.get(f"{service.url}/counterparties/BEFORE", timeout=5)
    assert read.status_code == 200 and read.json()["legalName"] == "Before the outage"
    assert requests.get(f"{service.url}/counterparties", timeout=5).status_code == 200
    assert requests.get(f"{service.url}/health/live", timeout=5).status_code == 200

    broker.command("broker up all")
    deadline = time.time() + 60
    after = None
    while time.time() < deadline:
        after = post(service, {"id": "AFTER", "kind": "person", "legalName": "After the outage"})
        if after.status_code == 201:
            break
        assert after.status_code == 503, after.text
        time.sleep(0.5)
    assert after is not None and after.status_code == 201, "the service recovers by itself"
    assert service.proc.poll() is None, "no restart was needed"
    assert requests.get(f"{service.url}/counterparties/BEFORE", timeout=5).status_code == 200
    assert requests.get(f"{service.url}/counterparties/DURING", timeout=5).status_code == 404, "a refused command left no trace"
    names = [c["id"] for c in requests.get(f"{service.url}/counterparties", timeout=5).json()["items"]]
    assert names == ["AFTER", "BEFORE"]


def test_an_import_during_an_outage_answers_503_and_says_where_to_resume(broker, service_factory):
    service = service_factory(env={"CRM_COMMAND_TIMEOUT_MS": "3000"}).start().wait_ready()
    csv = "legalName;taxId\r\n" + "".join(f"Outage import {n};77{n:08d}\r\n" for n in range(3))

    def import_csv():
        return requests.post(f"{service.url}/counterparties/import", data=csv.encode(),
                             headers={"content-type": "text/csv"}, timeout=60)

    broker.command("broker down all")
    try:
        refused = import_csv()
    finally:
        broker.command("broker up all")
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers.get("retry-after")
    problem = refused.json()
    assert "Kafka" in problem["detail"] and "from line 2" in problem["detail"], problem
    assert problem["imported"] == "0" and problem["firstLineNotConfirmed"] == "2", problem

    # Once Kafka is back the same file goes through; rows that did get through would be refused
    # as duplicates (same tax id), never imported twice.
    deadline = time.time() + 60
    while True:
        report = import_csv()
        if report.status_code == 200 or time.time() > deadline:
            break
        assert report.status_code == 503, report.text
        time.sleep(0.5)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["imported"] + body["failed"] == 3, body
    assert all("already has this tax id" in error["detail"] for error in body["errors"]), body
    listed = requests.get(f"{service.url}/counterparties", params={"q": "outage import"}, timeout=5).json()["items"]
    assert sorted(c["taxId"] for c in listed) == [f"77{n:08d}" for n in range(3)]

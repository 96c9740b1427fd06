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

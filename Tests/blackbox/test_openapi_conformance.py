"""schemathesis against each running service: no 5xx, and every response (status, content type,
headers, body) conforms to the OpenAPI document the service serves."""
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from analytics_reference import generate, produce_orders
from conftest import ANALYTICS, CONTACTS, make_producer


def seed_contacts(service, broker):
    url = service.url
    requests.post(url + "/staff", json={"id": "st-boss", "name": "Boss"}, timeout=30).raise_for_status()
    requests.post(url + "/staff", json={"id": "st-rep", "name": "Rep", "supervisorId": "st-boss"}, timeout=30).raise_for_status()
    for i in range(3):
        requests.post(url + "/counterparties", json={"id": f"cp-{i}", "kind": "organization", "legalName": f"Seed {i}",
                                                     "responsibleManagerId": "st-rep", "phones": [f"+7 900 000-00-0{i}"]},
                      timeout=30).raise_for_status()
    requests.post(url + "/counterparties/cp-0/contact-persons", json={"id": "pp-0", "name": "Seed Person"}, timeout=30).raise_for_status()
    requests.post(url + "/counterparties/cp-0/interactions", json={"id": "ii-0", "kind": "call"}, timeout=30).raise_for_status()


def seed_analytics(service, broker):
    events = generate(clients=40, seed=3)
    produce_orders(make_producer(broker.bootstrap), events)
    service.wait_consumed("erp.orders.v1", len(events))
    requests.post(service.url + "/classification-runs", json={"asOf": "2026-11-15", "publish": True}, timeout=60).raise_for_status()


@pytest.mark.parametrize("spec,seed", [(CONTACTS, seed_contacts), (ANALYTICS, seed_analytics)], ids=["contacts", "analytics"])
def test_responses_conform_to_the_served_openapi_document(broker, service_factory, tmp_path, spec, seed):
    service = service_factory(spec, data_dir=tmp_path / spec.name).start().wait_ready()
    seed(service, broker)
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(schemathesis), "run", service.url + "/openapi.yaml",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                     "response_schema_conformance,response_headers_conformance",
         "--phases", "examples,coverage,fuzzing", "--max-examples", "25", "--seed", "20261129",
         "--suppress-health-check", "all"],
        capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert service.proc.poll() is None, "the service survived the fuzzing"

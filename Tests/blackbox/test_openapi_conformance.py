"""schemathesis against each running service: no 5xx, and every response (status, content type,
headers, body) conforms to the OpenAPI document the service serves."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from analytics_reference import generate, produce_orders
from conftest import ANALYTICS, CONTACTS, DEALS, SCHEDULER, SUPPLIERS, make_producer, produce_crm_events


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


def seed_deals(service, broker):
    produce_crm_events(broker.bootstrap, "crm.staff.v1", [("StaffMemberRegistered", "st-rep", {"id": "st-rep", "name": "Rep"})])
    produce_crm_events(broker.bootstrap, "crm.counterparties.v1", [
        ("CounterpartyRegistered", f"cp-{i}", {"id": f"cp-{i}", "kind": "organization", "legalName": f"Seed {i}"}) for i in range(3)])
    produce_crm_events(broker.bootstrap, "crm.segments.v1", [
        ("ClientClassified", "cp-0", {"clientId": "cp-0", "runId": "r", "asOf": "2026-12-01", "abcClass": "A", "xyzClass": "X",
                                      "status": "regular"})])
    service.wait_consumed("crm.segments.v1", 1)
    service.wait_consumed("crm.counterparties.v1", 3)
    url = service.url
    requests.post(url + "/campaigns", json={"id": "cm-0", "name": "Seed", "channel": "web", "startsOn": "2026-12-01",
                                            "endsOn": "2026-12-31", "budget": "100", "currency": "EUR"}, timeout=30).raise_for_status()
    requests.post(url + "/inquiries", json={"id": "iq-0", "channel": "call", "subject": "Seed", "managerId": "st-rep",
                                            "counterpartyId": "cp-0", "campaignId": "cm-0"}, timeout=30).raise_for_status()
    requests.post(url + "/deals", json={"id": "dl-0", "counterpartyId": "cp-0", "title": "Seed", "expectedAmount": "10",
                                        "currency": "EUR", "expectedCloseDate": "2026-12-31", "ownerId": "st-rep"},
                  timeout=30).raise_for_status()
    requests.put(url + "/sales-conditions/rules", json={"rules": [{"match": {"abcClass": "A"}, "conditions": {"priceType": "w"}}],
                                                        "default": {"priceType": "r"}}, timeout=30).raise_for_status()


def seed_scheduler(service, broker):
    produce_crm_events(broker.bootstrap, "crm.staff.v1", [
        ("StaffMemberRegistered", "st-boss", {"id": "st-boss", "name": "Boss", "timeZone": "Europe/Moscow"}),
        ("StaffMemberRegistered", "st-rep", {"id": "st-rep", "name": "Rep", "supervisorId": "st-boss", "timeZone": "Asia/Tokyo"})])
    produce_crm_events(broker.bootstrap, "crm.counterparties.v1", [
        ("CounterpartyRegistered", "cp-0", {"id": "cp-0", "kind": "organization", "legalName": "Seed", "responsibleManagerId": "st-rep"}),
        ("ContactPersonAdded", "cp-0", {"id": "pp-0", "counterpartyId": "cp-0", "name": "Seed Person", "birthday": "02-29"})])
    service.wait_consumed("crm.counterparties.v1", 2)
    service.wait_consumed("crm.staff.v1", 2)
    url = service.url
    requests.post(url + "/activities", json={"id": "ac-0", "kind": "call", "ownerId": "st-rep", "counterpartyId": "cp-0",
                                             "subject": "Seed", "startsAt": "2026-12-01T09:00:00Z"}, timeout=30).raise_for_status()
    requests.post(url + "/activities", json={"id": "ac-1", "kind": "task", "ownerId": "st-rep", "subject": "Later",
                                             "startsAt": "2027-12-01T09:00:00Z"}, timeout=30).raise_for_status()
    requests.post(url + "/webhooks", json={"url": "https://hooks.example.invalid/crm"}, timeout=30).raise_for_status()


def seed_suppliers(service, broker):
    produce_crm_events(broker.bootstrap, "crm.counterparties.v1", [
        ("CounterpartyRegistered", f"sp-{i}", {"id": f"sp-{i}", "kind": "organization", "roles": ["supplier"], "legalName": f"Seed {i}"})
        for i in range(2)])
    service.wait_consumed("crm.counterparties.v1", 2)
    producer = make_producer(broker.bootstrap)
    for number, event in enumerate([
            {"type": "PurchaseOrderPlaced", "occurredAt": "2026-03-01T08:00:00Z", "promisedDate": "2026-03-10",
             "lines": [{"sku": "sku-0", "quantity": "5", "price": "2"}]},
            {"type": "GoodsReceived", "occurredAt": "2026-03-09T08:00:00Z", "lines": [{"sku": "sku-0", "quantity": "5"}]}]):
        event.update({"eventId": f"seed-{number}", "purchaseOrderId": "po-0", "supplierId": "sp-0"})
        producer.produce("erp.purchases.v1", key="po-0", value=json.dumps(event))
    producer.flush(10)
    service.wait_consumed("erp.purchases.v1", 2)
    url = service.url
    requests.put(url + "/suppliers/sp-0/terms", json={"promisedLeadTimeDays": 7, "minimumOrder": "10", "currency": "EUR"},
                 timeout=30).raise_for_status()
    requests.post(url + "/suppliers/sp-0/price-lists", json={"id": "pl-0", "currency": "EUR", "validFrom": "2026-01-01", "items": [
        {"sku": "sku-0", "price": "2.5"}, {"sku": "box", "price": "1", "returnablePackaging": True}]}, timeout=30).raise_for_status()


@pytest.mark.parametrize("spec,seed,env", [
    (CONTACTS, seed_contacts, None), (ANALYTICS, seed_analytics, None), (DEALS, seed_deals, None),
    (SCHEDULER, seed_scheduler, {"CRM_SCHEDULER_GROUP": "off", "CRM_WEBHOOK_TIMEOUT_MS": "1000"}),
    (SUPPLIERS, seed_suppliers, None)],
    ids=["contacts", "analytics", "deals", "scheduler", "suppliers"])
def test_responses_conform_to_the_served_openapi_document(broker, service_factory, tmp_path, spec, seed, env):
    service = service_factory(spec, data_dir=tmp_path / spec.name, env=env).start().wait_ready()
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

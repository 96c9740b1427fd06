"""The topic contract is valid AsyncAPI 3.0 and follows our rules; compose.yaml is a valid Compose file."""
import json

import jsonschema
import pytest
import yaml

from conftest import REPO, SERVICES

SCHEMAS = REPO / "Tests" / "blackbox" / "schemas"

REQUIRED_TOPICS = {
    "crm.counterparties.v1", "crm.interactions.v1", "crm.staff.v1", "crm.suppliers.v1", "crm.inquiries.v1",
    "crm.deals.v1", "crm.campaigns.v1", "crm.activities.v1", "crm.reminders.v1", "crm.segments.v1",
    "crm.sales-conditions.v1", "crm.deal-settings.v1", "crm.webhooks.v1", "crm.deadletter.v1", "erp.orders.v1", "erp.purchases.v1", "crm.classification-runs.v1",
}


def load_schema(name):
    return json.loads((SCHEMAS / name).read_text())


@pytest.fixture(scope="module")
def contract():
    return yaml.safe_load((REPO / "topics" / "asyncapi.yaml").read_text())


def resolve(document, ref):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        assert part in node, f"dangling reference {ref}"
        node = node[part]
    return node


def walk_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_refs(item)


def validate(document, schema):
    # Both vendored schemas are draft-07 (one spells its $schema URL with https, unknown to jsonschema).
    jsonschema.Draft7Validator(schema).validate(document)


def test_contract_is_valid_asyncapi(contract):
    validate(contract, load_schema("asyncapi-3.0.0.schema.json"))


def test_every_reference_resolves(contract):
    refs = list(walk_refs(contract))
    assert refs
    for ref in refs:
        resolve(contract, ref)


def test_every_topic_is_described_with_one_writer(contract):
    channels = contract["channels"]
    addresses = {c["address"]: c for c in channels.values()}
    assert REQUIRED_TOPICS <= set(addresses)
    assert len(addresses) == len(channels), "one channel per topic"
    for address, channel in addresses.items():
        writer = channel["x-crm-writer"]
        assert isinstance(writer, str) and "," not in writer, address
        if writer == "*":
            assert address == "crm.deadletter.v1", "only the dead-letter topic has many writers"
        assert channel["x-crm-consumers"], address
        assert channel["x-crm-key"], address
        kafka = channel["bindings"]["kafka"]
        assert kafka["topic"] == address and kafka["partitions"] >= 1, address
        assert channel["messages"], address
        for message_ref in channel["messages"].values():
            message = resolve(contract, message_ref["$ref"])
            assert "payload" in message, f"{address}: a message without a payload schema"
    assert addresses["crm.segments.v1"]["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"] == ["compact"]
    assert addresses["crm.sales-conditions.v1"]["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"] == ["compact"]


def test_erp_contract_fields_are_kept(contract):
    order = contract["components"]["schemas"]["ERPOrderEvent"]
    assert set(order["required"]) == {"eventId", "type", "occurredAt", "orderId", "customerId"}
    assert order["properties"]["type"]["enum"] == ["OrderPlaced", "OrderCompleted", "OrderCancelled"]
    assert {"managerId", "currency", "lines", "dealId", "reason"} <= set(order["properties"])
    purchase = contract["components"]["schemas"]["ERPPurchaseEvent"]
    assert purchase["properties"]["type"]["enum"] == ["PurchaseOrderPlaced", "GoodsReceived", "PurchaseOrderCancelled"]
    assert {"promisedDate", "lines", "reason", "supplierId"} <= set(purchase["properties"])


def test_compose_file_is_valid():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    validate(compose, load_schema("compose-spec.schema.json"))
    services = compose["services"]
    assert "kafka" in services and "topics" in services
    for name in SERVICES:
        assert services[name]["environment"]["CRM_KAFKA_BROKERS"], name
        assert f"crm-{name}" in services[name]["command"], name


def test_dockerfile_lets_a_failed_step_fail_the_image():
    # No Docker engine runs here, so the image is not built in the tests; at least no step may
    # swallow a failure (a build that failed once produced an image without executables).
    text = (REPO / "Dockerfile").read_text()
    assert "|| true" not in text and "|| :" not in text
    assert "swift build -c release" in text

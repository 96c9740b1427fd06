"""The analytics executable against an independent implementation: a generated ERP stream of a few
thousand clients over 24 months through the real topic, classified by `POST /classification-runs`,
compared client by client; the `ClientClassified` records read back from `crm.segments.v1` with an
independent Kafka client agree; kill -9 during ingest loses and double-counts nothing."""
import datetime as dt
import json
import time
from decimal import Decimal

import requests
from confluent_kafka import Consumer, TopicPartition

from analytics_reference import apply_orders, classify, generate, produce_orders
from conftest import ANALYTICS, make_producer, produce_counterparty_events

AS_OF = dt.date(2026, 11, 15)
REGISTERED = [f"REG-{i:03d}" for i in range(50)]


def feed(broker, events):
    produce_orders(make_producer(broker.bootstrap), events)
    produce_counterparty_events(broker.bootstrap, [
        ("CounterpartyRegistered", {"id": c, "kind": "organization", "legalName": f"Registered {c}", "roles": ["customer"]})
        for c in REGISTERED])


def all_clients(service, run_id):
    clients, cursor = {}, None
    while True:
        url = f"{service.url}/classification-runs/{run_id}/clients?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        page = requests.get(url, timeout=60).json()
        for item in page["items"]:
            clients[item["clientId"]] = item
        cursor = page["nextCursor"]
        if not cursor:
            return clients


def compare(actual, expected):
    assert set(actual) == set(expected), (sorted(set(actual) ^ set(expected)))[:10]
    mismatches = []
    for client, want in expected.items():
        got = actual[client]
        if (got["abcClass"], got["xyzClass"], got["status"], got["sales"]) != (
                want["abcClass"], want["xyzClass"], want["status"], want["sales"]) or Decimal(got["measure"]) != want["measure"]:
            mismatches.append((client, got, want))
    assert not mismatches, mismatches[:5]


def read_segments(bootstrap, count, timeout=60):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "blackbox-segments", "enable.auto.commit": False})
    consumer.assign([TopicPartition("crm.segments.v1", p, 0) for p in range(16)])
    records, deadline = {}, time.time() + timeout
    while len(records) < count and time.time() < deadline:
        for message in consumer.consume(500, 0.5):
            assert message.error() is None, message.error()
            headers = dict(message.headers())
            assert headers["ce_type"] == b"ClientClassified"
            data = json.loads(message.value())
            assert message.key().decode() == data["clientId"]
            records[data["clientId"]] = data
    consumer.close()
    return records


def test_classification_matches_an_independent_implementation(broker, service_factory):
    events = generate()
    feed(broker, events)
    orders = apply_orders(events)
    service = service_factory(ANALYTICS).start().wait_ready(timeout=600)

    expected = classify(orders, REGISTERED, AS_OF)
    run = requests.post(service.url + "/classification-runs", json={"asOf": AS_OF.isoformat(), "publish": True}, timeout=300)
    assert run.status_code == 201, run.text
    run = run.json()
    assert run["clients"] == len(expected) and len(expected) > 3000
    actual = all_clients(service, run["id"])
    compare(actual, expected)
    statuses = {s: sum(1 for v in expected.values() if v["status"] == s) for s in ("potential", "one-time", "regular", "lost")}
    assert run["counts"]["status"] == statuses
    assert all(count > 50 for count in statuses.values()), statuses

    segments = read_segments(broker.bootstrap, len(expected))
    assert len(segments) == len(expected), "the first published run sends every client"
    for client, want in expected.items():
        record = segments[client]
        assert (record["abcClass"], record["xyzClass"], record["status"]) == (want["abcClass"], want["xyzClass"], want["status"])
        assert record["runId"] == run["id"] and record["asOf"] == AS_OF.isoformat()
        assert record["parameters"]["measure"] == "revenue"

    # Gross profit by quarters, over 8 quarters, not published.
    other = requests.post(service.url + "/classification-runs", json={
        "asOf": AS_OF.isoformat(), "measure": "grossProfit", "periodKind": "quarter", "periods": 8, "oneTimeMax": 2}, timeout=300)
    assert other.status_code == 201, other.text
    compare(all_clients(service, other.json()["id"]),
            classify(orders, REGISTERED, AS_OF, measure="grossProfit", kind="quarter", periods=8, one_time_max=2))
    assert len(read_segments(broker.bootstrap, len(expected) + 1, timeout=3)) == len(expected), "an unpublished run sends nothing"


def test_kill_9_during_ingest_loses_and_double_counts_nothing(broker, service_factory, tmp_path):
    events = generate(clients=1500, seed=7)
    feed(broker, events)
    total = len(events) + len(REGISTERED)
    progress = []
    for _ in range(3):
        service = service_factory(ANALYTICS, data_dir=tmp_path / "crashy").start().wait_live()
        start = sum(service.stored_offsets().values()) if service.store.exists() else 0
        target = start + (total - start) // 3
        deadline = time.time() + 120
        while time.time() < deadline and service.applied() + start < target:
            time.sleep(0.005)
        service.kill()
        progress.append(sum(service.stored_offsets().values()))
    assert any(0 < p < total for p in progress), progress

    survivor = service_factory(ANALYTICS, data_dir=tmp_path / "crashy").start().wait_ready(timeout=600)
    run = requests.post(survivor.url + "/classification-runs", json={"asOf": AS_OF.isoformat()}, timeout=300).json()
    compare(all_clients(survivor, run["id"]), classify(apply_orders(events), REGISTERED, AS_OF))
    after_crashes = survivor.dump()
    survivor.stop()

    # A clean replay (the run included, from its topic) holds exactly the same.
    clean = service_factory(ANALYTICS, data_dir=tmp_path / "clean").start().wait_ready(timeout=600)
    assert after_crashes == clean.dump(), "state after crashes differs from a clean replay"

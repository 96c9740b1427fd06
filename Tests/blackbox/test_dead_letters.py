"""Poison records produced by independent clients (kcat, confluent-kafka) land in crm.deadletter.v1."""
import json
import subprocess
import time

import requests
from confluent_kafka import Consumer, TopicPartition

from conftest import cloud_event_headers, make_producer


def read_dead_letters(bootstrap, expected, timeout=30):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "blackbox-dlq", "enable.auto.commit": False})
    consumer.assign([TopicPartition("crm.deadletter.v1", p, 0) for p in range(4)])
    letters = []
    deadline = time.time() + timeout
    while len(letters) < expected and time.time() < deadline:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            letters.append(message)
    consumer.close()
    return letters


def test_malformed_and_unknown_records_are_dead_lettered_and_later_records_applied(broker, service_factory):
    service = service_factory().start().wait_ready()
    # kcat: a value that is not JSON, with CloudEvents headers (an independent client, librdkafka-based CLI).
    subprocess.run(
        ["kcat", "-b", broker.bootstrap, "-P", "-t", "crm.counterparties.v1", "-K", "|",
         "-H", "ce_id=poison-1", "-H", "ce_type=CounterpartyRegistered", "-H", "ce_specversion=1.0", "-H", "ce_source=kcat"],
        input="POISON-1|{this is not json\n", text=True, check=True, timeout=30)
    producer = make_producer(broker.bootstrap)
    producer.produce("crm.counterparties.v1", key="POISON-2", value=json.dumps({"id": "POISON-2"}),
                     headers=cloud_event_headers("CounterpartyTeleported"))
    producer.produce("crm.counterparties.v1", key="POISON-3",
                     value=json.dumps({"id": "POISON-3", "kind": "organization", "legalName": 17}),
                     headers=cloud_event_headers("CounterpartyRegistered"))
    producer.produce("crm.counterparties.v1", key="GOOD-1",
                     value=json.dumps({"id": "GOOD-1", "kind": "person", "legalName": "After the poison"}),
                     headers=cloud_event_headers("CounterpartyRegistered"))
    assert producer.flush(30) == 0

    deadline = time.time() + 30
    while time.time() < deadline and requests.get(f"{service.url}/counterparties/GOOD-1", timeout=5).status_code != 200:
        time.sleep(0.1)
    assert requests.get(f"{service.url}/counterparties/GOOD-1", timeout=5).json()["legalName"] == "After the poison"

    letters = {m.key().decode(): m for m in read_dead_letters(broker.bootstrap, 3)}
    assert set(letters) == {"POISON-1", "POISON-2", "POISON-3"}
    for key, message in letters.items():
        headers = {k: v.decode() for k, v in message.headers()}
        assert headers["crm_source_topic"] == "crm.counterparties.v1"
        assert headers["crm_consumer"] == "contacts"
        assert int(headers["crm_source_offset"]) >= 0 and int(headers["crm_source_partition"]) in range(64)
    reason = lambda key: dict((k, v.decode()) for k, v in letters[key].headers())["crm_error"]
    assert "invalid JSON" in reason("POISON-1")
    assert letters["POISON-1"].value() == b"{this is not json", "the original bytes travel with the dead letter"
    assert "CounterpartyTeleported" in reason("POISON-2")
    assert "legalName" in reason("POISON-3")
    metrics = requests.get(f"{service.url}/metrics", timeout=5).text
    assert 'crm_dead_letters_total{service="contacts"} 3' in metrics
    assert requests.get(f"{service.url}/counterparties/POISON-3", timeout=5).status_code == 404

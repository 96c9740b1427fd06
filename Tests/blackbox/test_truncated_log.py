"""A stored offset below the log start is a clear error; `crm-contacts rebuild` recovers."""
import json
import time

import requests

from conftest import cloud_event_headers, make_producer, post


def test_offset_below_log_start_is_refused_and_rebuild_recovers(broker, service_factory):
    service = service_factory().start().wait_ready()
    assert post(service, {"id": "EARLY", "kind": "person", "legalName": "Early bird"}).status_code == 201
    service.stop()
    (topic, partition), stored = next(iter(service.stored_offsets().items()))
    assert stored == 1

    # Overflow the mock's ~5 MiB cap on that partition with uncompressed records: the oldest are dropped.
    producer = make_producer(broker.bootstrap, **{"compression.type": "none"})
    pad = "x" * 200_000
    for i in range(40):
        producer.produce(topic, partition=partition, key=f"FILL-{i}", headers=cloud_event_headers("CounterpartyRegistered"),
                         value=json.dumps({"id": f"FILL-{i}", "kind": "person", "legalName": f"Filler {i}", "notes": pad}))
        producer.poll(0)
    assert producer.flush(60) == 0
    low, high = broker.watermarks(topic, partition)
    assert low > stored, f"the mock should have moved the log start (low={low})"

    refused = service_factory().start()
    refused.proc.wait(timeout=60)
    assert refused.proc.returncode != 0, "the service must not start on a store the log can no longer complete"
    log = refused.log_tail(20_000)
    assert "stored next offset 1 < log start" in log and "rebuild" in log

    result = refused.run_command("rebuild")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{high - low} events applied" in result.stdout

    recovered = service_factory().start().wait_ready()
    assert requests.get(f"{recovered.url}/counterparties/FILL-39", timeout=5).status_code == 200
    assert requests.get(f"{recovered.url}/counterparties/EARLY", timeout=5).status_code == 404, "the dropped event is really gone"
    assert post(recovered, {"id": "LATE", "kind": "person", "legalName": "After rebuild"}).status_code == 201

    # The dev broker itself reports loudly that the mock dropped data.
    deadline = time.time() + 20
    while "DROPPED DATA" not in broker.log_path.read_text(errors="replace") and time.time() < deadline:
        time.sleep(0.5)
    assert "DROPPED DATA" in broker.log_path.read_text(errors="replace")

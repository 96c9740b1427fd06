"""kill -9 in the middle of applying large batches, several times: nothing lost, nothing applied twice."""
import time

from conftest import produce_counterparty_events

CLIENTS = 30_000
UPDATES = 30_000  # each bumps a counterparty's version, so a double application shows in the dump


def events():
    for i in range(CLIENTS):
        yield "CounterpartyRegistered", {"id": f"C{i:06d}", "kind": "organization", "legalName": f"Company {i}",
                                         "roles": ["customer"], "phones": [f"+7 900 {i:07d}"]}
    for j in range(UPDATES):
        i = (j * 7919) % CLIENTS
        yield "CounterpartyUpdated", {"id": f"C{i:06d}", "kind": "organization", "legalName": f"Company {i} rev {j}",
                                      "roles": ["customer", "supplier"], "notes": f"update {j}"}


def test_kill_9_mid_batch_loses_nothing_and_applies_nothing_twice(broker, service_factory, tmp_path):
    produce_counterparty_events(broker.bootstrap, events())
    total = CLIENTS + UPDATES
    assert sum(broker.watermarks("crm.counterparties.v1", p)[1] for p in range(64)) == total

    kills = 0
    progress = []
    for round_ in range(4):
        service = service_factory(data_dir=tmp_path / "crashy").start().wait_live()
        start_applied = sum(service.stored_offsets().values()) if service.store.exists() else 0
        target = start_applied + (total - start_applied) // 3
        deadline = time.time() + 120
        while time.time() < deadline:
            if service.applied() + start_applied >= target:
                break
            time.sleep(0.005)
        service.kill()  # SIGKILL: no flush, no shutdown hook
        kills += 1
        applied_now = sum(service.stored_offsets().values())
        progress.append(applied_now)
        if applied_now >= total:
            break
    assert kills >= 3
    assert any(0 < p < total for p in progress), f"every kill must land mid-replay: {progress}"
    assert progress == sorted(progress), "stored progress never goes back"

    survivor = service_factory(data_dir=tmp_path / "crashy").start().wait_ready()
    after_crashes = survivor.dump()
    survivor.stop()

    clean = service_factory(data_dir=tmp_path / "clean").start().wait_ready()
    assert clean.applied() == total
    clean_dump = clean.dump()
    assert after_crashes.count("\n") == CLIENTS
    assert after_crashes == clean_dump, "state after crashes differs from a clean replay"
    versions = sum(int(line.split('"version":')[1].split(",")[0].rstrip("}")) for line in clean_dump.splitlines())
    assert versions == total, "every registration and update applied exactly once"

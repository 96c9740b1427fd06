"""The dev broker's journal keeps local data across a restart of the broker and the services."""
import requests

from conftest import DevBroker, Service, post


def test_data_survives_a_restart_of_everything(tmp_path):
    broker = DevBroker(tmp_path / "data", journal=True)
    try:
        service = Service(broker, tmp_path / "data").start().wait_ready()
        for i in range(20):
            assert post(service, {"id": f"K{i}", "kind": "person", "legalName": f"Kept {i}"}).status_code == 201
        dump = service.dump()
        service.stop()
    finally:
        broker.stop()

    broker = DevBroker(tmp_path / "data", journal=True)
    try:
        assert broker.bootstrap
        service = Service(broker, tmp_path / "data").start().wait_ready()
        assert service.dump() == dump
        assert post(service, {"id": "K20", "kind": "person", "legalName": "New after restart"}).status_code == 201
        service.stop()
        # The store itself can also be rebuilt from the restored log.
        service.store.unlink()
        for suffix in ("-wal", "-shm"):
            service.store.with_name(service.store.name + suffix).unlink(missing_ok=True)
        rebuilt = Service(broker, tmp_path / "data").start().wait_ready()
        assert requests.get(f"{rebuilt.url}/counterparties/K20", timeout=5).status_code == 200
        assert rebuilt.dump().count("\n") == 21
        rebuilt.stop()
    finally:
        broker.stop()

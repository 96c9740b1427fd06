"""A service that cannot start its HTTP server (the port is taken) says so and exits; it must not
hang with its projector still running (a second instance, or a stale one, would otherwise look alive)."""
import socket
import subprocess


def test_port_in_use_exits_with_a_clear_error(broker, service_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        service = service_factory()
        service.port = taken.getsockname()[1]
        service.env["CRM_HTTP_PORT"] = str(service.port)
        service.start()
        try:
            service.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError("the service kept running without its HTTP server: " + service.log_tail())
    assert service.proc.returncode != 0
    assert "Address already in use" in service.log_tail(20_000)

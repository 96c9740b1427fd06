"""Black-box harness: the real executables, the dev broker, and independent Kafka clients."""
import json
import os
import signal
import socket
import contextlib
import sqlite3
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CRM_BIN", REPO / ".build" / "debug"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevBroker:
    """`crmctl dev-broker` with its stdin as the fault-injection control channel."""

    def __init__(self, data_dir, journal=False):
        args = [str(BIN / "crmctl"), "dev-broker", "--topics", str(REPO / "topics" / "asyncapi.yaml")]
        args += ["--data-dir", str(data_dir)] if journal else ["--no-journal"]
        self.log_path = Path(data_dir) / "dev-broker.log"
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        self.bootstrap = self.proc.stdout.readline().strip()
        assert self.bootstrap, f"dev broker printed no address; log: {self.log_path.read_text()[-2000:]}"

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        assert reply.startswith("ok"), f"{line!r} -> {reply!r}"
        return reply

    def watermarks(self, topic, partition):
        _, low, high = self.command(f"watermarks {topic} {partition}").split()
        return int(low), int(high)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.command("quit")
            except (AssertionError, BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass(frozen=True)
class ServiceSpec:
    """What the harness needs to know of a service built with the service kit: its name (which
    names the executable `crm-<name>` and the store `<name>.sqlite`), its default port, and the
    topics its projection reads."""
    name: str
    default_port: int
    topics: tuple

    @property
    def executable(self):
        return f"crm-{self.name}"

    @property
    def store_name(self):
        return f"{self.name}.sqlite"


CONTACTS = ServiceSpec("contacts", 8081, ("crm.counterparties.v1", "crm.interactions.v1", "crm.staff.v1", "crm.activities.v1"))

ANALYTICS = ServiceSpec("analytics", 8085, (
    "erp.orders.v1", "crm.counterparties.v1", "crm.staff.v1", "crm.interactions.v1", "crm.activities.v1", "crm.inquiries.v1",
    "crm.campaigns.v1", "crm.deals.v1", "crm.segments.v1", "crm.classification-runs.v1"))

DEALS = ServiceSpec("deals", 8083, (
    "crm.counterparties.v1", "crm.staff.v1", "crm.campaigns.v1", "crm.inquiries.v1", "crm.deals.v1", "erp.orders.v1",
    "crm.segments.v1", "crm.sales-conditions.v1", "crm.deal-settings.v1"))

SCHEDULER = ServiceSpec("scheduler", 8084, (
    "crm.staff.v1", "crm.counterparties.v1", "crm.deals.v1", "crm.segments.v1", "crm.activities.v1", "crm.reminders.v1",
    "crm.webhooks.v1"))

SUPPLIERS = ServiceSpec("suppliers", 8082, ("crm.counterparties.v1", "crm.suppliers.v1", "erp.purchases.v1"))

# Every service built so far, by name (the contract's `x-crm-writer`).
SERVICES = {spec.name: spec for spec in [CONTACTS, ANALYTICS, DEALS, SCHEDULER, SUPPLIERS]}


class Service:
    """One service process with its own data folder and a free port."""

    def __init__(self, broker, data_dir, spec=CONTACTS, env=None):
        self.broker = broker
        self.data_dir = Path(data_dir)
        self.spec = spec
        self.exe = spec.executable
        self.port = free_port()
        self.env = dict(os.environ, CRM_KAFKA_BROKERS=broker.bootstrap, CRM_DATA_DIR=str(self.data_dir),
                        CRM_HTTP_PORT=str(self.port), CRM_LOG_LEVEL="info", **(env or {}))
        self.log_path = self.data_dir / f"{self.exe}.log"
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def store(self):
        return self.data_dir / self.spec.store_name

    def start(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(BIN / self.exe)], env=self.env, stdout=self.log, stderr=self.log)
        return self

    def _wait_for(self, path, what, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc.poll() is None, f"service exited with {self.proc.returncode}: {self.log_tail()}"
            try:
                if requests.get(self.url + path, timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError(f"service did not {what}: " + self.log_tail())

    def wait_live(self, timeout=60):
        return self._wait_for("/health/live", "come up", timeout)

    def wait_ready(self, timeout=180):
        self.wait_live()
        return self._wait_for("/health/ready", "become ready", timeout)

    def applied(self):
        text = requests.get(self.url + "/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith("crm_records_applied_total"):
                return int(float(line.split()[-1]))
        return 0

    def wait_consumed(self, topic, count, timeout=120):
        """Waits until the service has stored its progress past `count` records of `topic` (applied,
        skipped as redelivered or dead-lettered)."""
        deadline = time.time() + timeout
        while (done := sum(o for (t, _), o in self.stored_offsets().items() if t == topic)) < count:
            assert time.time() < deadline, f"consumed {done} of {count} records of {topic}: " + self.log_tail()
            time.sleep(0.05)
        return self

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)
        if self.proc:
            self.log.close()

    def stop(self):
        self.kill(signal.SIGTERM)

    def log_tail(self, n=4000):
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return ""

    def run_command(self, *args, timeout=300):
        return subprocess.run([str(BIN / self.exe), *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def dump(self):
        result = self.run_command("dump")
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def stored_offsets(self):
        # closing(): `with connect()` alone commits but leaves the connection open until collected.
        with contextlib.closing(sqlite3.connect(self.store)) as db:
            return {(t, p): o for t, p, o in db.execute("SELECT topic, partition, next_offset FROM crm_partition_offsets")}


@pytest.fixture
def broker(tmp_path):
    b = DevBroker(tmp_path / "broker")
    yield b
    b.stop()


@pytest.fixture
def service_factory(broker, tmp_path):
    """`service_factory(SPEC)` makes a service on the test's broker (not started; `.start()`),
    contacts by default, with its data under the test's temporary folder."""
    started = []

    def make(spec=CONTACTS, data_dir=None, **kwargs):
        s = Service(broker, data_dir or (tmp_path / spec.name), spec=spec, **kwargs)
        started.append(s)
        return s

    yield make
    for s in started:
        s.kill()


def cloud_event_headers(event_type, event_id=None, actor="blackbox", time="2026-03-14T09:30:00.000Z"):
    return [
        ("ce_specversion", b"1.0"), ("ce_id", (event_id or str(uuid.uuid4())).encode()), ("ce_type", event_type.encode()),
        ("ce_source", b"blackbox-test"), ("ce_time", time.encode()), ("ce_actor", actor.encode()),
        ("content-type", b"application/json"),
    ]


def make_producer(bootstrap, **config):
    from confluent_kafka import Producer
    settings = {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20,
                "compression.type": "lz4", "partitioner": "murmur2_random"}
    settings.update(config)
    return Producer(settings)


def produce_all(producer, topic, records, flush_seconds=120):
    """records: iterable of (key, value, headers or None); waits until every one is acknowledged."""
    errors = []
    for key, value, headers in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=headers,
                                 on_delivery=lambda err, msg: errors.append(err) if err else None)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(flush_seconds) == 0
    assert not errors, errors[:3]


def produce_counterparty_events(bootstrap, events, **config):
    """events: iterable of (type, data dict); keyed by data['id']."""
    produce_all(make_producer(bootstrap, **config), "crm.counterparties.v1",
                ((data["id"], json.dumps(data), cloud_event_headers(event_type)) for event_type, data in events))


def produce_crm_events(bootstrap, topic, events, time=None, **config):
    """events: iterable of (type, key, data dict), as the writing service would publish them
    (`time`: their `ce_time`, RFC 3339)."""
    headers = (lambda event_type: cloud_event_headers(event_type, time=time)) if time else cloud_event_headers
    produce_all(make_producer(bootstrap, **config), topic,
                ((key, json.dumps(data), headers(event_type)) for event_type, key, data in events))


def post(service, body, **kwargs):
    return requests.post(service.url + "/counterparties", json=body, timeout=30, **kwargs)

"""The deals service's benchmark, run by scripts/bench-deals against a dev broker and a started
crm-deals. Usage: bench_deals.py seed BROKERS CLIENTS DEALS | measure BROKERS URL CLIENTS DEALS RATE SECONDS

seed: produces CLIENTS ClientClassified records (crm.segments.v1) and DEALS deals (DealOpened, and
for about a third DealClosed, on crm.deals.v1) with staff and counterparties, as the other
services and a history of commands would have.
measure: rules over every classified client (time until all are on crm.sales-conditions.v1); a
rules change affecting the A clients while commands run at RATE/s (time until every changed client
is on the topic, command latency during it, and without it); GET /deals/analysis latency."""
import gc
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse

from confluent_kafka import Consumer, Producer, TopicPartition

STAGES = [("qualification", 10), ("needs-analysis", 25), ("proposal", 50), ("negotiation", 75)]
OWNERS = [f"mgr-{i}" for i in range(50)]
COUNTERPARTIES = [f"cp-{i}" for i in range(1000)]


def headers(event_type):
    return [("ce_specversion", b"1.0"), ("ce_id", f"bench-{random.getrandbits(64):x}".encode()), ("ce_type", event_type.encode()),
            ("ce_source", b"bench"), ("ce_time", b"2026-11-01T09:00:00.000Z"), ("ce_actor", b"bench"),
            ("content-type", b"application/json")]


def produce(producer, topic, records):
    for key, event_type, data in records:
        while True:
            try:
                producer.produce(topic, key=key, value=json.dumps(data), headers=headers(event_type))
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(300) == 0


def ranks(clients):
    rng = random.Random(7)
    return {f"CL-{i:06d}": (rng.choice("AABCCC"), rng.choice(["X", "Y", "Z", None]), rng.choice(["one-time", "regular", "regular", "lost"]))
            for i in range(clients)}


def seed(brokers, clients, deals):
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 50, "compression.type": "lz4", "enable.idempotence": True})
    produce(producer, "crm.staff.v1", [(s, "StaffMemberRegistered", {"id": s, "name": f"Manager {s}"}) for s in OWNERS])
    produce(producer, "crm.counterparties.v1", [
        (c, "CounterpartyRegistered", {"id": c, "kind": "organization", "legalName": f"Buyer {c}", "roles": ["customer"]})
        for c in COUNTERPARTIES])
    produce(producer, "crm.segments.v1", [
        (client, "ClientClassified", {"clientId": client, "runId": "bench", "asOf": "2026-11-01", "abcClass": abc, "xyzClass": xyz,
                                      "status": status})
        for client, (abc, xyz, status) in ranks(clients).items()])
    rng = random.Random(11)
    records = []
    for i in range(deals):
        stage, probability = rng.choice(STAGES)
        deal_id = f"deal-{i:06d}"
        records.append((deal_id, "DealOpened", {
            "id": deal_id, "counterpartyId": rng.choice(COUNTERPARTIES), "title": f"Deal {i}", "stage": stage,
            "expectedAmount": f"{rng.randint(1000, 5_000_000) / 100:.2f}", "currency": rng.choice(["EUR", "EUR", "RUB"]),
            "probability": probability, "expectedCloseDate": f"2026-{rng.randint(9, 12):02d}-{rng.randint(1, 28):02d}",
            "ownerId": rng.choice(OWNERS)}))
        if rng.random() < 0.33:
            won = rng.random() < 0.4
            records.append((deal_id, "DealClosed", {
                "id": deal_id, "outcome": "won" if won else "lost", "amount": f"{rng.randint(1000, 5_000_000) / 100:.2f}",
                **({} if won else {"reason": rng.choice(["price", "timing", "competitor", "went silent"])})}))
    produce(producer, "crm.deals.v1", records)
    print(f"seeded {clients:,} classified clients and {deals:,} deals ({len(records):,} deal events)")


class TopicCounter:
    """Counts records arriving on crm.sales-conditions.v1 after the current end."""

    def __init__(self, brokers):
        self.consumer = Consumer({"bootstrap.servers": brokers, "group.id": "bench-deals", "enable.auto.commit": False})
        partitions = [TopicPartition("crm.sales-conditions.v1", p) for p in range(16)]
        starts = []
        for tp in partitions:
            _, high = self.consumer.get_watermark_offsets(tp, timeout=10)
            starts.append(TopicPartition("crm.sales-conditions.v1", tp.partition, high))
        self.consumer.assign(starts)

    def wait_for(self, count, timeout=600):
        seen, deadline = 0, time.time() + timeout
        while seen < count and time.time() < deadline:
            seen += len([m for m in self.consumer.consume(10_000, 0.1) if m.error() is None])
        return seen


def rules(discount):
    """Rules whose first two (every A and B client) give `discount` and two points less."""
    return {"rules": [
        {"match": {"abcClass": "A", "status": "regular"}, "conditions": {"priceType": "wholesale", "discountPercent": str(discount),
                                                                         "deferralDays": 30}},
        {"match": {"abcClass": ["A", "B"]}, "conditions": {"priceType": "wholesale", "discountPercent": str(discount - 2)}},
        {"match": {"status": "lost"}, "conditions": {"priceType": "retail", "prepaymentPercent": "100"}},
    ], "default": {"priceType": "retail", "prepaymentPercent": "50"}}


def put_rules(url, body):
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    connection.request("PUT", "/sales-conditions/rules", body=json.dumps(body), headers={"content-type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200, response.read()
    response.read()


def command_load(url, rate, seconds, latencies, first, failures, workers=8):
    """POST /deals arriving at a steady rate (open loop: request k is due at start + k / rate), sent
    by up to `workers` clients at once, each on its own keep-alive connection; latency is measured
    from the time a request was due, so a slow answer also counts against those queued behind it.
    Python's cycle collector is off meanwhile: its pauses (up to 40 ms in a run of 4,000) stopped every
    client thread and were counted against the service."""
    gc.collect()
    gc.disable()
    start, total = time.perf_counter() + 0.5, int(rate * seconds)
    next_index, lock = [0], threading.Lock()

    def worker(number):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        rng = random.Random(first * 100 + number)
        while True:
            with lock:
                k = next_index[0]
                next_index[0] += 1
            if k >= total:
                return
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body = {"id": f"cmd-{first}-{k}", "counterpartyId": rng.choice(COUNTERPARTIES), "title": "Probe", "expectedAmount": "100",
                    "currency": "EUR", "expectedCloseDate": "2026-12-31", "ownerId": rng.choice(OWNERS)}
            connection.request("POST", "/deals", body=json.dumps(body), headers={"content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            with lock:
                latencies.append((time.perf_counter() - due) * 1000)
                if response.status != 201:
                    failures.append(response.status)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gc.enable()


def quiesce(url, timeout=600):
    """Waits until the service has applied every record on its topics and nothing more arrives
    (its applied count unchanged over half a second); returns the seconds waited."""
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    start, previous = time.perf_counter(), None
    while time.perf_counter() - start < timeout:
        connection.request("GET", "/health/status")
        response = connection.getresponse()
        status = json.loads(response.read())
        current = status["appliedRecords"]
        if sum(status["lag"].values()) == 0 and current == previous:
            return time.perf_counter() - start
        previous = current
        time.sleep(0.5)
    raise SystemExit("the service did not settle")


def percentiles(values):
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    return f"{len(values)} requests; ms: p50 {pick(0.5):.1f}, p90 {pick(0.9):.1f}, p99 {pick(0.99):.1f}, max {values[-1]:.1f}"


def measure(brokers, base, clients, deals, rate, seconds):
    url = urllib.parse.urlparse(base)
    classified = ranks(clients)
    counter = TopicCounter(brokers)
    t0 = time.perf_counter()
    put_rules(url, rules(5))
    answered = time.perf_counter() - t0
    seen = counter.wait_for(clients)
    print(f"rules set over {clients:,} classified clients (none assigned before): PUT answered in {answered * 1000:.0f} ms; "
          f"{seen:,} assignments on the topic after {time.perf_counter() - t0:.2f} s")

    # The service reads the assignments back into its own store: commands measured alone start
    # once it has applied them all (before this wait, their first seconds queued behind them).
    settled = quiesce(url)
    baseline, failed = [], []
    command_load(url, rate, seconds, baseline, 1, failed)
    print(f"POST /deals arriving at {rate}/s for {seconds} s (8 clients), nothing else running (the service settled "
          f"{settled:.1f} s after the assignments were on the topic): {percentiles(baseline)}; {len(failed)} not 201 {sorted(set(failed))}")

    affected = sum(1 for abc, _, _ in classified.values() if abc in ("A", "B"))
    during, failed = [], []
    load = threading.Thread(target=command_load, args=(url, rate, seconds, during, 2, failed))
    load.start()
    time.sleep(1)
    counter = TopicCounter(brokers)
    t0 = time.perf_counter()
    put_rules(url, rules(6))
    answered = time.perf_counter() - t0
    seen = counter.wait_for(affected)
    elapsed = time.perf_counter() - t0
    load.join()
    print(f"rules change affecting {affected:,} of {clients:,} clients: PUT answered in {answered * 1000:.0f} ms; "
          f"{seen:,} changed clients' conditions on the topic after {elapsed:.2f} s (target <= 5 s)")
    print(f"POST /deals arriving at {rate}/s (8 clients) across the rules change: {percentiles(during)}; "
          f"{len(failed)} not 201 {sorted(set(failed))}")

    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    times = []
    for _ in range(300):
        t = time.perf_counter()
        connection.request("GET", "/deals/analysis")
        response = connection.getresponse()
        body = response.read()
        times.append((time.perf_counter() - t) * 1000)
        assert response.status == 200
    report = json.loads(body)
    print(f"GET /deals/analysis over {report['open']['count'] + report['won'] + report['lost']:,} deals "
          f"({report['open']['count']:,} open): {percentiles(times)} (target p99 <= 50 ms)")
    times = []
    for _ in range(300):
        t = time.perf_counter()
        connection.request("GET", "/deals/analysis?supervisorId=mgr-0&staleDays=30")
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - t) * 1000)
    print(f"GET /deals/analysis for a supervisor's team: {percentiles(times)}")


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        seed(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        measure(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]))

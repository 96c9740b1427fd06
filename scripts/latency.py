"""Steady-rate POST /counterparties on one keep-alive connection; prints latency percentiles.
Usage: latency.py BASE_URL RATE_PER_SECOND SECONDS [FIRST_NUMBER]
Each counterparty gets its own phone and e-mail from its number; runs against one topic must start
at different FIRST_NUMBERs (default 0), or their creates are refused as duplicates."""
import http.client
import json
import sys
import time
import urllib.parse

base, rate, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
url = urllib.parse.urlparse(base)
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

def create(n):
    body = json.dumps({"kind": "organization", "legalName": f"Latency probe {n}", "roles": ["prospect"],
                       "phones": [f"+7 900 {n:07d}"], "emails": [f"probe{n}@example.com"]})
    connection.request("POST", "/counterparties", body=body, headers={"content-type": "application/json"})
    response = connection.getresponse()
    response.read()
    return response.status


# Warm up (connections, the idempotent producer's id, metadata) before measuring.
for i in range(20):
    create(-1 - i)

latencies, failures = [], 0
interval = 1.0 / rate
start = time.perf_counter()
n = first
while time.perf_counter() - start < duration:
    scheduled = start + (n - first) * interval
    delay = scheduled - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    sent = time.perf_counter()
    status = create(n)
    # Measured from the scheduled send time, so a slow response also delays (and counts against) the next.
    latencies.append((time.perf_counter() - min(sent, scheduled)) * 1000)
    if status != 201:
        failures += 1
    n += 1
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"{len(latencies)} requests, {failures} failed; latency ms: p50 {pick(0.50):.1f}, p90 {pick(0.90):.1f}, "
      f"p99 {pick(0.99):.1f}, max {latencies[-1]:.1f}")

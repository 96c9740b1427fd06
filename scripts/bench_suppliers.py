"""The suppliers service's HTTP benchmarks, run by scripts/bench-suppliers against a started
crm-suppliers. Usage: bench_suppliers.py upload URL LINES | offers URL ITEMS REQUESTS

upload: a price list of LINES lines as CSV, timed until the answer (published and applied), then
one offer read back; beside the same CSV with its last line bad (read and checked, nothing published).
offers: GET /items/{sku}/offers for random items, one request at a time on a kept-alive connection,
beside GET /health/live on the same connection."""
import http.client
import random
import statistics
import sys
import time
import urllib.parse


def price_csv(lines, bad_last=False):
    rng = random.Random(3)
    rows = ["sku,packagingUnit,price,minQuantity"]
    for n in range(lines):
        price = "x" if bad_last and n == lines - 1 else f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}"
        rows.append(f"UP-{n:07d},box,{price},{'' if n % 4 else '10'}")
    return ("\n".join(rows) + "\n").encode()


def connection(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)


def upload(url, lines):
    body = price_csv(lines)
    bad = price_csv(lines, bad_last=True)
    query = "?id=bench&currency=EUR&validFrom=2026-01-01"
    conn = connection(url)
    print(f"## a price list of {lines:,} lines ({len(body) / 1e6:.1f} MB of CSV)")
    for name, payload, status in [("bad last line (read and checked only)", bad, 422), ("upload (published and applied)", body, 201)]:
        started = time.perf_counter()
        conn.request("POST", "/suppliers/SUP-UPLOAD/price-lists" + query, body=payload, headers={"Content-Type": "text/csv"})
        response = conn.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - started
        assert response.status == status, (response.status, answer[:500])
        print(f"{name}: {elapsed:.2f} s ({lines / elapsed:,.0f} lines/s)")
        if status == 201:
            uploaded = elapsed
        else:
            checked = elapsed
    started = time.perf_counter()
    conn.request("GET", f"/items/UP-{lines - 1:07d}/offers?on=2026-06-01")
    response = conn.getresponse()
    offers = response.read()
    assert response.status == 200 and b"SUP-UPLOAD" in offers, offers[:500]
    print(f"queryable: the last line's offer read back in {1000 * (time.perf_counter() - started):.1f} ms")
    print(f"publishing and applying took {uploaded - checked:.2f} s of {uploaded:.2f} s (reading and checking {checked / uploaded:.0%})")


def latencies(conn, paths):
    times = []
    for path in paths:
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
        assert response.status == 200, path
    times.sort()
    return times


def describe(name, times):
    p = lambda q: 1000 * times[min(len(times) - 1, int(q * len(times)))]
    print(f"{name}: {len(times)} requests, p50 {p(0.5):.2f} ms, p90 {p(0.9):.2f} ms, p99 {p(0.99):.2f} ms, max {1000 * times[-1]:.2f} ms")
    return p(0.99)


def offers(url, items, requests):
    rng = random.Random(9)
    conn = connection(url)
    latencies(conn, [f"/items/SKU-{rng.randrange(items)}/offers?quantity=5" for _ in range(50)])  # warm-up
    conn.request("GET", "/items/SKU-1/offers")
    response = conn.getresponse()
    sample = response.read()
    print(f"one answer: {len(sample) / 1000:.0f} kB, {sample.count(b'supplierId') - 1} offers")
    offers_p99 = describe("GET /items/{sku}/offers?quantity=5",
                          latencies(conn, [f"/items/SKU-{rng.randrange(items)}/offers?quantity=5" for _ in range(requests)]))
    live_p99 = describe("GET /health/live (reference)", latencies(conn, ["/health/live"] * requests))
    print(f"offers p99 / health p99: {offers_p99 / live_p99:.1f}")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "upload":
        upload(sys.argv[2], int(sys.argv[3]))
    elif command == "offers":
        offers(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        raise SystemExit(__doc__)

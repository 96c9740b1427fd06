"""The suppliers service through its real topics: a generated year of purchase orders and receipts
for a few dozen suppliers, every supplier's reliability compared with an independent implementation
of domain.md (Suppliers) written here; kill -9 during ingest; a rebuilt store dumps identically;
100,000-line CSV price lists, one with a bad line."""
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import requests

from conftest import SUPPLIERS, make_producer, produce_crm_events


# ---------------------------------------------------------------- the stream

@dataclass
class Order:
    id: str
    supplier: str
    placed_at: datetime
    promised: date
    lines: dict                    # sku -> ordered quantity (Decimal)
    receipts: list = field(default_factory=list)   # (time, event id, {sku: (received, rejected)})
    cancelled: bool = False


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(suppliers=30, orders_per_supplier=40, seed=7, today=None):
    """Orders placed over the 13 months before today, each supplier with its own habits; returns
    the orders (the truth) and the ERP events in the order they are produced (receipts sometimes
    before their order, some events delivered twice)."""
    rng = random.Random(seed)
    today = today or datetime.now(UTC).date()
    orders, events = [], []
    for s in range(suppliers):
        supplier = f"sp-{s:02d}"
        late, short, reject, missing, cancel = (rng.uniform(0, 0.6), rng.uniform(0, 0.4), rng.uniform(0, 0.2),
                                                rng.uniform(0, 0.1), rng.uniform(0, 0.1))
        skus = [f"{supplier}-sku-{k}" for k in range(4)]
        for n in range(orders_per_supplier):
            placed = datetime.combine(today - timedelta(days=rng.randint(15, 410)), datetime.min.time(), UTC) \
                + timedelta(hours=rng.randint(6, 20), minutes=rng.randint(0, 59))
            promised = placed.date() + timedelta(days=rng.randint(2, 21))
            lines = {sku: Decimal(rng.choice(["1", "2.5", "10", "12", "40"])) for sku in rng.sample(skus, rng.randint(1, 3))}
            order = Order(f"{supplier}-po-{n:03d}", supplier, placed, promised, lines)
            orders.append(order)
            placed_event = {"eventId": f"{order.id}-placed", "type": "PurchaseOrderPlaced", "occurredAt": stamp(placed),
                            "purchaseOrderId": order.id, "supplierId": supplier, "promisedDate": promised.isoformat(),
                            "lines": [{"sku": k, "quantity": str(q), "price": "3.10"} for k, q in lines.items()]}
            own = []
            if rng.random() >= missing:
                arrival = promised + timedelta(days=rng.randint(1, 9) if rng.random() < late else -rng.randint(0, promised.toordinal() - placed.date().toordinal()))
                parts = rng.choice([1, 1, 1, 2, 3])
                remaining = dict(lines)
                if rng.random() < short:
                    sku = rng.choice(list(lines))
                    remaining[sku] = lines[sku] - Decimal("0.5")
                for p in range(parts):
                    when = datetime.combine(arrival + timedelta(days=p * rng.randint(0, 4)), datetime.min.time(), UTC) \
                        + timedelta(hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
                    if when < placed and rng.random() < 0.8:
                        when = placed + timedelta(hours=1)
                    received = {}
                    for sku, quantity in remaining.items():
                        part = quantity if p == parts - 1 else (quantity / parts).quantize(Decimal("0.1"))
                        rejected = part.quantize(Decimal("1")) if rng.random() < reject and part >= 1 else Decimal(0)
                        received[sku] = (part, min(rejected, Decimal(1)))
                    for sku in received:
                        remaining[sku] -= received[sku][0]
                    event_id = f"{order.id}-receipt-{p}"
                    order.receipts.append((when, event_id, received))
                    own.append({"eventId": event_id, "type": "GoodsReceived", "occurredAt": stamp(when), "purchaseOrderId": order.id,
                                "supplierId": supplier,
                                "lines": [{"sku": k, "quantity": str(r), "rejectedQuantity": str(j)} for k, (r, j) in received.items()]})
            # Sometimes a receipt reaches the CRM before its order.
            own.insert(1 if own and rng.random() < 0.1 else 0, placed_event)
            if rng.random() < cancel:
                order.cancelled = True
                own.append({"eventId": f"{order.id}-cancelled", "type": "PurchaseOrderCancelled",
                            "occurredAt": stamp(placed + timedelta(days=1)), "purchaseOrderId": order.id, "supplierId": supplier,
                            "reason": "supplier out of stock"})
            for event in own:
                events.append(event)
                if rng.random() < 0.03:
                    events.append(event)  # delivered twice
    return orders, events


def produce_purchases(bootstrap, events):
    producer = make_producer(bootstrap)
    for event in events:
        producer.produce("erp.purchases.v1", key=event["purchaseOrderId"], value=json.dumps(event))
        producer.poll(0)
    producer.flush(60)


def register_suppliers(bootstrap, count):
    produce_crm_events(bootstrap, "crm.counterparties.v1", [
        ("CounterpartyRegistered", f"sp-{s:02d}", {"id": f"sp-{s:02d}", "kind": "organization", "roles": ["supplier"],
                                                   "legalName": f"Supplier {s:02d} LLC"}) for s in range(count)])


# ---------------------------------------------------------------- the reference

def delivery(order, sku=None):
    """(delivery date, in full) per domain.md: receipts in time order; complete once accepted
    (received - rejected) reaches ordered on every line (or on `sku`'s line)."""
    skus = [sku] if sku else list(order.lines)
    accepted = {k: Decimal(0) for k in skus}
    complete_on, last = None, None
    for when, _, received in sorted(order.receipts, key=lambda r: (r[0], r[1])):
        touched = [k for k in skus if k in received]
        if sku and not touched:
            continue
        for k in touched:
            accepted[k] += received[k][0] - received[k][1]
        last = when.date()
        in_full = all(accepted[k] >= order.lines[k] for k in skus)
        if not in_full:
            complete_on = None
        elif complete_on is None:
            complete_on = when.date()
    in_full = all(accepted[k] >= order.lines[k] for k in skus)
    return (complete_on or last), in_full


def reference(orders, start, end, sku=None):
    due = [o for o in orders if not o.cancelled and start <= o.promised <= end and (sku is None or sku in o.lines)]
    n = len(due)
    on_time = in_full = otif = 0
    leads, lateness = [], []
    for o in due:
        delivered, full = delivery(o, sku)
        timely = delivered is not None and delivered <= o.promised
        on_time += timely
        in_full += full
        otif += timely and full
        if delivered is not None:
            leads.append((delivered - o.placed_at.date()).days)
            lateness.append((delivered - o.promised).days)
    if n == 0:
        return {"ordersDue": 0, "score": None, "standing": None}
    points = Fraction(50 * otif + 25 * on_time + 25 * in_full, n)
    standing = "very-poor" if points < 30 else "poor" if points < 50 else "average" if points < 80 else "excellent"
    return {"ordersDue": n, "onTimeRate": Fraction(100 * on_time, n), "inFullRate": Fraction(100 * in_full, n),
            "otifRate": Fraction(100 * otif, n), "score": points, "standing": standing,
            "meanLeadTimeDays": Fraction(sum(leads), len(leads)) if leads else None,
            "leadTimeStdDevDays": statistics.pstdev(leads) if leads else None,
            "meanLatenessDays": Fraction(sum(lateness), len(lateness)) if lateness else None}


def hundredths(value):
    return float((Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(str(value)))
                 .quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def assert_figures(got, expected, what):
    assert got["ordersDue"] == expected["ordersDue"], (what, got, expected)
    assert got["standing"] == expected["standing"], (what, got, expected)
    for name in ["onTimeRate", "inFullRate", "otifRate", "score", "meanLeadTimeDays", "meanLatenessDays", "leadTimeStdDevDays"]:
        want = expected.get(name)
        if want is None:
            assert got[name] is None, (what, name, got)
        else:
            assert abs(got[name] - hundredths(want)) < 0.0051, (what, name, got[name], hundredths(want))


def standard_window(today):
    first = today.replace(day=1)
    start = first.replace(year=first.year - 1)
    return start, first - timedelta(days=1)


def compare_all(service, orders, suppliers):
    url = service.url
    today = datetime.now(UTC).date()
    start, end = standard_window(today)
    for s in range(suppliers):
        supplier = f"sp-{s:02d}"
        mine = [o for o in orders if o.supplier == supplier]
        got = requests.get(f"{url}/suppliers/{supplier}/reliability", timeout=30).json()
        assert (got["from"], got["to"]) == (start.isoformat(), end.isoformat())
        assert_figures(got, reference(mine, start, end), supplier)
        # A window of its own: the last 100 days, both ends inclusive.
        custom = (today - timedelta(days=100), today)
        got = requests.get(f"{url}/suppliers/{supplier}/reliability",
                           params={"from": custom[0].isoformat(), "to": custom[1].isoformat()}, timeout=30).json()
        assert_figures(got, reference(mine, *custom), f"{supplier} last 100 days")
    for supplier in ["sp-00", "sp-07"]:
        mine = [o for o in orders if o.supplier == supplier]
        items = requests.get(f"{url}/suppliers/{supplier}/reliability", params={"by": "sku"}, timeout=30).json()["items"]
        skus = sorted({k for o in mine if not o.cancelled and start <= o.promised <= end for k in o.lines})
        assert [i["sku"] for i in items] == skus
        for item in items:
            assert_figures(item, reference(mine, start, end, sku=item["sku"]), f"{supplier} {item['sku']}")
    ranking = requests.get(url + "/suppliers/reliability", timeout=30).json()["items"]
    scores = [r["score"] for r in ranking if r["score"] is not None]
    assert scores == sorted(scores, reverse=True) and len(ranking) == suppliers


def wait_for_standings(service, orders, suppliers, timeout=60):
    start, end = standard_window(datetime.now(UTC).date())
    expected = {f"sp-{s:02d}": reference([o for o in orders if o.supplier == f"sp-{s:02d}"], start, end)["standing"]
                for s in range(suppliers)}
    deadline = time.time() + timeout
    while True:
        items = requests.get(service.url + "/suppliers", params={"limit": 500}, timeout=30).json()["items"]
        got = {i["id"]: i["standing"] for i in items}
        if got == expected:
            blocked = {i["id"] for i in items if i["blocked"]}
            assert blocked == {k for k, v in expected.items() if v == "very-poor"}
            return expected
        assert time.time() < deadline, f"standings {got} != {expected}"
        time.sleep(0.2)


# ---------------------------------------------------------------- the tests

def test_a_year_of_purchases_gives_every_supplier_the_reference_figures(broker, service_factory, tmp_path):
    suppliers = 30
    orders, events = generate(suppliers=suppliers)
    register_suppliers(broker.bootstrap, suppliers)
    service = service_factory(SUPPLIERS, data_dir=tmp_path / "s").start().wait_ready()
    produce_purchases(broker.bootstrap, events)
    service.wait_consumed("erp.purchases.v1", len(events))
    compare_all(service, orders, suppliers)
    standings = wait_for_standings(service, orders, suppliers)
    assert len(set(standings.values())) >= 3, f"the generated suppliers differ: {standings}"

    # A late order is open past its promised date today.
    late = [o for o in orders if not o.cancelled and o.promised < datetime.now(UTC).date() and not delivery(o)[1]]
    listed = requests.get(f"{service.url}/suppliers/{late[0].supplier}/purchase-orders", params={"state": "late", "limit": 1000},
                          timeout=30).json()["items"]
    assert {o["id"] for o in listed} == {o.id for o in late if o.supplier == late[0].supplier}

    time.sleep(1)  # the last standing changes are applied
    service.stop()
    before = service.dump()
    result = service.run_command("rebuild")
    assert result.returncode == 0, result.stderr[-2000:]
    assert service.dump() == before, "the rebuilt store dumps identically"


def test_kill_9_during_ingest_loses_and_double_counts_nothing(broker, service_factory, tmp_path):
    suppliers = 24
    orders, events = generate(suppliers=suppliers, orders_per_supplier=400, seed=11)
    register_suppliers(broker.bootstrap, suppliers)
    produce_purchases(broker.bootstrap, events)
    data_dir = tmp_path / "s"
    service = service_factory(SUPPLIERS, data_dir=data_dir).start().wait_live()
    kills = 0
    for fraction in (0.2, 0.5, 0.8):
        deadline = time.time() + 120
        while True:
            try:
                done = sum(o for (t, _), o in service.stored_offsets().items() if t == "erp.purchases.v1")
            except Exception:
                done = 0
            if done >= fraction * len(events):
                break
            assert time.time() < deadline and service.proc.poll() is None, service.log_tail()
            time.sleep(0.01)
        if done < len(events):
            service.kill()
            kills += 1
            service = service_factory(SUPPLIERS, data_dir=data_dir).start().wait_live()
    assert kills >= 1, "the ingest was over before the first kill"
    service.wait_ready()
    service.wait_consumed("erp.purchases.v1", len(events))
    compare_all(service, orders, suppliers)
    wait_for_standings(service, orders, suppliers)


def price_csv(lines, bad_line=None, delimiter=","):
    rng = random.Random(5)
    rows = [delimiter.join(["sku", "packagingUnit", "price", "minQuantity"])]
    for n in range(1, lines + 1):
        price = f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}"
        if n + 1 == bad_line:
            price = "twelve"
        rows.append(delimiter.join([f"SKU-{n:06d}", "box" if n % 3 else "", price, "" if n % 5 else "10"]))
    return "\n".join(rows) + "\n"


def test_a_100000_line_csv_price_list_is_an_ordinary_upload_and_a_bad_line_stops_it(broker, service_factory, tmp_path):
    register_suppliers(broker.bootstrap, 2)
    service = service_factory(SUPPLIERS, data_dir=tmp_path / "s").start().wait_ready()
    service.wait_consumed("crm.counterparties.v1", 2)
    url = service.url
    body = price_csv(100_000, delimiter=";")
    response = requests.post(url + "/suppliers/sp-00/price-lists", params={"id": "full", "currency": "EUR", "validFrom": "2026-01-01"},
                             data=body.encode(), headers={"Content-Type": "text/csv"}, timeout=300)
    assert response.status_code == 201, response.text[:2000]
    assert response.json()["lines"] == 100_000
    shown = requests.get(url + "/suppliers/sp-00/price-lists/full", headers={"Accept": "text/csv"}, timeout=120)
    lines = shown.text.split("\r\n")
    assert len(lines) == 100_002 and lines[77_777].startswith("SKU-077777,")
    expected_price = body.splitlines()[77_777].split(";")[2]
    offers = requests.get(url + "/items/SKU-077777/offers", params={"on": "2026-06-01"}, timeout=30).json()["offers"]
    assert [(o["supplierId"], Decimal(o["price"])) for o in offers] == [("sp-00", Decimal(expected_price))]

    bad = price_csv(100_000, bad_line=54_321)
    refused = requests.post(url + "/suppliers/sp-01/price-lists", params={"id": "broken", "currency": "EUR", "validFrom": "2026-01-01"},
                            data=bad.encode(), headers={"Content-Type": "text/csv"}, timeout=300)
    assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["errors"] == [{"line": 54_321, "detail": "price must be a decimal number (got 'twelve')"}], problem
    assert requests.get(url + "/suppliers/sp-01/price-lists/broken", timeout=30).status_code == 404
    assert requests.get(url + "/suppliers/sp-01/price-lists", timeout=30).json()["items"] == []

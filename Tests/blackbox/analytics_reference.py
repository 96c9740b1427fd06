"""An independent implementation of the classification of `shared/reference/domain.md`, and a
generated ERP order stream to feed both it and the analytics service.

Written from the definitions, not from the service's code: exact decimals throughout, the window
as the N complete calendar periods before the as-of date's, ABC by cumulative share before each
client (ties by client id), statuses by sales in the window, XYZ by the population coefficient of
variation of the per-period measure.
"""
import datetime as dt
import json
import random
from decimal import Decimal, getcontext

from conftest import produce_all

getcontext().prec = 80


def month_index(day):
    return day.year * 12 + day.month - 1


def period_index(day, kind):
    if kind == "month":
        return month_index(day)
    if kind == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    monday = day - dt.timedelta(days=day.weekday())
    return (monday - dt.date(1969, 12, 29)).days // 7


def window(as_of, kind, periods):
    current = period_index(as_of, kind)
    return current - periods, current


class Order:
    def __init__(self, order_id, customer):
        self.id = order_id
        self.customer = customer
        self.state = "new"
        self.revenue = Decimal(0)
        self.cost = Decimal(0)
        self.completed_on = None


def amounts(lines):
    revenue = sum((Decimal(l["quantity"]) * Decimal(l["price"]) for l in lines), Decimal(0))
    cost = sum((Decimal(l["quantity"]) * Decimal(l["cost"]) for l in lines if "cost" in l), Decimal(0))
    return revenue, cost


def apply_orders(events):
    """The orders' final states from their events (redeliveries by eventId ignored)."""
    seen = set()
    orders = {}
    for event in events:
        if event["eventId"] in seen:
            continue
        seen.add(event["eventId"])
        order = orders.setdefault(event["orderId"], Order(event["orderId"], event["customerId"]))
        if "lines" in event:
            order.revenue, order.cost = amounts(event["lines"])
        day = dt.date.fromisoformat(event["occurredAt"][:10])
        if event["type"] == "OrderPlaced":
            order.state = "placed"
        elif event["type"] == "OrderCompleted":
            order.state = "completed"
            order.completed_on = day
        elif event["type"] == "OrderCancelled":
            order.state = "reversed" if order.state == "completed" else "cancelled"
    return orders


def classify(orders, known_clients, as_of, measure="revenue", kind="month", periods=12, one_time_max=1,
             abc_cuts=(80, 95), xyz_cuts=(10, 25)):
    first, end = window(as_of, kind, periods)
    clients = {c: {"values": [Decimal(0)] * periods, "sales": 0, "before": False} for c in known_clients}
    for order in orders.values():
        clients.setdefault(order.customer, {"values": [Decimal(0)] * periods, "sales": 0, "before": False})
        if order.state != "completed":
            continue
        index = period_index(order.completed_on, kind)
        if index < first:
            clients[order.customer]["before"] = True
        elif index < end:
            value = order.revenue if measure == "revenue" else order.revenue - order.cost
            clients[order.customer]["values"][index - first] += value
            clients[order.customer]["sales"] += 1
    result = {}
    measures = {c: sum(v["values"], Decimal(0)) for c, v in clients.items()}
    ranked = sorted((c for c in clients if measures[c] > 0), key=lambda c: (-measures[c], c.encode()))
    total = sum((measures[c] for c in ranked), Decimal(0))
    before = Decimal(0)
    abc = {}
    for c in ranked:
        share_before = before * 100
        abc[c] = "A" if share_before < abc_cuts[0] * total else "B" if share_before < abc_cuts[1] * total else "C"
        before += measures[c]
    for c, data in clients.items():
        n = data["sales"]
        status = ("lost" if data["before"] else "potential") if n == 0 else "one-time" if n <= one_time_max else "regular"
        xyz = None
        if status == "regular":
            values = data["values"]
            s = sum(values, Decimal(0))
            if s > 0:
                q = sum((v * v for v in values), Decimal(0))
                spread = (len(values) * q - s * s) * 10000
                xyz = "X" if spread <= xyz_cuts[0] ** 2 * s * s else "Y" if spread <= xyz_cuts[1] ** 2 * s * s else "Z"
        result[c] = {"abcClass": abc.get(c), "xyzClass": xyz, "status": status, "measure": measures[c], "sales": n}
    return result


def generate(clients=3000, seed=20261205, start=dt.date(2024, 11, 1), end=dt.date(2026, 11, 14)):
    """ERP order events for `clients` customers over the months from `start` to `end`, in time
    order (each order's events in lifecycle order), with the ERP's impoliteness: redelivered
    events, orders cancelled before and after completion, lines replaced on completion, amounts
    as numbers or strings."""
    rng = random.Random(seed)
    days = (end - start).days
    events = []
    counter = 0

    def stamp(day, seconds):
        return (dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def lines():
        out = []
        for k in range(rng.randint(1, 3)):
            quantity = f"{rng.randint(1, 50)}.{rng.randint(0, 999):03d}" if rng.random() < 0.3 else rng.randint(1, 20)
            price = f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}"
            line = {"sku": f"SKU-{rng.randint(1, 300)}", "quantity": quantity, "price": price}
            if rng.random() < 0.9:
                line["cost"] = str((Decimal(price) * Decimal(rng.randint(40, 95)) / 100).quantize(Decimal("0.01")))
            out.append(line)
        return out

    for c in range(clients):
        customer = f"CL-{c:05d}"
        profile = rng.random()
        if profile < 0.5:  # regular-ish: buys in many periods
            orders = rng.randint(6, 30)
            span = (0, days)
        elif profile < 0.7:  # a few purchases
            orders = rng.randint(1, 3)
            span = (0, days)
        elif profile < 0.85:  # bought only long ago
            orders = rng.randint(1, 4)
            span = (0, 300)
        else:  # bursty: several in a few months
            orders = rng.randint(2, 8)
            begin = rng.randint(0, days - 90)
            span = (begin, begin + 90)
        manager = f"M-{rng.randint(1, 20):02d}"
        for _ in range(orders):
            counter += 1
            order_id = f"ORD-{counter:07d}"
            day = start + dt.timedelta(days=rng.randint(*span))
            t = rng.randint(0, 20000)
            base = {"orderId": order_id, "customerId": customer, "managerId": manager, "currency": "RUB"}
            events.append((day, t, {**base, "eventId": f"{order_id}-p", "type": "OrderPlaced",
                                    "occurredAt": stamp(day, t), "lines": lines()}))
            fate = rng.random()
            close_day = min(end, day + dt.timedelta(days=rng.randint(0, 20)))
            if fate < 0.07:
                events.append((close_day, t + 40000, {**base, "eventId": f"{order_id}-x", "type": "OrderCancelled",
                                                       "occurredAt": stamp(close_day, t + 40000),
                                                       "reason": rng.choice(["price", "delivery time", "out of stock"])}))
                continue
            completed = {**base, "eventId": f"{order_id}-c", "type": "OrderCompleted", "occurredAt": stamp(close_day, t + 40000)}
            if rng.random() < 0.1:
                completed["lines"] = lines()  # the order changed before it was completed
            events.append((close_day, t + 40000, completed))
            if rng.random() < 0.03:  # the ERP redelivers the completion later
                events.append((close_day + dt.timedelta(days=rng.randint(0, 30)), 80000, dict(completed)))
            if fate > 0.98:  # returned after completion
                later = close_day + dt.timedelta(days=rng.randint(1, 10))
                events.append((later, 82000, {**base, "eventId": f"{order_id}-r", "type": "OrderCancelled",
                                              "occurredAt": stamp(later, 82000), "reason": "returned"}))
    events.sort(key=lambda e: (e[0], e[1], e[2]["orderId"], e[2]["eventId"]))
    # A redelivery sorted before its order's cancellation would still be in lifecycle order; one
    # after it is a plain duplicate the service must ignore, as the reference does.
    return [e[2] for e in events]


def produce_orders(producer, events):
    """The ERP's records: plain JSON keyed by order id."""
    produce_all(producer, "erp.orders.v1", ((e["orderId"], json.dumps(e), None) for e in events))

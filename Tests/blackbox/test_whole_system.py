"""A day in the company, end to end, with all five services on one broker: ERP orders turn a client
from A to C; the analytics publishes the change; the deals service publishes the client's new sales
conditions for the ERP; the scheduler reminds the responsible manager on its topic and at a
webhook; the manager plans a call and completes it; the call joins the client's timeline in
contacts and counts on the manager's scorecard with the orders. Midway the deals service and the
scheduler are killed with kill -9 and restarted: the outputs converge, with no reminder id twice
and no condition lost. `crmctl status` sees the five of them."""
import datetime as dt
import json
import subprocess
import time
import uuid

import requests
from confluent_kafka import Consumer, TopicPartition

from conftest import BIN, REPO, SERVICES, make_producer, produce_all
from test_scheduler import Receiver, scheduler_env

RULES = {
    "rules": [
        {"match": {"abcClass": "A"}, "conditions": {"priceType": "wholesale", "discountPercent": "7.5", "deferralDays": 30}},
        {"match": {"abcClass": "C"}, "conditions": {"priceType": "retail", "prepaymentPercent": "100"}},
    ],
    "default": {"priceType": "retail", "prepaymentPercent": "50"},
}
OTHERS = [f"C-B{n}" for n in range(1, 6)]


class TopicReader:
    """Every record of a topic from the start, as an independent downstream consumer reads it."""

    def __init__(self, bootstrap, topic):
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4()}", "enable.auto.commit": False})
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        self.records = []

    def wait_for(self, predicate, what, timeout=90):
        deadline = time.time() + timeout
        while True:
            for message in self.consumer.consume(1000, 0.3):
                assert message.error() is None, message.error()
                self.records.append((message.key().decode(), json.loads(message.value())))
            if predicate(self.records):
                return self.records
            assert time.time() < deadline, f"timed out waiting for {what}; got {self.records[-5:]}"

    def settle(self, seconds=2.0):
        """Everything that arrives within `seconds` more."""
        end = time.time() + seconds
        while time.time() < end:
            for message in self.consumer.consume(1000, 0.2):
                self.records.append((message.key().decode(), json.loads(message.value())))
        return self.records

    def close(self):
        self.consumer.close()


def month_start(day, months_back):
    year, month = day.year, day.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.date(year, month, 1)


def order_events(order_id, customer, day, amount):
    at = f"{day.isoformat()}T10:00:00Z"
    line = {"sku": "STEEL-1", "quantity": "1", "price": str(amount), "cost": str(amount * 3 // 4)}
    placed = {"eventId": f"{order_id}/p", "type": "OrderPlaced", "occurredAt": at, "orderId": order_id, "customerId": customer,
              "managerId": "S-7", "currency": "RUB", "lines": [line]}
    completed = {"eventId": f"{order_id}/c", "type": "OrderCompleted", "occurredAt": at, "orderId": order_id, "customerId": customer}
    return [(order_id, json.dumps(placed), None), (order_id, json.dumps(completed), None)]


def post(service, path, body, expected=201):
    response = requests.post(service.url + path, json=body, timeout=30)
    assert response.status_code == expected, f"{path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def eventually(check, what, timeout=90):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def latest_conditions(records):
    latest = {}
    for key, data in records:
        latest[key] = data
    return latest


def test_a_day_in_the_company(broker, service_factory, tmp_path):
    today = dt.datetime.now(dt.timezone.utc).date()
    receiver = Receiver()
    env = {"scheduler": scheduler_env()}
    services = {name: service_factory(spec, data_dir=tmp_path / name, env=env.get(name)).start() for name, spec in SERVICES.items()}
    for service in services.values():
        service.wait_ready()
    contacts, deals, scheduler, analytics = (services[n] for n in ("contacts", "deals", "scheduler", "analytics"))
    conditions = TopicReader(broker.bootstrap, "crm.sales-conditions.v1")
    reminders = TopicReader(broker.bootstrap, "crm.reminders.v1")
    try:
        # The company: a supervisor, a manager, the client X and five other clients.
        post(contacts, "/staff", {"id": "S-1", "name": "Olga Head", "timeZone": "UTC"})
        post(contacts, "/staff", {"id": "S-7", "name": "Ivan Sales", "supervisorId": "S-1", "timeZone": "UTC"})
        for client in ["C-X"] + OTHERS:
            post(contacts, "/counterparties", {"id": client, "kind": "organization", "roles": ["customer"], "legalName": f"OOO {client}",
                                               "responsibleManagerId": "S-7"})
        hook = post(scheduler, "/webhooks", {"url": receiver.url("/crm"), "kinds": ["client-downgraded"]})
        # The deals service learns the staff and clients from contacts' topics before it takes rules.
        eventually(lambda: requests.put(deals.url + "/sales-conditions/rules", json=RULES, timeout=30).status_code == 200,
                   "the deals service to take the rules")

        # Twelve months ago to two months ago X buys 100,000 a month, the others 1,000: X is A.
        producer = make_producer(broker.bootstrap)
        records = []
        for months_back in range(13, 1, -1):
            day = month_start(today, months_back) + dt.timedelta(days=9)
            records += order_events(f"X-{months_back}", "C-X", day, 100_000)
            records += [r for client in OTHERS for r in order_events(f"{client}-{months_back}", client, day, 1_000)]
        # Last month the others buy 5,000,000 each: against that, X is C.
        last_month = month_start(today, 1) + dt.timedelta(days=9)
        records += [r for client in OTHERS for r in order_events(f"{client}-big", client, last_month, 5_000_000)]
        produce_all(producer, "erp.orders.v1", records)
        volume_from = month_start(today, 13).isoformat()
        eventually(lambda: sum(i["completedOrders"] for i in requests.get(
            analytics.url + f"/orders/volume?from={volume_from}&to={today.isoformat()}", timeout=30).json()["items"]) == len(records) // 2,
            "the analytics to apply every order")

        # Run 1, as of the first day of last month: X is A, and its conditions are the A rule's.
        first = post(analytics, "/classification-runs", {"asOf": month_start(today, 1).isoformat(), "publish": True})
        x_first = requests.get(analytics.url + f"/classification-runs/{first['id']}/clients?limit=50", timeout=30).json()["items"]
        assert {c["clientId"]: c["abcClass"] for c in x_first}["C-X"] == "A"
        conditions.wait_for(lambda r: latest_conditions(r).get("C-X", {}).get("priceType") == "wholesale",
                            "X's A conditions")

        # Run 2, today: X drops to C. Midway, the deals service and the scheduler die and come back.
        second = post(analytics, "/classification-runs", {"asOf": today.isoformat(), "publish": True})
        transitions = requests.get(analytics.url + f"/classification-runs/{second['id']}/transitions", timeout=30).json()
        assert [t["abcClass"] for t in transitions["items"] if t["clientId"] == "C-X"] == ["C"], transitions
        deals.kill()
        scheduler.kill()
        deals = service_factory(SERVICES["deals"], data_dir=tmp_path / "deals").start().wait_ready()
        scheduler = service_factory(SERVICES["scheduler"], data_dir=tmp_path / "scheduler", env=env["scheduler"]).start().wait_ready()

        # The ERP reads X's new conditions; the manager is reminded on the topic and at the webhook.
        conditions.wait_for(lambda r: latest_conditions(r).get("C-X", {}).get("priceType") == "retail"
                            and latest_conditions(r)["C-X"].get("prepaymentPercent") == "100",
                            "X's C conditions")
        downgrade = lambda r: [d for _, d in r if d.get("kind") == "client-downgraded" and d.get("counterpartyId") == "C-X"]
        reminders.wait_for(lambda r: downgrade(r), "the downgrade reminder")
        assert downgrade(reminders.records)[0]["recipientId"] == "S-7"
        eventually(lambda: any(json.loads(body).get("counterpartyId") == "C-X" for _, body in receiver.at("/crm")),
                   "the webhook delivery")
        shown = requests.get(deals.url + "/clients/C-X/sales-conditions", timeout=30).json()
        assert shown["rank"]["abcClass"] == "C" and shown["conditions"]["priceType"] == "retail"

        # The manager plans a call with X, makes it and completes it.
        starts = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(minutes=5)
        post(scheduler, "/activities", {"id": "CALL-X", "kind": "call", "ownerId": "S-7", "counterpartyId": "C-X",
                                        "subject": "Why fewer orders?", "startsAt": starts.isoformat().replace("+00:00", "Z")})
        post(scheduler, "/activities/CALL-X/complete", {"outcome": "new project in spring"}, expected=200)
        timeline = eventually(lambda: [i for i in requests.get(contacts.url + "/counterparties/C-X/interactions", timeout=30).json()["items"]
                                       if i["id"] == "activity:CALL-X"], "the call in X's timeline")
        assert timeline[0]["staffId"] == "S-7" and timeline[0]["outcome"] == "new project in spring"

        # The scorecard of S-7 from a year ago to today: the call and the orders.
        period = f"from={month_start(today, 13).isoformat()}&to={today.isoformat()}&managerId=S-7"
        card = eventually(lambda: [m for m in requests.get(analytics.url + f"/managers/scorecard?{period}", timeout=30).json()["items"]
                                   if m["managerId"] == "S-7" and m["contactsWithBuyers"] >= 1], "the call on the scorecard")[0]
        assert card["ordersFulfilled"] == len(records) // 2

        # Converged: every classified client has its conditions; no reminder id twice.
        final = latest_conditions(conditions.settle(3))
        assert set(final) >= {"C-X", *OTHERS}
        for client in OTHERS:
            assert final[client]["abcClass"] in ("A", "B") and final[client]["ruleIndex"] != 1, (client, final[client])
        ids = [d["id"] for _, d in reminders.settle(2)]
        assert len(ids) == len(set(ids)), "a reminder id was published twice"
        assert len({json.loads(body)["id"] for _, body in receiver.at("/crm")}) == len(downgrade(reminders.records))

        # The operator's view: five services, each ready, with its lag per topic.
        env_ports = {f"CRM_{name.upper()}_PORT": str(s.port) for name, s in
                     {"contacts": contacts, "suppliers": services["suppliers"], "deals": deals, "scheduler": scheduler,
                      "analytics": analytics}.items()}
        status = subprocess.run([str(BIN / "crmctl"), "status", "--json"], capture_output=True, text=True, timeout=60,
                                env={**env_ports, "PATH": "/usr/bin:/bin"})
        assert status.returncode == 0, status.stdout + status.stderr
        report = json.loads(status.stdout)
        assert set(report) == set(SERVICES) and all(s["ready"] and s["storeBytes"] > 0 for s in report.values())
        assert "erp.orders.v1" in report["deals"]["lag"]
        assert hook["id"]
    finally:
        conditions.close()
        reminders.close()
        receiver.close()

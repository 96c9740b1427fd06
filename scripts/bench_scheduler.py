"""The scheduler's benchmark, run by scripts/bench-scheduler against a dev broker and a started
crm-scheduler. Usage: bench_scheduler.py seed BROKERS REMINDERS PEOPLE ACTIVITIES DELAY | measure BROKERS URL REMINDERS DUE

seed: staff (a supervisor over PEOPLE people, through team leads), a counterparty per person, a week
of ACTIVITIES activities spread over them (some done, some cancelled), and REMINDERS calls whose
upcoming reminders all fall due at one instant DELAY seconds from now (printed), as the scheduler
itself would have published them on crm.activities.v1.
measure: waits for every reminder on crm.reminders.v1; prints how late each was sent (sentAt, by the
service) and received (by this consumer) after the due moment; then GET /staff/boss/team-plan for
the week (with every item, and counts only), and GET /staff/{id}/plan of one person as the reference."""
import http.client
import json
import random
import sys
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

from confluent_kafka import Consumer, Producer

UTC = timezone.utc
WEEK = datetime(2027, 3, 1, tzinfo=UTC)  # a Monday ahead, so that none of it falls due during the run


def rfc3339(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def headers(event_type):
    return [("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()), ("ce_type", event_type.encode()),
            ("ce_source", b"bench"), ("ce_time", rfc3339(datetime.now(UTC)).encode()), ("ce_actor", b"bench"),
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


def people(count):
    leads = [f"lead-{i}" for i in range(max(1, count // 20))]
    reps = [f"rep-{i}" for i in range(count - len(leads))]
    return leads, reps


def seed(brokers, reminders, count, activities, delay):
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=delay)
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 50, "compression.type": "lz4", "enable.idempotence": True})
    leads, reps = people(count)
    staff = [("boss", "StaffMemberRegistered", {"id": "boss", "name": "Boss", "timeZone": "Europe/Moscow"})]
    staff += [(lead, "StaffMemberRegistered", {"id": lead, "name": lead, "supervisorId": "boss", "timeZone": "Europe/Moscow"})
              for lead in leads]
    staff += [(rep, "StaffMemberRegistered", {"id": rep, "name": rep, "supervisorId": leads[i % len(leads)],
                                             "timeZone": "Asia/Yekaterinburg"}) for i, rep in enumerate(reps)]
    produce(producer, "crm.staff.v1", staff)
    members = leads + reps
    produce(producer, "crm.counterparties.v1", [
        (f"cp-{m}", "CounterpartyRegistered", {"id": f"cp-{m}", "kind": "organization", "legalName": f"Client of {m}",
                                               "responsibleManagerId": m}) for m in members])
    rng = random.Random(5)
    events = []
    for i in range(activities):
        owner = members[i % len(members)]
        start = WEEK + timedelta(minutes=rng.randrange(0, 7 * 24 * 60, 15))
        activity = {"id": f"W-{i}", "kind": rng.choice(["call", "meeting", "email", "visit", "task"]), "ownerId": owner,
                    "counterpartyId": f"cp-{owner}", "subject": f"Work item {i}", "startsAt": rfc3339(start),
                    "endsAt": rfc3339(start + timedelta(minutes=30))}
        events.append((activity["id"], "ActivityPlanned", activity))
        roll = rng.random()
        if roll < 0.5:
            events.append((activity["id"], "ActivityCompleted", {"id": activity["id"], "outcome": "done", "activity": activity,
                                                                  "completedAt": rfc3339(start + timedelta(minutes=rng.choice([10, 40])))}))
        elif roll < 0.6:
            events.append((activity["id"], "ActivityCancelled", {"id": activity["id"], "reason": "moved"}))
    for i in range(reminders):
        owner = members[i % len(members)]
        events.append((f"R-{i}", "ActivityPlanned", {"id": f"R-{i}", "kind": "call", "ownerId": owner, "counterpartyId": f"cp-{owner}",
                                                     "subject": f"Reminder probe {i}", "startsAt": rfc3339(due + timedelta(minutes=1)),
                                                     "remindMinutesBefore": 1}))
    produce(producer, "crm.activities.v1", events)
    print(rfc3339(due))


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def summary(values, unit=1000, suffix="ms"):
    return (f"p50 {percentile(values, 50) * unit:.0f} {suffix}, p99 {percentile(values, 99) * unit:.0f} {suffix}, "
            f"max {max(values) * unit:.0f} {suffix}")


def measure(brokers, base, reminders, due_text):
    due = datetime.fromisoformat(due_text.replace("Z", "+00:00"))
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"bench-{uuid.uuid4()}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe(["crm.reminders.v1"])
    sent_late, received_late, seen = [], [], set()
    deadline = time.time() + max(120, due.timestamp() - time.time() + 120)
    while len(seen) < reminders and time.time() < deadline:
        message = consumer.poll(0.2)
        if message is None or message.error():
            continue
        now = time.time()
        reminder = json.loads(message.value())
        if reminder["kind"] != "activity-upcoming" or not reminder["activityId"].startswith("R-") or reminder["id"] in seen:
            continue
        seen.add(reminder["id"])
        sent_at = datetime.fromisoformat(reminder["sentAt"].replace("Z", "+00:00"))
        sent_late.append((sent_at - due).total_seconds())
        received_late.append(now - due.timestamp())
    consumer.close()
    assert len(seen) == reminders, f"only {len(seen)} of {reminders} reminders arrived"
    print(f"{reminders} reminders due at one instant: sent after the due moment {summary(sent_late)}; "
          f"received by a consumer {summary(received_late)}")

    url = urllib.parse.urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def timed(path, runs):
        latencies, size = [], 0
        for _ in range(runs):
            start = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            latencies.append(time.perf_counter() - start)
            assert response.status == 200, body[:500]
            size = len(body)
        return latencies, size

    week = "from=2027-03-01&to=2027-03-07"
    timed(f"/staff/boss/team-plan?{week}", 5)
    team, size = timed(f"/staff/boss/team-plan?{week}", 200)
    one, one_size = timed(f"/staff/rep-0/plan?{week}", 200)
    counts, _ = timed(f"/staff/boss/team-plan?{week}&items=false", 200)
    print(f"GET team-plan (every activity of the team in the week, {size / 1e6:.1f} MB): {summary(team)}")
    print(f"GET team-plan?items=false (each member's counts only): {summary(counts)}")
    print(f"reference, GET plan of one person ({one_size / 1e3:.0f} kB): {summary(one)}; "
          f"team-plan p99 / plan p99 = {percentile(team, 99) / percentile(one, 99):.0f}")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "seed":
        seed(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    else:
        measure(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])

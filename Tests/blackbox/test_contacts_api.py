"""The contacts service end to end: staff, counterparties with duplicate checks, contact persons,
interactions, search, merge and undo, completeness; then a rebuild from the three topics gives an
identical canonical dump."""
import requests


def call(service, method, path, body=None, **params):
    return requests.request(method, service.url + path, json=body, params=params or None, timeout=30)


def ok(response, status=200):
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


def problem(response, status, text=None):
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    if text:
        assert text in body["detail"], body["detail"]
    return body


def ids(response):
    return [item["id"] for item in ok(response)["items"]]


def test_a_sales_team_day_then_rebuild(service_factory):
    service = service_factory().start().wait_ready()
    ok(call(service, "POST", "/staff", {"id": "head", "name": "Head of Sales", "timeZone": "Europe/Moscow"}), 201)
    ok(call(service, "POST", "/staff", {"id": "anna", "name": "Anna", "supervisorId": "head", "email": "anna@example.com"}), 201)
    problem(call(service, "PATCH", "/staff/head", {"supervisorId": "anna"}), 422, "cycle")

    acme = ok(call(service, "POST", "/counterparties", {
        "id": "acme", "kind": "organization", "roles": ["customer"], "legalName": "Acme Trading LLC", "taxId": "7701234567",
        "addresses": {"legal": "Moscow, Tverskaya 1"}, "phones": ["+7 (495) 123-45-67"], "emails": ["info@acme.example"],
        "responsibleManagerId": "anna", "source": "exhibition-2026"}), 201)
    assert acme["completeness"] == 67
    dup = problem(call(service, "POST", "/counterparties", {"kind": "organization", "legalName": "Acme again", "phones": ["84951234567"]}), 409)
    assert dup["existingId"] == "acme"
    ok(call(service, "POST", "/counterparties?allowDuplicates=true", {"id": "acme-2", "kind": "organization", "legalName": "ACME Trading",
                                                                      "phones": ["495 123 45 67"], "notes": "branch"}), 201)
    groups = ok(call(service, "GET", "/counterparties/duplicates"))["items"]
    assert {"reason": "phone", "value": "74951234567", "counterpartyIds": ["acme", "acme-2"]} in groups

    person = ok(call(service, "POST", "/counterparties/acme-2/contact-persons",
                     {"id": "boris", "name": "Boris Buyer", "phones": ["+7 916 111-22-33"], "birthday": "1980-05-17"}), 201)
    assert person["counterpartyId"] == "acme-2"
    problem(call(service, "POST", "/counterparties/acme/contact-persons", {"name": "No birthday", "birthday": "13-01"}), 422, "birthday")
    ok(call(service, "POST", "/counterparties/acme-2/interactions",
            {"id": "call-1", "kind": "call", "direction": "inbound", "occurredAt": "2026-11-02T10:00:00Z", "contactPersonId": "boris",
             "staffId": "anna", "subject": "prices", "durationMinutes": 12}), 201)
    ok(call(service, "POST", "/counterparties/acme/interactions",
            {"id": "visit-1", "kind": "visit", "occurredAt": "2026-11-05T08:00:00Z", "staffId": "anna", "outcome": "order promised"}), 201)

    assert ids(call(service, "GET", "/counterparties", q="8 916 1112233")) == ["acme-2"]
    assert ids(call(service, "GET", "/counterparties", q="+7 495 1234567")) == ["acme", "acme-2"]

    merged = ok(call(service, "POST", "/counterparties/acme/merges", {"mergedId": "acme-2"}))
    assert merged == {"survivorId": "acme", "mergedIds": ["acme-2"]}
    assert ok(call(service, "GET", "/counterparties/acme-2"))["id"] == "acme"
    assert ids(call(service, "GET", "/counterparties/acme/contact-persons")) == ["boris"]
    assert ids(call(service, "GET", "/counterparties/acme/interactions")) == ["visit-1", "call-1"]
    assert ids(call(service, "GET", "/counterparties/acme/interactions", kind="call")) == ["call-1"]
    assert ok(call(service, "GET", "/counterparties/acme"))["completeness"] == 100
    report = ok(call(service, "GET", "/staff/anna/completeness"))
    assert report["counterparties"] == 1 and report["completeness"] == 100

    ok(call(service, "DELETE", "/counterparties/acme/merges/acme-2"))
    assert ids(call(service, "GET", "/counterparties/acme/contact-persons")) == []
    assert ok(call(service, "GET", "/counterparties/acme"))["completeness"] == 67
    ok(call(service, "POST", "/counterparties/acme/merges", {"mergedId": "acme-2"}))  # and merged again, for the dump

    ok(call(service, "PATCH", "/counterparties/acme/contact-persons/boris", {"position": "chief buyer"}))
    ok(call(service, "PUT", "/interactions/visit-1", {"kind": "meeting", "occurredAt": "2026-11-05T08:00:00Z", "outcome": "order signed"}))
    problem(call(service, "GET", "/counterparties/acme/interactions", **{"from": "last week"}), 400)

    original = service.dump()
    assert original.count("\n") == 2 + 1 + 2 + 2  # counterparties, person, staff, interactions
    service.stop()
    service.store.unlink()
    rebuilt = service_factory().start().wait_ready()
    assert rebuilt.dump() == original, "a rebuild from the three topics gives the same store"
    assert ok(call(rebuilt, "GET", "/counterparties/acme-2"))["id"] == "acme"


def test_crmctl_import_streams_a_file_and_reports_bad_rows(service_factory, tmp_path):
    import subprocess
    from conftest import BIN
    service = service_factory().start().wait_ready()
    rows = ["id;kind;legalName;phones;emails"]
    rows += [f"IMP{i:05d};organization;Imported {i};+7 901 {i:07d};" for i in range(3000)]
    rows.insert(101, "BAD1;organization;;;")                                  # line 102: no legal name
    rows.insert(2001, "BAD2;organization;Dup;+7 901 0000001;")                # line 2002: IMP00001's phone
    rows.append('BAD3;organization;"Unclosed quote;;')                       # the last line
    csv = tmp_path / "counterparties.csv"
    csv.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))

    result = subprocess.run([str(BIN / "crmctl"), "import", str(csv), "--url", service.url],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("imported 3000, failed 3"), result.stdout
    assert any(line.startswith("line 102 (BAD1): legalName") for line in lines), result.stdout
    assert any(line.startswith("line 2002 (BAD2):") and "earlier in the file" in line for line in lines), result.stdout
    assert "sent 100.0%" in result.stderr, result.stderr
    assert ok(call(service, "GET", "/counterparties/IMP02999"))["legalName"] == "Imported 2999"
    assert ok(call(service, "GET", "/counterparties", q="+7 901 0002999"))["items"][0]["id"] == "IMP02999"

"""The contacts operations the sales-day test does not walk through, against the running executable:
editing with If-Match, archive and unarchive, removing a contact person, vCard out and in, the CSV
export (escaped against formula injection) and one client's complete JSON export."""
import requests

from test_contacts_api import call, ids, ok, problem


def test_edit_archive_persons_vcard_and_exports(service_factory):
    service = service_factory().start().wait_ready()
    ok(call(service, "POST", "/staff", {"id": "mgr", "name": "Maria Manager"}), 201)
    ok(call(service, "PUT", "/staff/mgr", {"name": "Maria Manager", "role": "key accounts", "timeZone": "Europe/Berlin"}))
    assert ids(call(service, "GET", "/staff")) == ["mgr"]

    ok(call(service, "POST", "/counterparties", {"id": "vega", "kind": "organization", "roles": ["customer"],
                                                 "legalName": "Vega Foods", "notes": "=HYPERLINK(\"http://evil\")"}), 201)
    patched = requests.patch(service.url + "/counterparties/vega", json={"taxId": "5009876543", "responsibleManagerId": "mgr"},
                             headers={"If-Match": '"1"'}, timeout=30)
    assert ok(patched)["version"] == 2 and patched.headers["etag"] == '"2"'
    stale = requests.patch(service.url + "/counterparties/vega", json={"notes": "lost update"}, headers={"If-Match": '"1"'}, timeout=30)
    problem(stale, 412)
    replaced = ok(call(service, "PUT", "/counterparties/vega", {"kind": "organization", "roles": ["customer", "supplier"],
                                                               "legalName": "Vega Foods", "taxId": "5009876543",
                                                               "responsibleManagerId": "mgr", "notes": "=HYPERLINK(\"http://evil\")"}))
    assert replaced["roles"] == ["customer", "supplier"] and replaced["version"] == 3

    ok(call(service, "POST", "/counterparties/vega/archive"))
    assert "vega" not in ids(call(service, "GET", "/counterparties"))
    assert ids(call(service, "GET", "/counterparties", archived="true")) == ["vega"]
    assert ok(call(service, "POST", "/counterparties/vega/unarchive"))["archived"] is False
    assert ids(call(service, "GET", "/counterparties", role="supplier")) == ["vega"]

    ok(call(service, "POST", "/counterparties/vega/contact-persons", {"id": "ivan", "name": "Ivan Petrov", "emails": ["ivan@vega.example"]}), 201)
    ok(call(service, "POST", "/counterparties/vega/contact-persons", {"id": "olga", "name": "Olga Sidorova"}), 201)
    assert requests.delete(service.url + "/counterparties/vega/contact-persons/olga", timeout=30).status_code in (200, 204)
    assert ids(call(service, "GET", "/counterparties/vega/contact-persons")) == ["ivan"]

    card = requests.get(service.url + "/counterparties/vega/contact-persons.vcf", params={"version": "3.0"}, timeout=30)
    assert card.status_code == 200 and card.headers["content-type"].startswith("text/vcard")
    assert "BEGIN:VCARD" in card.text and "VERSION:3.0" in card.text and "Ivan Petrov" in card.text
    cards = ("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:anna\r\nFN:Anna Smirnova\r\nTEL:+7 900 111-22-33\r\nBDAY:--0308\r\nEND:VCARD\r\n"
             "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:\r\nEND:VCARD\r\n")
    report = ok(requests.post(service.url + "/counterparties/vega/contact-persons.vcf", data=cards.encode(),
                              headers={"content-type": "text/vcard"}, timeout=30))
    assert report["imported"] == 1 and [error["card"] for error in report["errors"]] == [2], report
    assert len(ids(call(service, "GET", "/counterparties/vega/contact-persons"))) == 2

    ok(call(service, "POST", "/counterparties/vega/interactions", {"id": "mail-1", "kind": "email", "occurredAt": "2026-11-20T09:00:00Z"}), 201)

    exported = requests.get(service.url + "/counterparties/export.csv", params={"delimiter": "semicolon", "bom": "true"}, timeout=30)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    text = exported.content.decode("utf-8")
    assert text.startswith("\ufeffid;kind;roles;legalName;")
    assert "'=HYPERLINK" in text, "a formula is escaped for spreadsheets"

    complete = ok(call(service, "GET", "/counterparties/vega/export"))
    assert complete["counterparty"]["id"] == "vega" and complete["mergedIds"] == []
    assert sorted(person["name"] for person in complete["contactPersons"]) == ["Anna Smirnova", "Ivan Petrov"]
    assert [interaction["id"] for interaction in complete["interactions"]] == ["mail-1"]
    problem(call(service, "GET", "/counterparties/nobody/export"), 404)

"""Bad HTTP input gets a 4xx problem document, never a 5xx, never a crash."""
import requests

from conftest import post

BAD_BODIES = [
    ("malformed JSON", b'{"kind": "person", "legalName": ', "application/json"),
    ("not an object", b"[1, 2, 3]", "application/json"),
    ("wrong type", b'{"kind": "person", "legalName": 12}', "application/json"),
    ("unknown enum", b'{"kind": "robot", "legalName": "x"}', "application/json"),
    ("missing field", b'{"kind": "person"}', "application/json"),
    ("bad id", b'{"id": "../../etc", "kind": "person", "legalName": "x"}', "application/json"),
    ("invalid UTF-8", b'{"kind": "person", "legalName": "\xff\xfe"}', "application/json"),
    ("deep nesting", b"[" * 5000 + b"]" * 5000, "application/json"),
    ("wrong media type", b"kind=person", "application/x-www-form-urlencoded"),
    ("empty", b"", "application/json"),
    ("oversized", b'{"kind":"person","legalName":"' + b"x" * (2 * 1024 * 1024) + b'"}', "application/json"),
]


def test_bad_bodies_get_4xx_problems(service_factory):
    service = service_factory().start().wait_ready()
    for name, body, content_type in BAD_BODIES:
        r = requests.post(service.url + "/counterparties", data=body, headers={"content-type": content_type}, timeout=30)
        assert 400 <= r.status_code < 500, f"{name}: {r.status_code} {r.text[:200]}"
        assert r.headers["content-type"] == "application/problem+json", name
        problem = r.json()
        assert problem["status"] == r.status_code and problem["detail"], name
    assert post(service, {"kind": "person", "legalName": "still alive"}).status_code == 201
    assert service.proc.poll() is None


def test_unknown_ids_and_bad_queries(service_factory):
    service = service_factory().start().wait_ready()
    cases = [
        ("GET", "/counterparties/nope", None, 404),
        ("PUT", "/counterparties/nope", {"kind": "person", "legalName": "x"}, 404),
        ("PATCH", "/counterparties/nope", {"notes": "x"}, 404),
        ("POST", "/counterparties/nope/archive", None, 404),
        ("GET", "/counterparties?limit=abc", None, 400),
        ("GET", "/counterparties?limit=100000", None, 400),
        ("GET", "/counterparties?cursor=!!!", None, 400),
        ("GET", "/counterparties?archived=maybe", None, 400),
        ("DELETE", "/counterparties", None, 404),  # Hummingbird answers an unrouted method with 404
        ("GET", "/no/such/route", None, 404),
    ]
    for method, path, body, status in cases:
        r = requests.request(method, service.url + path, json=body, timeout=30)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:200]}"
        if r.content:
            assert r.headers["content-type"] == "application/problem+json", f"{method} {path}"
    assert post(service, {"id": "X1", "kind": "person", "legalName": "x"}).status_code == 201
    duplicate = post(service, {"id": "X1", "kind": "person", "legalName": "y"})
    assert duplicate.status_code == 409 and duplicate.json()["existingId"] == "X1"

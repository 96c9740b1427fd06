"""Every event the test suites made a service publish follows `topics/asyncapi.yaml`.

The services append each event they publish to `CRM_PUBLISHED_EVENTS_LOG` (JSON lines: topic, key,
headers, data); `scripts/test` points the Swift tests and the black-box services at one file, so
by the time this runs it holds what every route of every built service published. An event type
the contract does not name, data its message's JSON Schema refuses, or a message of a built
service's topic that no test published fails here.
"""
import json
import os
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO, SERVICES


@pytest.fixture(scope="module")
def contract():
    return yaml.safe_load((REPO / "topics" / "asyncapi.yaml").read_text())


@pytest.fixture(scope="module")
def published():
    path = os.environ.get("CRM_PUBLISHED_EVENTS_LOG")
    if not path:
        pytest.skip("CRM_PUBLISHED_EVENTS_LOG is not set (scripts/test sets it for the Swift and black-box tests)")
    lines = Path(path).read_text().splitlines() if Path(path).exists() else []
    events = [json.loads(line) for line in lines if line.strip()]
    assert events, f"{path} holds no published events: did the Swift tests run with CRM_PUBLISHED_EVENTS_LOG set?"
    return events


def resolve(document, ref):
    node = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def validator(contract, schema):
    """A validator for a schema of the contract, its `#/components/...` references resolved there."""
    return jsonschema.Draft7Validator({**schema, "components": contract["components"]})


def channel_messages(contract):
    """topic → {message name → message object}."""
    topics = {}
    for channel in contract["channels"].values():
        topics[channel["address"]] = {name: resolve(contract, ref["$ref"]) for name, ref in channel["messages"].items()}
    return topics


def test_every_published_event_is_named_and_valid_per_the_contract(contract, published):
    topics = channel_messages(contract)
    problems = []
    for event in published:
        topic, headers, data = event["topic"], event["headers"], event["data"]
        kind = headers.get("ce_type")
        where = f"{topic} {kind} (key {event['key']})"
        if topic not in topics:
            problems.append(f"{where}: the contract has no topic {topic}")
            continue
        message = topics[topic].get(kind)
        if message is None:
            problems.append(f"{where}: the contract names no message {kind} on {topic}")
            continue
        for error in validator(contract, message["payload"]).iter_errors(data):
            problems.append(f"{where}: data {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}")
        for trait in message.get("traits", []):
            header_schema = resolve(contract, trait["$ref"]).get("headers")
            if header_schema:
                for error in validator(contract, header_schema).iter_errors(headers):
                    problems.append(f"{where}: headers: {error.message}")
        if headers.get("ce_subject") != event["key"]:
            problems.append(f"{where}: ce_subject {headers.get('ce_subject')!r} is not the record key")
        try:
            time = datetime.fromisoformat(headers.get("ce_time", "").replace("Z", "+00:00"))
            if time.utcoffset().total_seconds() != 0 or not headers["ce_time"].endswith("Z"):
                problems.append(f"{where}: ce_time {headers['ce_time']} is not UTC")
        except ValueError:
            problems.append(f"{where}: ce_time {headers.get('ce_time')!r} is not an RFC 3339 time")
    assert not problems, f"{len(problems)} of {len(published)} published events break the contract:\n" + "\n".join(problems[:40])


def test_the_tests_publish_every_message_of_each_built_service(contract, published):
    seen = {(event["topic"], event["headers"].get("ce_type")) for event in published}
    missing = []
    for channel in contract["channels"].values():
        if channel["x-crm-writer"] not in SERVICES:
            continue
        for name in channel["messages"]:
            if (channel["address"], name) not in seen:
                missing.append(f"{channel['address']} {name}")
    assert not missing, "no test made its service publish: " + ", ".join(missing)

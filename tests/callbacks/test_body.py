"""The callback body: envelope order and the exact serialisation of API.md §8.4."""

import json
import math

import pytest

from chorus.callbacks.body import build_body, js_number, serialize

# The compact SMS delivery report of the SDKs' signing test vector (API.md §8.4).
SMS_REPORT = {
    "at": "2025-01-13T09:22:40.914Z",
    "batch_id": "01JHFFHQ0P99JPPNQPJDV7JTBP",
    "client_reference": "a client reference",
    "code": 0,
    "operator_status_at": "2025-01-13T09:22:00Z",
    "recipient": "33662162466",
    "status": "Delivered",
    "type": "recipient_delivery_report_sms",
}
SMS_REPORT_TEXT = (
    '{"at":"2025-01-13T09:22:40.914Z","batch_id":"01JHFFHQ0P99JPPNQPJDV7JTBP",'
    '"client_reference":"a client reference","code":0,"operator_status_at":'
    '"2025-01-13T09:22:00Z","recipient":"33662162466","status":"Delivered",'
    '"type":"recipient_delivery_report_sms"}'
)


def test_serialize_is_compact_and_reproduces_the_sdk_vector_body() -> None:
    assert serialize(SMS_REPORT) == SMS_REPORT_TEXT


def test_serialize_keeps_non_ascii_raw_and_does_not_escape_slashes() -> None:
    text = serialize({"name": "Zoë Ünïcödé 😀 日本", "url": "https://a.example/b?c=d"})
    assert text == '{"name":"Zoë Ünïcödé 😀 日本","url":"https://a.example/b?c=d"}'


def test_serialize_escapes_like_json_stringify() -> None:
    assert serialize('q"\\\n\t\x01\x7f\u2028') == '"q\\"\\\\\\n\\t\\u0001\x7f\u2028"'
    assert serialize("lone \ud800 surrogate") == '"lone \\ud800 surrogate"'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (10.0, "10"),
        (-3.0, "-3"),
        (0.0, "0"),
        (-0.0, "0"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (123.456, "123.456"),
        (1e-6, "0.000001"),
        (1.5e-6, "0.0000015"),
        (1e-7, "1e-7"),
        (1.25e-10, "1.25e-10"),
        (1e16, "10000000000000000"),
        (1.5e20, "150000000000000000000"),
        (1e21, "1e+21"),
        (1.2345e22, "1.2345e+22"),
        (math.inf, "null"),
        (math.nan, "null"),
    ],
)
def test_floats_are_written_as_javascript_writes_them(value: float, text: str) -> None:
    assert js_number(value) == text


def test_integers_booleans_null_and_nesting() -> None:
    assert serialize({"a": [1, True, False, None, {"b": 2.0}], "c": {}}) == (
        '{"a":[1,true,false,null,{"b":2}],"c":{}}'
    )


def test_array_index_keys_come_first_as_in_a_javascript_object() -> None:
    assert serialize({"b": 1, "10": 2, "a": 3, "2": 4, "01": 5}) == (
        '{"2":4,"10":2,"b":1,"a":3,"01":5}'
    )


def test_serialize_round_trips_through_json() -> None:
    body = {"x": [1, 2.5, "é"], "y": {"z": None}}
    assert json.loads(serialize(body)) == body


def test_envelope_keys_come_first_then_the_payload_then_extras() -> None:
    body = build_body(
        app_id="APP",
        project_id="PROJ",
        accepted_time="2025-01-01T00:00:00.000000Z",
        event_time="2025-01-01T00:00:00.000000Z",
        payload_key="duplicated_contact_identities_notification",
        payload={"duplicated_identities": []},
        message_metadata="meta",
        correlation_id="corr",
        extra={"duplicated_identities": []},
    )
    assert list(body) == [
        "app_id",
        "accepted_time",
        "event_time",
        "project_id",
        "message_metadata",
        "correlation_id",
        "duplicated_contact_identities_notification",
        "duplicated_identities",
    ]
    assert "trigger" not in body


def test_optional_envelope_keys_are_omitted_when_not_given() -> None:
    body = build_body(
        app_id="APP",
        project_id="PROJ",
        accepted_time="t",
        event_time="t",
        payload_key="contact_create_notification",
        payload={"contact": {}},
    )
    assert list(body) == [
        "app_id",
        "accepted_time",
        "event_time",
        "project_id",
        "contact_create_notification",
    ]

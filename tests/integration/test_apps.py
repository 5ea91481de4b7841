"""Apps over HTTP (API.md §2): defaults, credentials per channel, update masks, errors."""

import json

import httpx
import pytest

from tests.integration.helpers import assert_error, new_app

EVERY_CHANNEL = [
    {"channel": "WHATSAPP", "static_bearer": {"claimed_identity": "46700000001", "token": "w"}},
    {"channel": "RCS", "static_bearer": {"claimed_identity": "agent", "token": "r"}},
    {"channel": "SMS", "sms_credentials": {"sms_app_id": "sms-app"}},
    {"channel": "VIBERBM", "static_bearer": {"claimed_identity": "123", "token": "v"}},
    {"channel": "MESSENGER", "static_token": {"token": "m"}, "callback_secret": "s"},
    {"channel": "VIBER", "static_token": {"token": "vb"}},
    {
        "channel": "MMS",
        "mms_credentials": {
            "account_id": "a",
            "api_key": "k",
            "basic_auth": {"username": "u", "password": "p"},
        },
    },
    {"channel": "INSTAGRAM", "instagram_credentials": {"token": "i"}},
    {"channel": "TELEGRAM", "telegram_credentials": {"token": "t"}},
    {
        "channel": "KAKAOTALK",
        "kakaotalk_credentials": {"kakaotalk_plus_friend_id": "f", "kakaotalk_sender_key": "k"},
    },
    {"channel": "KAKAOTALKCHAT", "kakaotalkchat_credentials": {"kakaotalk_plus_friend_id": "f"}},
    {"channel": "LINE", "line_credentials": {"token": "t", "secret": "s"}},
    {
        "channel": "LINE",
        "line_enterprise_credentials": {"line_japan": {"token": "t", "secret": "s"}},
    },
    {
        "channel": "WECHAT",
        "wechat_credentials": {"app_id": "a", "app_secret": "s", "token": "t", "aes_key": "k"},
    },
    {"channel": "APPLEBC", "applebc_credentials": {"business_chat_account_id": "b"}},
]


def test_create_applies_the_documented_defaults(api: httpx.Client) -> None:
    app = api.get(f"/apps/{new_app(api)}").json()
    assert app["processing_mode"] == "CONVERSATION"
    assert app["conversation_metadata_report_view"] == "NONE"
    assert app["retention_policy"] == {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 180}
    assert app["dispatch_retention_policy"] == {
        "retention_type": "MESSAGE_EXPIRE_POLICY",
        "ttl_days": 0,
    }
    assert app["smart_conversation"] == {"enabled": False}
    assert app["queue_stats"] == {"outbound_size": 0, "outbound_limit": 500000}
    assert app["rate_limits"]["outbound"] == 20
    assert app["message_retry_settings"] is None
    credential = app["channel_credentials"][0]
    assert credential["state"] == {"status": "ACTIVE", "description": ""}
    assert credential["channel_known_id"] == "46700000000"


def test_every_channel_credential_shape_is_accepted_in_priority_order(api: httpx.Client) -> None:
    response = api.post("/apps", json={"display_name": "all", "channel_credentials": EVERY_CHANNEL})
    assert response.status_code == 200, response.text
    credentials = response.json()["channel_credentials"]
    assert [c["channel"] for c in credentials] == [c["channel"] for c in EVERY_CHANNEL]
    assert [c["credential_ordinal_number"] for c in credentials if c["channel"] == "LINE"] == [0, 1]
    assert credentials[4]["callback_secret"] == "s"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel_credentials": []}, "display_name"),
        ({"display_name": "x"}, "channel_credentials"),
        ({"display_name": "", "channel_credentials": []}, "display_name"),
        (
            {
                "display_name": "x",
                "channel_credentials": [{"channel": "SMS", "static_token": {"token": "t"}}],
            },
            "channel_credentials[0]",
        ),
        (
            {"display_name": "x", "channel_credentials": [{"channel": "SMS"}]},
            "channel_credentials[0]",
        ),
        (
            {
                "display_name": "x",
                "channel_credentials": [
                    {"channel": "CHANNEL_UNSPECIFIED", "static_token": {"token": "t"}}
                ],
            },
            "channel_credentials[0].channel",
        ),
        (
            {
                "display_name": "x",
                "channel_credentials": [
                    {"channel": "WHATSAPP", "static_bearer": {"claimed_identity": "", "token": "t"}}
                ],
            },
            "channel_credentials[0].static_bearer.claimed_identity",
        ),
        (
            {"display_name": "x", "channel_credentials": [EVERY_CHANNEL[0], EVERY_CHANNEL[0]]},
            "channel_credentials",
        ),
        (
            {"display_name": "x", "channel_credentials": [], "processing_mode": "BATCH"},
            "processing_mode",
        ),
        (
            {
                "display_name": "x",
                "channel_credentials": [],
                "retention_policy": {"ttl_days": 3651},
            },
            "retention_policy.ttl_days",
        ),
        (
            {
                "display_name": "x",
                "channel_credentials": [],
                "retention_policy": {"retention_type": "FOREVER"},
            },
            "retention_policy.retention_type",
        ),
        (
            {
                "display_name": "x",
                "channel_credentials": [],
                "dispatch_retention_policy": {"ttl_days": 8},
            },
            "dispatch_retention_policy.ttl_days",
        ),
        (
            {
                "display_name": "x",
                "channel_credentials": [],
                "message_retry_settings": {"retry_duration": 10},
            },
            "message_retry_settings.retry_duration",
        ),
        (
            {
                "display_name": "x",
                "channel_credentials": [],
                "delivery_report_based_fallback": {
                    "enabled": True,
                    "delivery_report_waiting_time": 5,
                },
            },
            "delivery_report_based_fallback.delivery_report_waiting_time",
        ),
        (
            {
                "display_name": "x",
                "channel_credentials": [],
                "conversation_metadata_report_view": "SOME",
            },
            "conversation_metadata_report_view",
        ),
        (  # lax parsing read it as 1 day
            {
                "display_name": "x",
                "channel_credentials": [],
                "retention_policy": {"ttl_days": True},
            },
            "retention_policy.ttl_days",
        ),
    ],
)
def test_create_refuses_bad_fields_naming_them(api: httpx.Client, body: dict, field: str) -> None:
    assert_error(api.post("/apps", json=body), 400, "INVALID_ARGUMENT", field=field)


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        "[1, 2]",
        '"text"',
        # Past the JSON parser's depth: FastAPI's own 400, with the body named too.
        '{"display_name": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
)
def test_malformed_bodies_are_400_naming_the_body(api: httpx.Client, raw: str) -> None:
    response = api.post("/apps", content=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "INVALID_ARGUMENT", field="body")


def test_update_mask_semantics(api: httpx.Client) -> None:
    app_id = new_app(
        api,
        retention_policy={"retention_type": "CONVERSATION_EXPIRE_POLICY", "ttl_days": 30},
        callback_settings={"secret_for_overridden_callback_urls": "s3"},
    )
    # Masked: only listed paths change; a listed path absent from the body is reset.
    app = api.patch(
        f"/apps/{app_id}",
        params={"update_mask": "display_name,retention_policy"},
        json={"display_name": "renamed", "processing_mode": "DISPATCH"},
    ).json()
    assert app["display_name"] == "renamed"
    assert app["processing_mode"] == "CONVERSATION"
    assert app["retention_policy"] == {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 180}
    # The repeated and the seed's `update_mask.paths` spellings are accepted too.
    app = api.patch(
        f"/apps/{app_id}?update_mask.paths=processing_mode&update_mask=smart_conversation",
        json={"processing_mode": "DISPATCH", "smart_conversation": {"enabled": True}},
    ).json()
    assert (app["processing_mode"], app["smart_conversation"]) == ("DISPATCH", {"enabled": True})
    # No mask: present fields replace; absent fields are kept.
    app = api.patch(f"/apps/{app_id}", json={"channel_credentials": [EVERY_CHANNEL[4]]}).json()
    assert [c["channel"] for c in app["channel_credentials"]] == ["MESSENGER"]
    assert app["callback_settings"] == {"secret_for_overridden_callback_urls": "s3"}
    # Python's alias of callback_settings.
    app = api.patch(
        f"/apps/{app_id}",
        json={"event_destination_settings": {"secret_for_overridden_target": "s4"}},
    ).json()
    assert app["callback_settings"] == {"secret_for_overridden_callback_urls": "s4"}
    # Rate limits are writable (an extension).
    assert (
        api.patch(f"/apps/{app_id}", json={"rate_limits": {"outbound": 50}}).json()["rate_limits"][
            "outbound"
        ]
        == 50
    )
    # No body at all (what Python sends when nothing changes).
    assert api.patch(f"/apps/{app_id}").status_code == 200
    assert_error(
        api.patch(f"/apps/{app_id}", params={"update_mask": "colour"}, json={}),
        400,
        field="update_mask",
    )


def test_a_dotted_update_mask_path_changes_only_that_part_of_the_object(
    api: httpx.Client,
) -> None:
    """API.md §1.6: "only the listed paths change" — `retention_policy.ttl_days` leaves the
    retention type as it was (the whole object was replaced, its type reset to the
    default). The Node SDK sends such paths."""
    app_id = new_app(
        api,
        retention_policy={"retention_type": "CONVERSATION_EXPIRE_POLICY", "ttl_days": 30},
        delivery_report_based_fallback={"enabled": True, "delivery_report_waiting_time": 60},
    )

    def patch(mask: str, body: dict) -> httpx.Response:
        return api.patch(f"/apps/{app_id}", params={"update_mask": mask}, json=body)

    app = patch("retention_policy.ttl_days", {"retention_policy": {"ttl_days": 55}}).json()
    assert app["retention_policy"] == {
        "retention_type": "CONVERSATION_EXPIRE_POLICY",
        "ttl_days": 55,
    }
    app = patch(
        "retention_policy.retention_type",
        {"retention_policy": {"retention_type": "MESSAGE_EXPIRE_POLICY"}},
    ).json()
    assert app["retention_policy"] == {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 55}
    app = patch(
        "delivery_report_based_fallback.enabled",
        {"delivery_report_based_fallback": {"enabled": False}},
    ).json()
    assert app["delivery_report_based_fallback"] == {
        "enabled": False,
        "delivery_report_waiting_time": 60,
    }
    # A listed part absent from the body is reset to its default.
    app = patch("retention_policy.ttl_days", {"display_name": "x"}).json()
    assert app["retention_policy"] == {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 180}
    # The part is checked as part of the whole.
    assert_error(
        patch("retention_policy.ttl_days", {"retention_policy": {"ttl_days": 0}}),
        400,
        field="retention_policy.ttl_days",
    )
    # A part the object does not have is refused (it was dropped, the change reported done).
    for mask, body in (
        ("smart_conversation.enable", {"smart_conversation": {"enable": True}}),
        ("retention_policy.ttl", {"retention_policy": {"ttl": 3}}),
    ):
        assert_error(patch(mask, body), 400, field="update_mask")
    assert api.get(f"/apps/{app_id}").json()["smart_conversation"] == {"enabled": False}
    # A name cannot be cleared: masked and absent, or null, it is refused, not ignored.
    for body in ({}, {"display_name": None}):
        assert_error(patch("display_name", body), 400, field="display_name")


def test_list_get_delete_and_unknown_ids(server, api: httpx.Client) -> None:
    first, second = new_app(api), new_app(api)
    ids = [a["id"] for a in api.get("/apps").json()["apps"]]
    assert ids.index(first) < ids.index(second)
    assert api.delete(f"/apps/{first}").json() == {}
    assert_error(api.get(f"/apps/{first}"), 404, "NOT_FOUND")
    assert_error(api.delete(f"/apps/{first}"), 404, "NOT_FOUND")
    assert_error(api.patch("/apps/unknown", json={"display_name": "x"}), 404, "NOT_FOUND")
    long = assert_error(api.get(f"/apps/{'y' * 5000}"), 404, "NOT_FOUND")
    assert long["message"] == f"app {'y' * 128}… (5000 characters) not found"
    assert long["details"][0]["resource_name"] == f"{'y' * 128}… (5000 characters)"
    with server.client(server.other) as other:
        assert_error(other.get(f"/apps/{second}"), 404, "NOT_FOUND")
        assert other.get("/apps").json() == {"apps": []} or second not in str(
            other.get("/apps").json()
        )


def test_deleting_an_app_deletes_its_webhooks(api: httpx.Client) -> None:
    app_id = new_app(api)
    webhook = api.post(
        "/webhooks", json={"app_id": app_id, "target": "http://127.0.0.1:9/h"}
    ).json()
    api.delete(f"/apps/{app_id}")
    assert_error(api.get(f"/webhooks/{webhook['id']}"), 404)


def test_a_json_body_sent_as_another_content_type_is_told_so(api: httpx.Client) -> None:
    body = json.dumps({"display_name": "typed"})
    for content_type in ("text/plain", None):
        headers = {"content-type": content_type} if content_type else {}
        response = api.post("/apps", content=body, headers=headers)
        error = assert_error(response, 400, field="body")
        description = error["details"][0]["field_violations"][0]["description"]
        assert description == "must be a JSON object sent with Content-Type: application/json"
    not_an_object = api.post("/apps", json=["a"])
    error = assert_error(not_an_object, 400, field="body")
    assert error["details"][0]["field_violations"][0]["description"] == "must be a JSON object"

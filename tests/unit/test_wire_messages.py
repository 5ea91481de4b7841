"""The wire models of messages and events: shapes round-trip, rules fail at the right field."""

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from chorus.wire.events import AppEvent, ContactEvent, ContactMessageEvent
from chorus.wire.messages import (
    AppMessage,
    ChoiceMessage,
    ContactMessage,
    OmniMessageOverride,
    Reason,
    ReasonCode,
    ReasonSubCode,
    TextMessage,
)

# --- fixtures: one payload per kind, in the shapes of the contract examples -------------------

MEDIA = {
    "url": "https://cdn.example.org/boots.png",
    "thumbnail_url": "https://cdn.example.org/boots-thumb.png",
    "filename_override": "boots.png",
}

EVERY_CHOICE_KIND = [
    {"text_message": {"text": "Book a table"}, "postback_data": "book"},
    {"url_message": {"title": "Menu", "url": "https://bistro.example.org/menu"}},
    {"call_message": {"title": "Ring us", "phone_number": "+4420700000"}, "postback_data": "c"},
    {
        "location_message": {
            "coordinates": {"latitude": 51.5072, "longitude": -0.1276},
            "title": "Find us",
            "label": "Bistro",
        }
    },
    {
        "calendar_message": {
            "title": "Save the date",
            "event_start": "2024-09-01T18:00:00Z",
            "event_end": "2024-09-01T21:30:00+01:00",
            "event_title": "Tasting night",
            "event_description": "Six courses",
            "fallback_url": "https://bistro.example.org/tasting.ics",
        },
        "postback_data": "calendar",
    },
    {
        "share_location_message": {
            "title": "Where are you?",
            "fallback_url": "https://bistro.example.org/where",
        }
    },
]

CARD = {
    "title": "Autumn menu",
    "description": "Pumpkin soup is back",
    "media_message": MEDIA,
    "height": "TALL",
    "choices": EVERY_CHOICE_KIND,
    "message_properties": {"whatsapp_header": "Bistro"},
}

CONTENTS: dict[str, dict[str, Any]] = {
    "text_message": {"text": "Your table is ready."},
    "media_message": MEDIA,
    "choice_message": {
        "text_message": {"text": "What would you like?"},
        "choices": EVERY_CHOICE_KIND,
        "message_properties": {"whatsapp_footer": "Bistro team"},
    },
    "card_message": CARD,
    "carousel_message": {
        "cards": [CARD, {"title": "Winter menu", "height": "SHORT"}],
        "choices": EVERY_CHOICE_KIND[:3],
    },
    "location_message": {
        "coordinates": {"latitude": -33.8688, "longitude": 151.2093},
        "title": "Our kitchen",
        "label": "Bistro Sydney",
    },
    "contact_info_message": {
        "name": {
            "full_name": "Dr. Ada M. Lovelace",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "middle_name": "M.",
            "prefix": "Dr.",
            "suffix": "FRS",
        },
        "phone_numbers": [{"phone_number": "+447700900001", "type": "WORK"}],
        "addresses": [
            {
                "city": "London",
                "country": "United Kingdom",
                "state": "Greater London",
                "zip": "W1",
                "type": "HOME",
                "country_code": "GB",
            }
        ],
        "email_addresses": [{"email_address": "ada@example.org", "type": "WORK"}],
        "organization": {"company": "Analytical Ltd", "department": "R&D", "title": "Chief"},
        "urls": [{"url": "https://ada.example.org", "type": "HOME"}],
        "birthday": "1815-12-10",
    },
    "list_message": {
        "title": "Pick a dish",
        "description": "Today only",
        "media": MEDIA,
        "sections": [
            {
                "title": "Starters",
                "items": [
                    {
                        "choice": {
                            "title": "Soup",
                            "description": "Pumpkin",
                            "media": MEDIA,
                            "postback_data": "soup",
                        }
                    }
                ],
            },
            {"items": [{"choice": {"title": "Salad"}}]},
        ],
        "message_properties": {"menu": "Dishes", "whatsapp_header": "Bistro"},
    },
    "template_message": {
        "omni_template": {
            "template_id": "01HTEMPLATE",
            "version": "latest",
            "language_code": "en-GB",
            "parameters": {"name": "Ada"},
        },
        "channel_template": {
            "WHATSAPP": {"template_id": "table_ready", "language_code": "en_GB"},
        },
    },
}

PRODUCT_LIST = {
    "title": "Our shop",
    "sections": [
        {
            "title": "Boots",
            "items": [
                {"product": {"id": "SKU-1", "marketplace": "FACEBOOK"}},
                {"product": {"id": "SKU-2", "marketplace": "FACEBOOK"}},
            ],
        }
    ],
    "message_properties": {"catalog_id": "CAT-42", "menu": "Browse"},
}

MODIFIERS = {
    "explicit_channel_message": {
        "WHATSAPP": '{"type": "text", "text": {"body": "hi"}}',
        "SMS": "Hi from SMS (not JSON)",
        "KAKAOTALK": "a string chorus does not interpret",
    },
    "explicit_channel_omni_message": {
        "RCS": {"text_message": {"text": "Hello RCS"}},
        "WHATSAPP": {
            "template_reference": {
                "template_id": "01HTEMPLATE",
                "version": "2",
                "language_code": "en-GB",
                "parameters": {"name": "Ada"},
            }
        },
    },
    "channel_specific_message": {
        "WHATSAPP": {
            "message_type": "FLOWS",
            "message": {"flow_id": "7", "flow_cta": "Order", "body": {"text": "Go"}},
        },
        "LINE": {"message_type": "NOTIFICATION_MESSAGE_TEMPLATE", "message": {"code": 1}},
    },
    "agent": {"display_name": "Bistro bot", "type": "BOT", "picture_url": "https://x.org/b"},
}


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def first_error(model: type[BaseModel], payload: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload)
    return caught.value.errors()[0]


def app_error(payload: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    error = first_error(AppMessage, payload)
    return error["loc"], error["msg"]


# --- AppMessage: round trips --------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CONTENTS))
def test_every_content_kind_round_trips_to_the_same_wire_shape(kind: str) -> None:
    payload = {kind: CONTENTS[kind], **MODIFIERS}
    message = AppMessage.model_validate(payload)
    assert dump(message) == payload
    assert message.content_kind == kind
    assert dump(message.content) == CONTENTS[kind]


def test_product_list_round_trips() -> None:
    payload = {"list_message": PRODUCT_LIST}
    assert dump(AppMessage.model_validate(payload)) == payload


def test_absent_optional_fields_stay_absent_on_the_wire() -> None:
    payload = {"card_message": {"title": "Only a title"}}
    assert dump(AppMessage.model_validate(payload)) == payload


def test_unknown_keys_are_ignored() -> None:
    message = AppMessage.model_validate({"text_message": {"text": "hi", "x": 1}, "y": 2})
    assert dump(message) == {"text_message": {"text": "hi"}}


def test_null_agent_equals_absence() -> None:
    message = AppMessage.model_validate({"text_message": {"text": "hi"}, "agent": None})
    assert message.agent is None
    assert dump(message) == {"text_message": {"text": "hi"}}


@pytest.mark.parametrize("kind", [k for k in CONTENTS if k != "template_message"])
def test_omni_override_accepts_every_generic_kind(kind: str) -> None:
    override = OmniMessageOverride.model_validate({kind: CONTENTS[kind]})
    assert override.content_kind == kind
    assert dump(override) == {kind: CONTENTS[kind]}


def test_omni_override_names_its_template_case_template_reference() -> None:
    override = OmniMessageOverride.model_validate(
        {"template_reference": {"template_id": "T", "version": "1"}}
    )
    assert override.content_kind == "template_reference"
    error = first_error(OmniMessageOverride, {"template_message": CONTENTS["template_message"]})
    assert error["loc"] == ()
    assert "exactly one of" in error["msg"] and "template_reference" in error["msg"]


# --- AppMessage: the oneof and the modifiers -------------------------------------------------


def test_a_message_without_content_names_every_content_key() -> None:
    loc, msg = app_error({"agent": MODIFIERS["agent"]})
    assert loc == ()
    assert "exactly one of text_message, media_message" in msg
    assert "template_message is required" in msg


def test_a_message_with_two_contents_is_refused() -> None:
    loc, msg = app_error({"text_message": {"text": "a"}, "media_message": MEDIA})
    assert loc == ()
    assert "only one of" in msg and "got text_message, media_message" in msg


def test_explicit_channel_message_must_be_json_on_json_channels() -> None:
    loc, msg = app_error(
        {"text_message": {"text": "a"}, "explicit_channel_message": {"MESSENGER": "not json"}}
    )
    assert loc == ("explicit_channel_message",)
    assert "MESSENGER" in msg and "JSON" in msg


def test_explicit_channel_message_is_free_text_on_sms() -> None:
    message = AppMessage.model_validate(
        {"text_message": {"text": "a"}, "explicit_channel_message": {"SMS": "{not json"}}
    )
    assert message.explicit_channel_message == {"SMS": "{not json"}


def test_modifier_maps_refuse_unknown_channels() -> None:
    loc, _ = app_error(
        {"text_message": {"text": "a"}, "explicit_channel_message": {"PIGEON": "coo"}}
    )
    assert loc[:2] == ("explicit_channel_message", "PIGEON")


def test_omni_override_is_itself_a_oneof() -> None:
    loc, msg = app_error(
        {
            "text_message": {"text": "a"},
            "explicit_channel_omni_message": {"RCS": {}},
        }
    )
    assert loc == ("explicit_channel_omni_message", "RCS")
    assert "exactly one of" in msg


def test_channel_specific_message_type_must_be_known() -> None:
    loc, _ = app_error(
        {
            "text_message": {"text": "a"},
            "channel_specific_message": {"WHATSAPP": {"message_type": "POLL", "message": {}}},
        }
    )
    assert loc == ("channel_specific_message", "WHATSAPP", "message_type")


def test_channel_specific_message_must_be_an_object() -> None:
    loc, _ = app_error(
        {
            "text_message": {"text": "a"},
            "channel_specific_message": {"WHATSAPP": {"message_type": "FLOWS", "message": []}},
        }
    )
    assert loc == ("channel_specific_message", "WHATSAPP", "message")


def test_agent_type_is_an_enum() -> None:
    loc, _ = app_error(
        {"text_message": {"text": "a"}, "agent": {"display_name": "x", "type": "ROBOT"}}
    )
    assert loc == ("agent", "type")


# --- AppMessage: content rules ---------------------------------------------------------------


def test_text_must_not_be_empty() -> None:
    assert app_error({"text_message": {"text": ""}})[0] == ("text_message", "text")


def test_text_limit_counts_code_points() -> None:
    TextMessage(text="😀" * 4096)  # 8192 UTF-16 code units, 4096 code points
    assert app_error({"text_message": {"text": "a" * 4097}})[0] == ("text_message", "text")


@pytest.mark.parametrize("url", ["ftp://cdn.example.org/a.png", "cdn.example.org/a.png", ""])
def test_media_url_must_be_http_or_https(url: str) -> None:
    loc, msg = app_error({"media_message": {"url": url}})
    assert loc == ("media_message", "url")
    assert "http or https" in msg


def test_choice_message_holds_one_to_ten_choices() -> None:
    one = {"text_message": {"text": "x"}}
    assert app_error({"choice_message": {"choices": []}})[0] == ("choice_message", "choices")
    loc, _ = app_error({"choice_message": {"choices": [one] * 11}})
    assert loc == ("choice_message", "choices")
    ChoiceMessage.model_validate({"choices": [one] * 10})


def test_a_choice_without_action_is_named_by_its_index() -> None:
    choices = [{"text_message": {"text": "x"}}] * 3 + [{"postback_data": "p"}]
    loc, msg = app_error({"choice_message": {"choices": choices}})
    assert loc == ("choice_message", "choices", 3)
    assert "exactly one of text_message, url_message" in msg


def test_a_choice_with_two_actions_is_refused() -> None:
    choice = {"text_message": {"text": "x"}, "url_message": {"title": "t", "url": "u"}}
    loc, msg = app_error({"choice_message": {"choices": [choice]}})
    assert loc == ("choice_message", "choices", 0)
    assert "only one of" in msg


def test_calendar_times_must_be_rfc3339() -> None:
    calendar = dict(EVERY_CHOICE_KIND[4]["calendar_message"], event_start="next Tuesday")
    loc, msg = app_error(
        {"choice_message": {"choices": [{"calendar_message": calendar}]}},
    )
    assert loc == ("choice_message", "choices", 0, "calendar_message", "event_start")
    assert "RFC 3339" in msg


def test_call_choice_needs_a_phone_number() -> None:
    loc, _ = app_error({"choice_message": {"choices": [{"call_message": {"title": "Call"}}]}})
    assert loc == ("choice_message", "choices", 0, "call_message", "phone_number")


def test_card_needs_title_description_or_media() -> None:
    loc, msg = app_error({"card_message": {"height": "TALL", "choices": []}})
    assert loc == ("card_message",)
    assert "title, description or media_message" in msg
    AppMessage.model_validate({"card_message": {"media_message": MEDIA}})


def test_card_height_is_an_enum() -> None:
    loc, _ = app_error({"card_message": {"title": "t", "height": "HUGE"}})
    assert loc == ("card_message", "height")


def test_card_holds_at_most_ten_choices() -> None:
    choices = [{"text_message": {"text": "x"}}] * 11
    loc, _ = app_error({"card_message": {"title": "t", "choices": choices}})
    assert loc == ("card_message", "choices")


def test_carousel_holds_one_to_ten_cards() -> None:
    assert app_error({"carousel_message": {"cards": []}})[0] == ("carousel_message", "cards")
    cards = [{"title": "t"}] * 11
    assert app_error({"carousel_message": {"cards": cards}})[0] == ("carousel_message", "cards")


def test_carousel_holds_at_most_three_outer_choices() -> None:
    choices = [{"text_message": {"text": "x"}}] * 4
    loc, _ = app_error({"carousel_message": {"cards": [{"title": "t"}], "choices": choices}})
    assert loc == ("carousel_message", "choices")


def test_a_card_of_a_carousel_is_named_by_its_index() -> None:
    loc, _ = app_error({"carousel_message": {"cards": [{"title": "t"}, {"height": "TALL"}]}})
    assert loc == ("carousel_message", "cards", 1)


@pytest.mark.parametrize(
    ("coordinates", "field"),
    [
        ({"latitude": 90.5, "longitude": 0}, "latitude"),
        ({"latitude": -91, "longitude": 0}, "latitude"),
        ({"latitude": 0, "longitude": 180.1}, "longitude"),
        ({"latitude": 0, "longitude": -181}, "longitude"),
    ],
)
def test_location_coordinates_are_range_checked(coordinates: dict, field: str) -> None:
    loc, _ = app_error({"location_message": {"coordinates": coordinates, "title": "t"}})
    assert loc == ("location_message", "coordinates", field)


def test_contact_info_needs_full_name() -> None:
    payload = {"name": {"first_name": "Ada"}, "phone_numbers": [{"phone_number": "+1"}]}
    loc, _ = app_error({"contact_info_message": payload})
    assert loc == ("contact_info_message", "name", "full_name")


def test_contact_info_needs_a_phone_number() -> None:
    payload = {"name": {"full_name": "Ada"}, "phone_numbers": []}
    loc, _ = app_error({"contact_info_message": payload})
    assert loc == ("contact_info_message", "phone_numbers")


def _choice_items(count: int) -> list[dict]:
    return [{"choice": {"title": f"Dish {n}"}} for n in range(count)]


def _product_items(count: int) -> list[dict]:
    return [{"product": {"id": f"SKU-{n}", "marketplace": "FACEBOOK"}} for n in range(count)]


def test_list_holds_one_to_ten_sections() -> None:
    loc, _ = app_error({"list_message": {"title": "t", "sections": []}})
    assert loc == ("list_message", "sections")
    sections = [{"items": _choice_items(1)}] * 11
    loc, _ = app_error({"list_message": {"title": "t", "sections": sections}})
    assert loc == ("list_message", "sections")


def test_list_holds_at_most_ten_choices_across_sections() -> None:
    sections = [{"items": _choice_items(6)}, {"items": _choice_items(5)}]
    loc, msg = app_error({"list_message": {"title": "t", "sections": sections}})
    assert loc == ("list_message",)
    assert "at most 10 choice items" in msg and "got 11" in msg


def test_list_holds_at_most_thirty_products() -> None:
    payload = dict(PRODUCT_LIST, sections=[{"items": _product_items(20)}] * 2)
    loc, msg = app_error({"list_message": payload})
    assert loc == ("list_message",)
    assert "at most 30 products" in msg


def test_list_with_products_needs_a_catalog_id() -> None:
    payload = {"title": "Shop", "sections": [{"items": _product_items(2)}]}
    loc, msg = app_error({"list_message": payload})
    assert loc == ("list_message",)
    assert "message_properties.catalog_id" in msg


def test_list_refuses_choices_mixed_with_products() -> None:
    sections = [{"items": _choice_items(1)}, {"items": _product_items(1)}]
    payload = {"title": "t", "sections": sections, "message_properties": {"catalog_id": "C"}}
    loc, msg = app_error({"list_message": payload})
    assert loc == ("list_message",)
    assert "mixes both" in msg


def test_list_item_is_a_choice_or_a_product() -> None:
    loc, _ = app_error({"list_message": {"title": "t", "sections": [{"items": [{}]}]}})
    assert loc == ("list_message", "sections", 0, "items", 0)


def test_template_message_needs_a_template() -> None:
    loc, msg = app_error({"template_message": {}})
    assert loc == ("template_message",)
    assert "omni_template or channel_template" in msg


def test_omni_template_needs_a_version() -> None:
    loc, _ = app_error({"template_message": {"omni_template": {"template_id": "T"}}})
    assert loc == ("template_message", "omni_template", "version")


def test_channel_template_needs_no_version_but_a_template_id() -> None:
    AppMessage.model_validate(
        {"template_message": {"channel_template": {"WHATSAPP": {"template_id": "hello"}}}}
    )
    loc, _ = app_error({"template_message": {"channel_template": {"WHATSAPP": {}}}})
    assert loc == ("template_message", "channel_template", "WHATSAPP", "template_id")


def test_template_parameters_are_strings() -> None:
    reference = {"template_id": "T", "version": "1", "parameters": {"n": {"x": 1}}}
    loc, _ = app_error({"template_message": {"omni_template": reference}})
    assert loc == ("template_message", "omni_template", "parameters", "n")


# --- ContactMessage --------------------------------------------------------------------------

REPLY_TO = {"reply_to": {"message_id": "01HAPPMSG"}}

CONTACT_CONTENTS: dict[str, dict[str, Any]] = {
    "text_message": {"text": "Table for two, please"},
    "media_message": {"url": "https://media.example.org/x.jpg", "filename_override": "x.jpg"},
    "location_message": {
        "coordinates": {"latitude": 59.3293, "longitude": 18.0686},
        "title": "Home",
        "label": "Stockholm",
    },
    "choice_response_message": {"message_id": "01HAPPMSG", "postback_data": "book"},
    "media_card_message": {"url": "https://media.example.org/y.jpg", "caption": "Look"},
    "fallback_message": {
        "raw_message": '{"type": "sticker"}',
        "reason": {
            "code": "UNSUPPORTED_OPERATION",
            "description": "stickers are not mapped",
            "sub_code": "UNSPECIFIED_SUB_CODE",
            "channel_code": "131051",
        },
    },
    "product_response_message": {
        "products": [
            {
                "id": "SKU-1",
                "marketplace": "FACEBOOK",
                "quantity": 2,
                "item_price": 49.5,
                "currency": "EUR",
            }
        ],
        "text": "These please",
        "catalog_id": "CAT-42",
    },
    "channel_specific_message": {
        "message_type": "nfm_reply",
        "message": {
            "type": "nfm_reply",
            "nfm_reply": {"name": "flow", "response_json": "{}", "body": "Sent"},
        },
    },
}


@pytest.mark.parametrize("kind", list(CONTACT_CONTENTS))
def test_every_contact_message_kind_round_trips(kind: str) -> None:
    payload = {kind: CONTACT_CONTENTS[kind], **REPLY_TO}
    message = ContactMessage.model_validate(payload)
    assert dump(message) == payload
    assert message.content_kind == kind


def test_contact_message_reply_to_may_be_null_or_absent() -> None:
    for payload in (
        {"text_message": {"text": "hi"}},
        {"text_message": {"text": "hi"}, "reply_to": None},
    ):
        message = ContactMessage.model_validate(payload)
        assert message.reply_to is None
        assert dump(message) == {"text_message": {"text": "hi"}}


def test_contact_message_is_a_oneof() -> None:
    error = first_error(ContactMessage, REPLY_TO)
    assert error["loc"] == ()
    assert "choice_response_message" in error["msg"]


def test_reason_sub_code_defaults_to_unspecified() -> None:
    reason = Reason(code=ReasonCode.MEDIA_NOT_REACHABLE, description="404 on fetch")
    assert dump(reason) == {
        "code": "MEDIA_NOT_REACHABLE",
        "description": "404 on fetch",
        "sub_code": "UNSPECIFIED_SUB_CODE",
    }
    assert reason.sub_code is ReasonSubCode.UNSPECIFIED_SUB_CODE


def test_reason_codes_are_the_31_of_the_contract() -> None:
    assert len(ReasonCode) == 31
    assert ReasonCode("MESSAGE_SPLIT_REQUIRED") is ReasonCode.MESSAGE_SPLIT_REQUIRED
    assert ReasonCode("DELIVERY_REPORT_TIME_OUT") is ReasonCode.DELIVERY_REPORT_TIME_OUT


# --- Events ---------------------------------------------------------------------------------

AGENT = {"display_name": "Sam", "type": "HUMAN", "picture_url": "https://x.org/sam.png"}

APP_EVENTS: dict[str, dict[str, Any]] = {
    "composing_event": {},
    "composing_end_event": {},
    "comment_reply_event": {"text": "Thanks for the comment!"},
    "agent_joined_event": {"agent": AGENT},
    "agent_left_event": {"agent": AGENT},
    "generic_event": {"payload": {"order": 42, "tags": ["a"]}},
}

CONTACT_EVENTS: dict[str, dict[str, Any]] = {
    "composing_event": {},
    "composing_end_event": {},
    "conversation_deleted_event": {},
    "comment_event": {
        "id": "c-1",
        "text": "Love it",
        "comment_type": "FEED",
        "commented_on": "https://instagram.example.org/p/1",
        "user": "ada",
    },
    "generic_event": {"payload": {"k": "v"}},
}

CONTACT_MESSAGE_EVENTS: dict[str, dict[str, Any]] = {
    "payment_status_update_event": {
        "reference_id": "order-9",
        "payment_status": "PAYMENT_STATUS_NEW",
        "payment_transaction_status": "PAYMENT_STATUS_TRANSACTION_SUCCESS",
        "payment_transaction_id": "tx-1",
    },
    "shortlink_activated_event": {
        "payload": "campaign",
        "title": "Spring",
        "ref": "r-1",
        "source": "SHORTLINK",
        "type": "OPEN_THREAD",
        "existing_thread": True,
    },
    "reaction_event": {
        "emoji": "👍",
        "action": "REACTION_ACTION_UNREACT",
        "message_id": "01HAPPMSG",
        "reaction_category": "like",
    },
}


@pytest.mark.parametrize(
    ("model", "kind", "body"),
    [(AppEvent, k, v) for k, v in APP_EVENTS.items()]
    + [(ContactEvent, k, v) for k, v in CONTACT_EVENTS.items()]
    + [(ContactMessageEvent, k, v) for k, v in CONTACT_MESSAGE_EVENTS.items()],
)
def test_every_event_kind_round_trips(model: type[AppEvent], kind: str, body: dict) -> None:
    event = model.model_validate({kind: body})
    assert event.kind == kind
    assert dump(event) == {kind: body}


def test_an_empty_object_counts_as_present() -> None:
    assert AppEvent.model_validate({"composing_event": {}}).kind == "composing_event"


def test_an_event_needs_exactly_one_kind() -> None:
    error = first_error(AppEvent, {})
    assert error["loc"] == ()
    assert "exactly one of composing_event" in error["msg"]
    error = first_error(AppEvent, {"composing_event": {}, "composing_end_event": {}})
    assert "only one of" in error["msg"]


def test_a_contact_event_kind_is_not_an_app_event() -> None:
    error = first_error(AppEvent, {"conversation_deleted_event": {}})
    assert "exactly one of" in error["msg"]


def test_generic_event_payload_must_be_an_object() -> None:
    error = first_error(AppEvent, {"generic_event": {"payload": [1, 2]}})
    assert error["loc"] == ("generic_event", "payload")


def test_comment_reply_needs_text() -> None:
    error = first_error(AppEvent, {"comment_reply_event": {}})
    assert error["loc"] == ("comment_reply_event", "text")


def test_agent_events_need_an_agent() -> None:
    error = first_error(AppEvent, {"agent_joined_event": {"agent": {"type": "BOT"}}})
    assert error["loc"] == ("agent_joined_event", "agent", "display_name")


def test_reaction_event_needs_emoji_action_and_message_id() -> None:
    error = first_error(ContactMessageEvent, {"reaction_event": {"emoji": "👍"}})
    assert error["loc"] == ("reaction_event", "action")


def test_shortlink_source_defaults_to_shortlink() -> None:
    event = ContactMessageEvent.model_validate({"shortlink_activated_event": {"ref": "r"}})
    assert dump(event) == {"shortlink_activated_event": {"ref": "r", "source": "SHORTLINK"}}

"""Generic message → Messenger Send API body (CHANNELS.md part 2 §1.4, §1.5, §7.2): one golden
test per message type and per override, with the worked examples of §1.9."""

import json
from typing import Any

import pytest

from chorus.channels.base import ChannelFailure, ReplyOption
from chorus.channels.messenger.plugin import PLUGIN
from chorus.channels.sms.transcode import TemplateNotResolved
from chorus.wire.events import AppEvent
from chorus.wire.messages import AppMessage

MID = "01HX5Y0Q7V3C9G2ZB1M4RT6K8N"
PSID = "534183549153491"
DEFAULTS = {"messaging_type": "RESPONSE", "notification_type": "REGULAR"}


def transcode(payload: dict[str, Any], **properties: str) -> Any:
    message = AppMessage.model_validate(payload)
    return PLUGIN.transcode(message, message_id=MID, recipient=PSID, properties=properties)


def native(payload: dict[str, Any], **properties: str) -> Any:
    return transcode(payload, **properties).native


def body(message: dict[str, Any], **fields: str) -> dict[str, Any]:
    return {"recipient": {"id": PSID}, **DEFAULTS, **fields, "message": message}


def image(url: str) -> dict[str, Any]:
    return {"attachment": {"type": "image", "payload": {"url": url, "is_reusable": False}}}


# --- text and media ------------------------------------------------------------------------------


def test_text_is_a_text_message() -> None:
    assert native({"text_message": {"text": "Hello"}}) == body({"text": "Hello"})


def test_text_of_2000_characters_passes_and_longer_fails() -> None:
    assert native({"text_message": {"text": "x" * 2000}})["message"] == {"text": "x" * 2000}
    with pytest.raises(ValueError, match="2000"):
        native({"text_message": {"text": "x" * 2001}})


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://cdn.example.com/a.JPG?x=1", "image"),
        ("https://cdn.example.com/a.mp4", "video"),
        ("https://cdn.example.com/a.mp3", "audio"),
        ("https://cdn.example.com/a.pdf", "file"),
        ("https://cdn.example.com/download", "file"),
    ],
)
def test_media_is_an_attachment_typed_by_the_url(url: str, kind: str) -> None:
    payload = {
        "media_message": {
            "url": url,
            "thumbnail_url": "https://cdn.example.com/t.jpg",
            "filename_override": "ignored.bin",
        }
    }
    assert native(payload) == body(
        {"attachment": {"type": kind, "payload": {"url": url, "is_reusable": False}}}
    )


# --- choices -------------------------------------------------------------------------------------


def test_call_choices_beyond_three_buttons_are_lines_as_sms_renders_them() -> None:
    """CHANNELS.md §1.5: choices beyond 3 buttons become SMS-rendering lines — `+` only
    before a number of digits only (a button's payload is normalised, a line is not)."""
    url = {"url_message": {"title": "Site", "url": "https://example.com"}}
    transcoded = transcode(
        {
            "choice_message": {
                "text_message": {"text": "Reach us"},
                "choices": [
                    url,
                    url,
                    url,
                    {"call_message": {"title": "Desk", "phone_number": "+1 23"}},
                    {"call_message": {"title": "Shop", "phone_number": "4612"}},
                ],
            }
        }
    )
    text = transcoded.native["message"]["attachment"]["payload"]["text"]
    assert text == "Reach us\nDesk: +1 23\nShop: +4612"


def test_worked_example_choice_mixes_a_button_template_and_quick_replies() -> None:
    transcoded = transcode(
        {
            "choice_message": {
                "text_message": {"text": "How can we help?"},
                "choices": [
                    {"text_message": {"text": "Track order"}, "postback_data": "track"},
                    {"text_message": {"text": "Talk to a person"}},
                    {"url_message": {"title": "FAQ", "url": "https://help.example.com"}},
                    {"call_message": {"title": "Call us", "phone_number": "46732000000"}},
                ],
            }
        }
    )
    assert transcoded.native == body(
        {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "button",
                    "text": "How can we help?",
                    "buttons": [
                        {"type": "web_url", "title": "FAQ", "url": "https://help.example.com"},
                        {"type": "phone_number", "title": "Call us", "payload": "+46732000000"},
                    ],
                },
            },
            "quick_replies": [
                {"content_type": "text", "title": "Track order", "payload": f"{MID}:track"},
                {"content_type": "text", "title": "Talk to a person", "payload": f"{MID}#1"},
            ],
        }
    )
    assert transcoded.options == [
        ReplyOption(0, "Track order", "track"),
        ReplyOption(1, "Talk to a person", None),
    ]


def test_text_choices_only_are_quick_replies_with_labels_cut_to_20() -> None:
    message = native(
        {
            "choice_message": {
                "text_message": {"text": "Pick"},
                "choices": [
                    {"text_message": {"text": "A label much longer than twenty"}},
                    {"text_message": {"text": "B"}, "postback_data": "b"},
                ],
            }
        }
    )["message"]
    assert message == {
        "text": "Pick",
        "quick_replies": [
            {"content_type": "text", "title": "A label much longer\u2026", "payload": f"{MID}#0"},
            {"content_type": "text", "title": "B", "payload": f"{MID}:b"},
        ],
    }
    assert len(message["quick_replies"][0]["title"]) == 20


def test_a_too_long_envelope_uses_the_index_form() -> None:
    message = native(
        {
            "choice_message": {
                "choices": [{"text_message": {"text": "A"}, "postback_data": "p" * 990}]
            }
        }
    )["message"]
    assert message["quick_replies"][0]["payload"] == f"{MID}#0"
    assert message["text"]  # a choice without text still carries a prompt


def test_more_than_three_buttons_go_to_the_text_as_lines() -> None:
    choices = [
        {"url_message": {"title": f"Site {n}", "url": f"https://s{n}.example.com"}}
        for n in range(4)
    ]
    choices.append(
        {
            "location_message": {
                "title": "Shop",
                "coordinates": {"latitude": 55.6, "longitude": 13.0},
            }
        }
    )
    payload = native({"choice_message": {"text_message": {"text": "Links"}, "choices": choices}})[
        "message"
    ]["attachment"]["payload"]
    assert [b["title"] for b in payload["buttons"]] == ["Site 0", "Site 1", "Site 2"]
    assert payload["text"] == (
        "Links\nSite 3: https://s3.example.com\n"
        "Shop: https://www.google.com/maps/search/?api=1&query=55.6,13"
    )


def test_location_calendar_and_share_location_choices_become_web_url_buttons() -> None:
    buttons = native(
        {
            "choice_message": {
                "text_message": {"text": "Where"},
                "choices": [
                    {
                        "location_message": {
                            "title": "Store",
                            "coordinates": {"latitude": 1.5, "longitude": 2.25},
                        }
                    },
                    {
                        "calendar_message": {
                            "title": "Add",
                            "event_start": "2024-05-01T10:00:00Z",
                            "event_end": "2024-05-01T11:00:00Z",
                            "event_title": "Launch",
                            "fallback_url": "https://cal.example.com",
                        }
                    },
                    {
                        "share_location_message": {
                            "title": "Share",
                            "fallback_url": "https://share.example.com",
                        }
                    },
                ],
            }
        }
    )["message"]["attachment"]["payload"]["buttons"]
    assert buttons == [
        {
            "type": "web_url",
            "title": "Store",
            "url": "https://www.google.com/maps/search/?api=1&query=1.5,2.25",
        },
        {"type": "web_url", "title": "Add", "url": "https://cal.example.com"},
        {"type": "web_url", "title": "Share", "url": "https://share.example.com"},
    ]


def test_a_button_template_text_over_640_fails() -> None:
    with pytest.raises(ValueError, match="640"):
        native(
            {
                "choice_message": {
                    "text_message": {"text": "x" * 641},
                    "choices": [{"url_message": {"title": "Go", "url": "https://e.com"}}],
                }
            }
        )


# --- cards and carousels -------------------------------------------------------------------------


def test_worked_example_card_is_a_generic_template() -> None:
    assert native(
        {
            "card_message": {
                "title": "Spring sale",
                "description": "All shoes 20% off",
                "media_message": {"url": "https://cdn.example.com/shoes.jpg"},
                "height": "MEDIUM",
                "choices": [
                    {"text_message": {"text": "Remind me"}, "postback_data": "remind"},
                    {"url_message": {"title": "Open", "url": "https://shop.example.com/sale"}},
                ],
            }
        }
    ) == body(
        {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "generic",
                    "image_aspect_ratio": "horizontal",
                    "elements": [
                        {
                            "title": "Spring sale",
                            "subtitle": "All shoes 20% off",
                            "image_url": "https://cdn.example.com/shoes.jpg",
                            "buttons": [
                                {
                                    "type": "postback",
                                    "title": "Remind me",
                                    "payload": f"{MID}:remind",
                                },
                                {
                                    "type": "web_url",
                                    "title": "Open",
                                    "url": "https://shop.example.com/sale",
                                },
                            ],
                        }
                    ],
                },
            }
        }
    )


def test_a_tall_card_without_title_uses_the_description_and_extra_text_choices_quick_reply() -> (
    None
):
    message = native(
        {
            "card_message": {
                "description": "D" * 100,
                "height": "TALL",
                "choices": [{"text_message": {"text": f"c{n}"}} for n in range(5)],
            }
        }
    )["message"]
    payload = message["attachment"]["payload"]
    assert payload["image_aspect_ratio"] == "square"
    element = payload["elements"][0]
    assert element["title"] == "D" * 79 + "\u2026"
    assert "subtitle" not in element
    assert [b["payload"] for b in element["buttons"]] == [f"{MID}#0", f"{MID}#1", f"{MID}#2"]
    assert message["quick_replies"] == [
        {"content_type": "text", "title": "c3", "payload": f"{MID}#3"},
        {"content_type": "text", "title": "c4", "payload": f"{MID}#4"},
    ]


def test_a_card_with_extra_non_text_choices_fails() -> None:
    choices = [{"url_message": {"title": f"u{n}", "url": "https://e.com"}} for n in range(4)]
    with pytest.raises(ValueError, match="url_message"):
        native({"card_message": {"title": "T", "choices": choices}})


def test_a_card_with_a_video_sends_the_video_first_as_a_part() -> None:
    parts = native(
        {
            "card_message": {
                "title": "Watch",
                "media_message": {"url": "https://cdn.example.com/clip.mp4"},
            }
        }
    )
    assert parts == [
        body(
            {
                "attachment": {
                    "type": "video",
                    "payload": {"url": "https://cdn.example.com/clip.mp4", "is_reusable": False},
                }
            }
        ),
        # A title alone is no element Meta takes: the card's text.
        body({"text": "Watch"}),
    ]


def test_a_card_with_a_title_alone_is_a_text_message() -> None:
    assert native({"card_message": {"title": "Just a title"}}) == body({"text": "Just a title"})
    described = native({"card_message": {"title": "T", "description": "D"}})
    element = described["message"]["attachment"]["payload"]["elements"][0]
    assert element == {"title": "T", "subtitle": "D"}


def test_carousel_is_one_element_per_card_and_indexes_count_across_cards() -> None:
    transcoded = transcode(
        {
            "carousel_message": {
                "cards": [
                    {
                        "title": "One",
                        "media_message": {"url": "https://cdn.example.com/1.png"},
                        "choices": [{"text_message": {"text": "Buy one"}, "postback_data": "1"}],
                    },
                    {"title": "Two", "choices": [{"text_message": {"text": "Buy two"}}]},
                ],
                "choices": [{"text_message": {"text": "More"}}],
            }
        }
    )
    assert transcoded.native["message"] == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "generic",
                "image_aspect_ratio": "horizontal",
                "elements": [
                    {
                        "title": "One",
                        "image_url": "https://cdn.example.com/1.png",
                        "buttons": [
                            {"type": "postback", "title": "Buy one", "payload": f"{MID}:1"}
                        ],
                    },
                    {
                        "title": "Two",
                        "buttons": [
                            {"type": "postback", "title": "Buy two", "payload": f"{MID}#1"}
                        ],
                    },
                ],
            },
        },
        "quick_replies": [{"content_type": "text", "title": "More", "payload": f"{MID}#2"}],
    }
    assert [o.number for o in transcoded.options] == [0, 1, 2]


def test_carousel_level_choices_other_than_text_fail() -> None:
    with pytest.raises(ValueError, match=r"carousel_message\.choices"):
        native(
            {
                "carousel_message": {
                    "cards": [{"title": "A"}],
                    "choices": [{"url_message": {"title": "u", "url": "https://e.com"}}],
                }
            }
        )


# --- degraded renderings -------------------------------------------------------------------------


def test_location_is_a_generic_template_with_a_map_button() -> None:
    assert native(
        {
            "location_message": {
                "title": "Head office",
                "label": "Main entrance",
                "coordinates": {"latitude": 59.3293, "longitude": 18.0686},
            }
        }
    )["message"] == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "generic",
                "image_aspect_ratio": "horizontal",
                "elements": [
                    {
                        "title": "Head office",
                        "subtitle": "Main entrance",
                        "buttons": [
                            {
                                "type": "web_url",
                                "title": "Show map",
                                "url": "https://www.google.com/maps/search/?api=1&query=59.3293,18.0686",
                            }
                        ],
                    }
                ],
            },
        }
    }


def test_location_without_title_is_titled_location() -> None:
    element = native(
        {"location_message": {"title": "", "coordinates": {"latitude": 1, "longitude": 2}}}
    )["message"]["attachment"]["payload"]["elements"][0]
    assert element["title"] == "Location"
    assert "subtitle" not in element


def test_contact_info_is_the_card_text_with_call_buttons() -> None:
    assert native(
        {
            "contact_info_message": {
                "name": {"full_name": "Ada Lovelace"},
                "phone_numbers": [
                    {"phone_number": "+46 70 123 45 67", "type": "MOBILE"},
                    {"phone_number": "46812345678"},
                ],
                "email_addresses": [{"email_address": "ada@example.com", "type": "WORK"}],
            }
        }
    )["message"] == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": (
                    "Ada Lovelace\nTel (MOBILE): +46 70 123 45 67\nTel: 46812345678\n"
                    "Email (WORK): ada@example.com"
                ),
                "buttons": [
                    {"type": "phone_number", "title": "MOBILE", "payload": "+46701234567"},
                    {"type": "phone_number", "title": "Call", "payload": "+46812345678"},
                ],
            },
        }
    }


def test_list_is_text_with_quick_replies_and_its_media_first() -> None:
    transcoded = transcode(
        {
            "list_message": {
                "title": "Menu",
                "description": "Pick a dish",
                "media": {"url": "https://cdn.example.com/menu.png"},
                "sections": [
                    {
                        "title": "Mains",
                        "items": [
                            {
                                "choice": {
                                    "title": "Pasta",
                                    "description": "fresh",
                                    "postback_data": "p",
                                }
                            },
                            {"choice": {"title": "Risotto"}},
                        ],
                    },
                    {"title": "Desserts", "items": [{"choice": {"title": "Tiramisu"}}]},
                ],
            }
        }
    )
    first, main = transcoded.native
    assert first == body(image("https://cdn.example.com/menu.png"))
    assert main == body(
        {
            "text": (
                "Menu\nPick a dish\nMains\n1. Pasta \u2013 fresh\n2. Risotto\nDesserts\n3. Tiramisu"
            ),
            "quick_replies": [
                {"content_type": "text", "title": "Pasta", "payload": f"{MID}:p"},
                {"content_type": "text", "title": "Risotto", "payload": f"{MID}#1"},
                {"content_type": "text", "title": "Tiramisu", "payload": f"{MID}#2"},
            ],
        }
    )


def test_a_product_list_is_text_only() -> None:
    message = native(
        {
            "list_message": {
                "title": "Shop",
                "sections": [
                    {
                        "items": [
                            {"product": {"id": "sku1", "marketplace": "FACEBOOK", "title": "Mug"}}
                        ]
                    }
                ],
                "message_properties": {"catalog_id": "cat"},
            }
        }
    )["message"]
    assert message == {"text": "Shop\n1. Mug"}


def test_templates_are_resolved_before_transcoding() -> None:
    with pytest.raises(TemplateNotResolved):
        native({"template_message": {"omni_template": {"template_id": "t", "version": "1"}}})


# --- channel properties --------------------------------------------------------------------------


def test_properties_set_messaging_and_notification_type() -> None:
    sent = native(
        {"text_message": {"text": "Hi"}},
        MESSENGER_MESSAGING_TYPE="UPDATE",
        MESSENGER_NOTIFICATION_TYPE="SILENT_PUSH",
    )
    assert sent == body({"text": "Hi"}, messaging_type="UPDATE", notification_type="SILENT_PUSH")


def test_a_tag_makes_the_message_a_tagged_one() -> None:
    sent = native({"text_message": {"text": "Hi"}}, MESSENGER_MESSAGE_TAG="HUMAN_AGENT")
    assert list(sent) == ["recipient", "messaging_type", "notification_type", "tag", "message"]
    assert sent["messaging_type"] == "MESSAGE_TAG"
    assert sent["tag"] == "HUMAN_AGENT"


def test_a_tag_with_another_messaging_type_fails() -> None:
    with pytest.raises(ValueError, match="MESSAGE_TAG"):
        native(
            {"text_message": {"text": "Hi"}},
            MESSENGER_MESSAGE_TAG="ACCOUNT_UPDATE",
            MESSENGER_MESSAGING_TYPE="RESPONSE",
        )


# --- overrides (§7.2) ----------------------------------------------------------------------------


def test_explicit_channel_message_is_the_native_message_object() -> None:
    explicit = {"text": "native", "quick_replies": [{"content_type": "user_email"}]}
    sent = native(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {"MESSENGER": json.dumps(explicit)},
            "explicit_channel_omni_message": {"MESSENGER": {"text_message": {"text": "omni"}}},
        },
        MESSENGER_NOTIFICATION_TYPE="NO_PUSH",
    )
    assert sent == body(explicit, notification_type="NO_PUSH")


def test_explicit_channel_message_with_a_message_key_is_the_whole_body() -> None:
    explicit = {
        "recipient": {"id": "999"},
        "messaging_type": "UPDATE",
        "message": {"text": "whole body"},
    }
    sent = native(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {"MESSENGER": json.dumps(explicit)},
        },
        MESSENGER_NOTIFICATION_TYPE="SILENT_PUSH",
    )
    assert sent == {
        "recipient": {"id": PSID},
        "messaging_type": "UPDATE",
        "notification_type": "SILENT_PUSH",
        "message": {"text": "whole body"},
    }


def test_explicit_sender_action_is_sent_as_is() -> None:
    sent = native(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {"MESSENGER": '{"sender_action": "mark_seen"}'},
        }
    )
    assert sent == {"recipient": {"id": PSID}, "sender_action": "mark_seen"}


def test_explicit_channel_message_must_be_an_object() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        native({"text_message": {"text": "g"}, "explicit_channel_message": {"MESSENGER": "[1]"}})


def test_explicit_channel_omni_message_replaces_the_content() -> None:
    sent = native(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_omni_message": {
                "SMS": {"text_message": {"text": "for sms"}},
                "MESSENGER": {"media_message": {"url": "https://cdn.example.com/x.png"}},
            },
        }
    )
    assert sent == body(image("https://cdn.example.com/x.png"))


def test_an_omni_template_reference_is_resolved_before_transcoding() -> None:
    with pytest.raises(TemplateNotResolved):
        native(
            {
                "text_message": {"text": "generic"},
                "explicit_channel_omni_message": {
                    "MESSENGER": {"template_reference": {"template_id": "t"}}
                },
            }
        )


def test_channel_specific_message_is_ignored_on_messenger() -> None:
    sent = native(
        {
            "text_message": {"text": "generic"},
            "channel_specific_message": {
                "MESSENGER": {"message_type": "FLOWS", "message": {"flow_id": "1"}}
            },
        }
    )
    assert sent == body({"text": "generic"})


def test_overrides_for_other_channels_are_ignored() -> None:
    sent = native(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {"SMS": "sms body"},
        }
    )
    assert sent == body({"text": "generic"})


# --- events --------------------------------------------------------------------------------------


def test_composing_events_are_typing_sender_actions() -> None:
    on = PLUGIN.transcode_event(AppEvent.model_validate({"composing_event": {}}), event_id="e")
    off = PLUGIN.transcode_event(AppEvent.model_validate({"composing_end_event": {}}), event_id="e")
    assert on.native == {"recipient": {"id": ""}, "sender_action": "typing_on"}
    assert off.native["sender_action"] == "typing_off"


def test_other_app_events_are_unsupported() -> None:
    with pytest.raises(ChannelFailure) as failure:
        PLUGIN.transcode_event(
            AppEvent.model_validate({"generic_event": {"payload": {"a": 1}}}), event_id="e"
        )
    assert failure.value.code == "UNSUPPORTED_OPERATION"

"""Golden tests of the VIBER transcoder (CHANNELS.md part 2 §3.4): generic message in, Viber
REST Bot API `send_message` body out, one per message type and per override."""

import json
from typing import Any

import pytest

from chorus.channels.sms.transcode import TemplateNotResolved
from chorus.channels.viber.plugin import PLUGIN
from chorus.messages.transcoding import TranscodingFailed, transcode_message
from chorus.wire.messages import AppMessage

MID = "01HX5Y0Q7V3C9G2ZB1M4RT6K8N"
USER = "9KC0p+pi4zPGDO99ACDxoQ=="
ACME = {"VIBER_SENDER_NAME": "Acme"}


def viber(message: dict[str, Any], properties: dict[str, str] | None = None) -> Any:
    transcoded = PLUGIN.transcode(
        AppMessage.model_validate(message),
        message_id=MID,
        recipient=USER,
        properties=ACME if properties is None else properties,
    )
    return transcoded.native


def head(version: int = 1) -> dict[str, Any]:
    return {"receiver": USER, "min_api_version": version, "sender": {"name": "Acme"}}


def button(kind: str, body: str, text: str) -> dict[str, Any]:
    return {
        "Columns": 6,
        "Rows": 1,
        "ActionType": kind,
        "ActionBody": body,
        "Text": text,
        "Silent": True,
    }


def test_text_message_is_a_text() -> None:
    assert viber({"text_message": {"text": "Hello"}}) == {**head(), "type": "text", "text": "Hello"}


def test_text_over_7000_characters_fails_with_bad_request() -> None:
    message = AppMessage.model_validate({"text_message": {"text": "x" * 4000}})
    long = message.model_copy(
        update={"text_message": message.text_message.model_copy(update={"text": "x" * 7001})}
    )
    with pytest.raises(TranscodingFailed) as failed:
        transcode_message(PLUGIN, long, message_id=MID, recipient=USER)
    assert failed.value.reason["code"] == "BAD_REQUEST"
    assert "7000" in failed.value.reason["description"]


def test_sender_name_and_avatar_come_from_channel_properties_and_the_name_is_cut() -> None:
    native = viber(
        {"text_message": {"text": "Hi"}},
        {"VIBER_SENDER_NAME": "A" * 30, "VIBER_SENDER_AVATAR": "https://cdn.example.com/a.png"},
    )
    assert native["sender"] == {
        "name": "A" * 27 + "\u2026",
        "avatar": "https://cdn.example.com/a.png",
    }


def test_sender_falls_back_to_the_given_sender_and_is_left_to_the_connector_without_one() -> None:
    message = AppMessage.model_validate({"text_message": {"text": "Hi"}})
    named = PLUGIN.transcode(message, message_id=MID, sender="Shop", properties={})
    assert named.native["sender"] == {"name": "Shop"}
    assert "receiver" not in named.native
    assert "sender" not in PLUGIN.transcode(message, message_id=MID).native


def test_image_media_is_a_picture_with_its_thumbnail() -> None:
    native = viber(
        {
            "media_message": {
                "url": "https://cdn.example.com/a.JPG?x=1",
                "thumbnail_url": "https://cdn.example.com/t.jpg",
            }
        }
    )
    assert native == {
        **head(),
        "type": "picture",
        "media": "https://cdn.example.com/a.JPG?x=1",
        "thumbnail": "https://cdn.example.com/t.jpg",
    }


def test_video_media_is_a_video_whose_size_the_connector_adds() -> None:
    native = viber({"media_message": {"url": "https://cdn.example.com/clip.mp4"}})
    assert native == {**head(), "type": "video", "media": "https://cdn.example.com/clip.mp4"}


def test_audio_and_documents_are_files_named_by_override_or_path() -> None:
    audio = viber({"media_message": {"url": "https://cdn.example.com/v/voice.mp3"}})
    assert audio == {
        **head(),
        "type": "file",
        "media": "https://cdn.example.com/v/voice.mp3",
        "file_name": "voice.mp3",
    }
    document = viber(
        {
            "media_message": {
                "url": "https://cdn.example.com/download",
                "filename_override": "invoice.pdf",
            }
        }
    )
    assert document["type"] == "file" and document["file_name"] == "invoice.pdf"


CHOICE = {
    "choice_message": {
        "text_message": {"text": "How can we help?"},
        "choices": [
            {"text_message": {"text": "Track order"}, "postback_data": "track"},
            {"text_message": {"text": "Talk to a person"}},
            {"url_message": {"title": "FAQ", "url": "https://help.example.com"}},
            {"call_message": {"title": "Call us", "phone_number": "+46732000000"}},
        ],
    }
}


def test_choice_message_is_a_text_with_a_keyboard_the_worked_example() -> None:
    assert viber(CHOICE) == {
        **head(),
        "type": "text",
        "text": "How can we help?",
        "keyboard": {
            "Type": "keyboard",
            "DefaultHeight": False,
            "Buttons": [
                button("reply", f"{MID}:track", "Track order"),
                button("reply", f"{MID}#1", "Talk to a person"),
                button("open-url", "https://help.example.com", "FAQ"),
                button("open-url", "tel:+46732000000", "Call us"),
            ],
        },
    }


def test_reply_choices_are_returned_as_options_numbered_index_plus_one() -> None:
    transcoded = PLUGIN.transcode(AppMessage.model_validate(CHOICE), message_id=MID)
    assert [(o.number, o.label, o.postback_data) for o in transcoded.options] == [
        (1, "Track order", "track"),
        (2, "Talk to a person", None),
    ]


def test_location_calendar_and_share_location_choices() -> None:
    native = viber(
        {
            "choice_message": {
                "text_message": {"text": "Pick"},
                "choices": [
                    {
                        "location_message": {
                            "title": "Shop",
                            "coordinates": {"latitude": 59.33, "longitude": 18.06},
                        }
                    },
                    {
                        "calendar_message": {
                            "title": "Book",
                            "event_start": "2024-05-01T10:00:00Z",
                            "event_end": "2024-05-01T11:00:00Z",
                            "event_title": "Visit",
                            "fallback_url": "https://cal.example.com/e",
                        }
                    },
                    {
                        "share_location_message": {
                            "title": "Where are you?",
                            "fallback_url": "https://example.com",
                        }
                    },
                ],
            }
        }
    )
    buttons = native["keyboard"]["Buttons"]
    assert buttons[0] == button("open-url", "https://maps.google.com/?q=59.33,18.06", "Shop")
    assert buttons[1] == button("open-url", "https://cal.example.com/e", "Book")
    assert buttons[2]["ActionType"] == "location-picker"
    assert native["min_api_version"] == 3


def test_button_labels_are_cut_to_250() -> None:
    native = viber(
        {
            "choice_message": {
                "text_message": {"text": "?"},
                "choices": [{"text_message": {"text": "y" * 300}}],
            }
        }
    )
    assert native["keyboard"]["Buttons"][0]["Text"] == "y" * 249 + "\u2026"


def test_card_message_is_rich_media_the_worked_example() -> None:
    native = viber(
        {
            "card_message": {
                "title": "Spring sale",
                "description": "All shoes 20% off",
                "media_message": {"url": "https://cdn.example.com/shoes.jpg"},
                "choices": [
                    {"text_message": {"text": "Remind me"}, "postback_data": "remind"},
                    {"url_message": {"title": "Open", "url": "https://shop.example.com/sale"}},
                ],
            }
        }
    )
    assert native == {
        **head(2),
        "type": "rich_media",
        "alt_text": "Spring sale\nAll shoes 20% off",
        "rich_media": {
            "Type": "rich_media",
            "ButtonsGroupColumns": 6,
            "ButtonsGroupRows": 7,
            "Buttons": [
                {
                    "Columns": 6,
                    "Rows": 3,
                    "ActionType": "none",
                    "Image": "https://cdn.example.com/shoes.jpg",
                },
                {
                    "Columns": 6,
                    "Rows": 2,
                    "ActionType": "none",
                    "Text": "<b>Spring sale</b><br>All shoes 20% off",
                },
                button("reply", f"{MID}:remind", "Remind me"),
                button("open-url", "https://shop.example.com/sale", "Open"),
            ],
        },
    }


def test_card_choices_that_do_not_fit_seven_rows_go_to_a_keyboard() -> None:
    native = viber(
        {
            "card_message": {
                "title": "T",
                "media_message": {"url": "https://cdn.example.com/i.png"},
                "choices": [
                    {"text_message": {"text": f"c{i}"}, "postback_data": f"p{i}"} for i in range(4)
                ],
            }
        }
    )
    assert [b.get("Text") for b in native["rich_media"]["Buttons"]] == [
        None,
        "<b>T</b>",
        "c0",
        "c1",
    ]
    assert [b["Text"] for b in native["keyboard"]["Buttons"]] == ["c2", "c3"]


def test_card_with_non_image_media_sends_the_media_first() -> None:
    native = viber(
        {
            "card_message": {
                "title": "Manual",
                "media_message": {"url": "https://x.example.com/m.pdf"},
            }
        }
    )
    assert isinstance(native, list) and len(native) == 2
    assert native[0] == {
        **head(),
        "type": "file",
        "media": "https://x.example.com/m.pdf",
        "file_name": "m.pdf",
    }
    assert native[1]["type"] == "rich_media"
    assert native[1]["rich_media"]["Buttons"] == [
        {"Columns": 6, "Rows": 2, "ActionType": "none", "Text": "<b>Manual</b>"}
    ]


def test_carousel_is_rich_media_with_items_padded_to_the_tallest() -> None:
    native = viber(
        {
            "carousel_message": {
                "cards": [
                    {
                        "title": "A",
                        "media_message": {"url": "https://c.example.com/a.jpg"},
                        "choices": [{"text_message": {"text": "Buy A"}}],
                    },
                    {"title": "B", "description": "b"},
                ],
                "choices": [{"url_message": {"title": "All", "url": "https://c.example.com"}}],
            }
        }
    )
    assert native["min_api_version"] == 7
    rich = native["rich_media"]
    assert rich["ButtonsGroupRows"] == 6
    assert rich["Buttons"] == [
        {"Columns": 6, "Rows": 3, "ActionType": "none", "Image": "https://c.example.com/a.jpg"},
        {"Columns": 6, "Rows": 2, "ActionType": "none", "Text": "<b>A</b>"},
        button("reply", f"{MID}#0", "Buy A"),
        {"Columns": 6, "Rows": 2, "ActionType": "none", "Text": "<b>B</b><br>b"},
        {"Columns": 6, "Rows": 4, "ActionType": "none"},
    ]
    assert native["alt_text"] == "A\nB\nb"
    assert native["keyboard"]["Buttons"] == [button("open-url", "https://c.example.com", "All")]


def test_carousel_over_six_cards_fails() -> None:
    message = {"carousel_message": {"cards": [{"title": str(i)} for i in range(7)]}}
    with pytest.raises(ValueError, match="6 cards"):
        viber(message)


def test_location_message_sends_its_title_first() -> None:
    native = viber(
        {
            "location_message": {
                "title": "Head office",
                "label": "Main St 1",
                "coordinates": {"latitude": 59.3293, "longitude": 18.0686},
            }
        }
    )
    assert native == [
        {**head(), "type": "text", "text": "Head office\nMain St 1"},
        {**head(), "type": "location", "location": {"lat": 59.3293, "lon": 18.0686}},
    ]


def test_contact_info_is_a_contact_and_extra_details_follow_as_text() -> None:
    only = viber(
        {
            "contact_info_message": {
                "name": {"full_name": "Jane Doe"},
                "phone_numbers": [{"phone_number": "+46732000000"}],
            }
        }
    )
    assert only == {
        **head(),
        "type": "contact",
        "contact": {"name": "Jane Doe", "phone_number": "+46732000000"},
    }
    more = viber(
        {
            "contact_info_message": {
                "name": {"full_name": "Jane Doe"},
                "phone_numbers": [{"phone_number": "+46732000000"}],
                "email_addresses": [{"email_address": "jane@example.com"}],
            }
        }
    )
    assert more[0]["type"] == "contact"
    assert more[1] == {
        **head(),
        "type": "text",
        "text": "Jane Doe\nTel: +46732000000\nEmail: jane@example.com",
    }


def test_list_message_is_degraded_to_text_with_a_reply_keyboard() -> None:
    native = viber(
        {
            "list_message": {
                "title": "Menu",
                "sections": [
                    {
                        "title": "Drinks",
                        "items": [
                            {"choice": {"title": "Tea", "postback_data": "tea"}},
                            {"choice": {"title": "Coffee"}},
                        ],
                    }
                ],
            }
        }
    )
    assert native == {
        **head(),
        "type": "text",
        "text": "Menu\nDrinks\n1. Tea\n2. Coffee",
        "keyboard": {
            "Type": "keyboard",
            "DefaultHeight": False,
            "Buttons": [
                button("reply", f"{MID}:tea", "Tea"),
                button("reply", f"{MID}#1", "Coffee"),
            ],
        },
    }


def test_template_message_is_left_to_the_template_component() -> None:
    with pytest.raises(TemplateNotResolved):
        viber({"template_message": {"omni_template": {"template_id": "t", "version": "1"}}})


def test_explicit_channel_message_is_sent_as_given_with_receiver_and_missing_fields() -> None:
    payload = json.dumps({"type": "sticker", "sticker_id": 40133})
    native = viber(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {"VIBER": payload, "SMS": "other"},
            "explicit_channel_omni_message": {"VIBER": {"text_message": {"text": "omni"}}},
        }
    )
    assert native == {**head(), "type": "sticker", "sticker_id": 40133}
    kept = viber(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {
                "VIBER": json.dumps(
                    {
                        "receiver": "x",
                        "min_api_version": 3,
                        "sender": {"avatar": "https://a"},
                        "type": "text",
                        "text": "raw",
                    }
                )
            },
        }
    )
    assert kept == {
        "receiver": USER,
        "min_api_version": 3,
        "sender": {"name": "Acme", "avatar": "https://a"},
        "type": "text",
        "text": "raw",
    }


def test_explicit_channel_omni_message_replaces_the_content_for_viber_only() -> None:
    native = viber(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_omni_message": {
                "VIBER": {"text_message": {"text": "for viber"}},
                "SMS": {"text_message": {"text": "sms"}},
            },
            "channel_specific_message": {"VIBER": {"message_type": "FLOWS", "message": {}}},
        }
    )
    assert native == {**head(), "type": "text", "text": "for viber"}


def test_channel_specific_message_is_ignored_on_viber() -> None:
    native = viber(
        {
            "text_message": {"text": "generic"},
            "channel_specific_message": {"VIBER": {"message_type": "FLOWS", "message": {"a": 1}}},
        }
    )
    assert native == {**head(), "type": "text", "text": "generic"}


def test_omni_template_reference_is_left_to_the_template_component() -> None:
    with pytest.raises(TemplateNotResolved):
        viber(
            {
                "text_message": {"text": "generic"},
                "explicit_channel_omni_message": {
                    "VIBER": {"template_reference": {"template_id": "t"}}
                },
            }
        )

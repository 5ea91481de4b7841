"""Golden tests of the RCS transcoder (CHANNELS.md part 1 §3.4): generic JSON in, the RBM
AgentMessage body out, one per message type and per override, and the limits."""

import json
from typing import Any

import pytest

from chorus.channels.rcs.plugin import PLUGIN
from chorus.channels.sms.transcode import TemplateNotResolved
from chorus.wire.events import AppEvent
from chorus.wire.messages import AppMessage

MID = "01HZX0RCS0000000000000000A"


def native(message: dict[str, Any]) -> dict[str, Any]:
    return PLUGIN.transcode(AppMessage.model_validate(message), message_id=MID).native


def content(message: dict[str, Any]) -> dict[str, Any]:
    body = native(message)
    assert set(body) == {"contentMessage"}
    return body["contentMessage"]


def test_text_message_is_rbm_text() -> None:
    assert native({"text_message": {"text": "Hello"}}) == {"contentMessage": {"text": "Hello"}}


def test_text_over_3072_characters_fails_with_bad_request() -> None:
    assert content({"text_message": {"text": "x" * 3072}}) == {"text": "x" * 3072}
    with pytest.raises(ValueError, match="3072"):
        native({"text_message": {"text": "x" * 3073}})


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/a.JPG",
        "https://cdn.example.com/a.png?size=2",
        "https://cdn.example.com/clip.mp4",
        "https://cdn.example.com/voice.mp3",
        "https://cdn.example.com/terms.pdf",
    ],
)
def test_media_files_go_as_content_info(url: str) -> None:
    assert content({"media_message": {"url": url}}) == {"contentInfo": {"fileUrl": url}}


def test_media_thumbnail_is_kept_and_filename_ignored() -> None:
    assert content(
        {
            "media_message": {
                "url": "https://cdn.example.com/clip.mp4",
                "thumbnail_url": "https://cdn.example.com/clip.jpg",
                "filename_override": "clip.mp4",
            }
        }
    ) == {
        "contentInfo": {
            "fileUrl": "https://cdn.example.com/clip.mp4",
            "thumbnailUrl": "https://cdn.example.com/clip.jpg",
        }
    }


def test_other_media_types_go_as_a_text_link() -> None:
    url = "https://cdn.example.com/sheet.xlsx"
    assert content({"media_message": {"url": url}}) == {"text": url}


CHOICE = {
    "choice_message": {
        "text_message": {"text": "How can we help?"},
        "choices": [
            {"text_message": {"text": "Track order"}, "postback_data": "track"},
            {"url_message": {"title": "Shop", "url": "https://shop.example.com"}},
            {"call_message": {"title": "Call us", "phone_number": "46732000000"}},
            {
                "location_message": {
                    "title": "Store",
                    "label": "Main street 1",
                    "coordinates": {"latitude": 59.33, "longitude": 18.06},
                }
            },
            {
                "calendar_message": {
                    "title": "Book a visit",
                    "event_start": "2024-06-01T10:00:00Z",
                    "event_end": "2024-06-01T11:00:00Z",
                    "event_title": "Store visit",
                    "event_description": "Bring the receipt",
                    "fallback_url": "https://shop.example.com/book",
                },
                "postback_data": "book",
            },
            {
                "share_location_message": {
                    "title": "Share location",
                    "fallback_url": "https://shop.example.com/where",
                },
                "postback_data": "loc",
            },
        ],
    }
}


def test_choice_message_becomes_suggestions_with_enveloped_postbacks() -> None:
    assert content(CHOICE) == {
        "text": "How can we help?",
        "suggestions": [
            {"reply": {"text": "Track order", "postbackData": f"{MID}|track"}},
            {
                "action": {
                    "text": "Shop",
                    "postbackData": f"{MID}|{MID}_Shop",
                    "openUrlAction": {"url": "https://shop.example.com"},
                }
            },
            {
                "action": {
                    "text": "Call us",
                    "postbackData": f"{MID}|{MID}_Call us",
                    "dialAction": {"phoneNumber": "+46732000000"},
                }
            },
            {
                "action": {
                    "text": "Store",
                    "postbackData": f"{MID}|{MID}_Store",
                    "viewLocationAction": {
                        "latLong": {"latitude": 59.33, "longitude": 18.06},
                        "label": "Main street 1",
                    },
                }
            },
            {
                "action": {
                    "text": "Book a visit",
                    "postbackData": f"{MID}|book",
                    "fallbackUrl": "https://shop.example.com/book",
                    "createCalendarEventAction": {
                        "startTime": "2024-06-01T10:00:00Z",
                        "endTime": "2024-06-01T11:00:00Z",
                        "title": "Store visit",
                        "description": "Bring the receipt",
                    },
                }
            },
            {
                "action": {
                    "text": "Share location",
                    "postbackData": f"{MID}|loc",
                    "fallbackUrl": "https://shop.example.com/where",
                    "shareLocationAction": {},
                }
            },
        ],
    }


def test_suggestion_labels_are_cut_to_25_characters() -> None:
    message = {
        "choice_message": {
            "text_message": {"text": "Pick"},
            "choices": [{"text_message": {"text": "A very long answer that goes on"}}],
        }
    }
    (suggestion,) = content(message)["suggestions"]
    assert suggestion["reply"]["text"] == "A very long answer that \u2026"
    assert len(suggestion["reply"]["text"]) == 25
    # The postback keeps the whole label: it is what the app gets back.
    assert suggestion["reply"]["postbackData"] == f"{MID}|{MID}_A very long answer that goes on"


def test_a_postback_over_2048_characters_fails() -> None:
    message = {
        "choice_message": {
            "text_message": {"text": "Pick"},
            "choices": [{"text_message": {"text": "Yes"}, "postback_data": "p" * 2030}],
        }
    }
    with pytest.raises(ValueError, match="postback"):
        native(message)


def test_a_choice_message_without_text_fails() -> None:
    with pytest.raises(ValueError, match="text_message"):
        native({"choice_message": {"choices": [{"text_message": {"text": "Yes"}}]}})


CARD = {
    "card_message": {
        "title": "Spring sale",
        "description": "All shoes 20% off",
        "media_message": {"url": "https://cdn.example.com/shoes.jpg"},
        "height": "TALL",
        "choices": [
            {"text_message": {"text": "Remind me"}, "postback_data": "remind"},
            {"url_message": {"title": "Open", "url": "https://shop.example.com/sale"}},
        ],
    }
}


def test_card_message_is_a_standalone_rich_card() -> None:
    assert content(CARD) == {
        "richCard": {
            "standaloneCard": {
                "cardOrientation": "VERTICAL",
                "cardContent": {
                    "title": "Spring sale",
                    "description": "All shoes 20% off",
                    "media": {
                        "height": "TALL",
                        "contentInfo": {"fileUrl": "https://cdn.example.com/shoes.jpg"},
                    },
                    "suggestions": [
                        {"reply": {"text": "Remind me", "postbackData": f"{MID}|remind"}},
                        {
                            "action": {
                                "text": "Open",
                                "postbackData": f"{MID}|{MID}_Open",
                                "openUrlAction": {"url": "https://shop.example.com/sale"},
                            }
                        },
                    ],
                },
            }
        }
    }


def test_card_height_defaults_to_medium_and_long_titles_are_cut() -> None:
    card = content(
        {"card_message": {"title": "T" * 250, "media_message": {"url": "https://x.test/a.png"}}}
    )["richCard"]["standaloneCard"]["cardContent"]
    assert card["media"]["height"] == "MEDIUM"
    assert len(card["title"]) == 200 and card["title"].endswith("\u2026")


def test_card_limits() -> None:
    with pytest.raises(ValueError, match="title or media"):
        native({"card_message": {"description": "only words"}})
    with pytest.raises(ValueError, match="2000"):
        native({"card_message": {"title": "T", "description": "d" * 2001}})
    five = [{"text_message": {"text": f"c{i}"}} for i in range(5)]
    with pytest.raises(ValueError, match="at most 4"):
        native({"card_message": {"title": "T", "choices": five}})


def card(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "media_message": {"url": f"https://cdn.example.com/{title}.png"},
        "choices": [{"text_message": {"text": f"Buy {title}"}, "postback_data": title}],
    }


def test_carousel_message_is_a_carousel_card_with_outer_suggestions() -> None:
    message = {
        "carousel_message": {
            "cards": [card("red"), card("blue")],
            "choices": [{"text_message": {"text": "More"}, "postback_data": "more"}],
        }
    }
    assert content(message) == {
        "richCard": {
            "carouselCard": {
                "cardWidth": "MEDIUM",
                "cardContents": [
                    {
                        "title": name,
                        "media": {
                            "height": "MEDIUM",
                            "contentInfo": {"fileUrl": f"https://cdn.example.com/{name}.png"},
                        },
                        "suggestions": [
                            {"reply": {"text": f"Buy {name}", "postbackData": f"{MID}|{name}"}}
                        ],
                    }
                    for name in ("red", "blue")
                ],
            }
        },
        "suggestions": [{"reply": {"text": "More", "postbackData": f"{MID}|more"}}],
    }


def test_a_carousel_of_one_card_is_a_standalone_card() -> None:
    message = {
        "carousel_message": {
            "cards": [card("red")],
            "choices": [{"text_message": {"text": "More"}, "postback_data": "more"}],
        }
    }
    result = content(message)
    assert result["richCard"]["standaloneCard"]["cardContent"]["title"] == "red"
    assert result["suggestions"] == [{"reply": {"text": "More", "postbackData": f"{MID}|more"}}]


def test_location_message_is_text_with_a_view_location_action() -> None:
    message = {
        "location_message": {
            "title": "Our store",
            "label": "Main street 1",
            "coordinates": {"latitude": 59.3293, "longitude": 18.0686},
        }
    }
    assert content(message) == {
        "text": "Our store\nMain street 1",
        "suggestions": [
            {
                "action": {
                    "text": "View location",
                    "postbackData": f"{MID}|{MID}_View location",
                    "viewLocationAction": {
                        "latLong": {"latitude": 59.3293, "longitude": 18.0686},
                        "label": "Main street 1",
                    },
                }
            }
        ],
    }


def test_contact_info_message_is_the_readable_card() -> None:
    message = {
        "contact_info_message": {
            "name": {"full_name": "Ada Lovelace"},
            "phone_numbers": [{"phone_number": "+46732000000", "type": "WORK"}],
            "email_addresses": [{"email_address": "ada@example.com"}],
        }
    }
    assert content(message) == {
        "text": "Ada Lovelace\nTel (WORK): +46732000000\nEmail: ada@example.com"
    }


def test_list_message_is_text_with_a_reply_per_item() -> None:
    message = {
        "list_message": {
            "title": "Menu",
            "description": "Pick a dish",
            "sections": [
                {
                    "title": "Mains",
                    "items": [
                        {"choice": {"title": "Soup", "description": "hot", "postback_data": "s"}},
                        {"choice": {"title": "Salad"}},
                    ],
                }
            ],
        }
    }
    assert content(message) == {
        "text": "Menu\nPick a dish\nMains\n1. Soup \u2013 hot\n2. Salad",
        "suggestions": [
            {"reply": {"text": "Soup", "postbackData": f"{MID}|s"}},
            {"reply": {"text": "Salad", "postbackData": f"{MID}|{MID}_Salad"}},
        ],
    }


def test_product_list_is_text_only() -> None:
    message = {
        "list_message": {
            "title": "Catalogue",
            "sections": [{"items": [{"product": {"id": "sku1", "marketplace": "FACEBOOK"}}]}],
            "message_properties": {"catalog_id": "cat"},
        }
    }
    assert content(message) == {"text": "Catalogue\n1. sku1"}


def test_template_messages_wait_for_the_template_component() -> None:
    omni = {"omni_template": {"template_id": "t", "version": "1"}}
    with pytest.raises(TemplateNotResolved):
        native({"template_message": omni})
    only_channel = {"channel_template": {"RCS": {"template_id": "t"}}}
    with pytest.raises(ValueError, match="channel templates"):
        native({"template_message": only_channel})


def test_explicit_channel_message_is_sent_as_is() -> None:
    body = {"contentMessage": {"text": "raw"}, "ttl": "60s"}
    message = {
        "text_message": {"text": "generic"},
        "explicit_channel_message": {"RCS": json.dumps(body)},
    }
    assert native(message) == body


def test_explicit_channel_message_must_be_a_json_object() -> None:
    message = {"text_message": {"text": "generic"}, "explicit_channel_message": {"RCS": "[1]"}}
    with pytest.raises(ValueError, match="JSON object"):
        native(message)


def test_explicit_omni_message_replaces_the_content_for_rcs_only() -> None:
    message = {
        "text_message": {"text": "generic"},
        "explicit_channel_omni_message": {
            "RCS": {"media_message": {"url": "https://cdn.example.com/a.png"}},
            "SMS": {"text_message": {"text": "for sms"}},
        },
    }
    assert content(message) == {"contentInfo": {"fileUrl": "https://cdn.example.com/a.png"}}


def test_channel_specific_message_is_ignored_on_rcs() -> None:
    message = {
        "text_message": {"text": "generic"},
        "channel_specific_message": {"RCS": {"message_type": "FLOWS", "message": {"a": 1}}},
    }
    assert content(message) == {"text": "generic"}


def test_explicit_message_wins_over_the_omni_override() -> None:
    message = {
        "text_message": {"text": "generic"},
        "explicit_channel_message": {"RCS": '{"contentMessage": {"text": "explicit"}}'},
        "explicit_channel_omni_message": {"RCS": {"text_message": {"text": "omni"}}},
    }
    assert content(message) == {"text": "explicit"}


def test_composing_event_is_is_typing() -> None:
    event = AppEvent.model_validate({"composing_event": {}})
    assert PLUGIN.transcode_event(event, event_id="E").native == {"eventType": "IS_TYPING"}


def test_an_explicit_messages_suggestions_are_remembered() -> None:
    body = {
        "contentMessage": {
            "richCard": {
                "standaloneCard": {
                    "cardContent": {
                        "title": "T",
                        "suggestions": [{"reply": {"text": "A", "postbackData": "a"}}],
                    }
                }
            },
            "suggestions": [{"action": {"text": "B", "postbackData": "b", "dialAction": {}}}],
        }
    }
    message = {"text_message": {"text": "g"}, "explicit_channel_message": {"RCS": json.dumps(body)}}
    transcoded = PLUGIN.transcode(AppMessage.model_validate(message), message_id=MID)
    assert [(o.label, o.postback_data) for o in transcoded.options] == [("B", "b"), ("A", "a")]

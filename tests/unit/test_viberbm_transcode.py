"""Golden tests of the VIBERBM transcoder (CHANNELS.md part 2 §2.4): generic JSON in, the
chorus-owned native body out — native where the channel has the type, the SMS rendering as a
`type: text` where it does not, overrides by §7.2's precedence, and the limits."""

import json
from typing import Any

import pytest

from chorus.channels.base import ReplyOption
from chorus.channels.sms.transcode import TemplateNotResolved
from chorus.channels.viberbm.plugin import PLUGIN
from chorus.channels.viberbm.transcode import ViberBmTranscoded
from chorus.wire.messages import AppMessage

MESSAGE_ID = "01HX5Y0Q7V3C9G2ZB1M4RT6K8N"
RECEIVER = "46732000000"
HEAD = {
    "client_ref": MESSAGE_ID,
    "receiver": RECEIVER,
    "message_class": "transactional",
    "ttl": 86400,
}


def native(generic: dict[str, Any]) -> dict[str, Any]:
    message = AppMessage.model_validate(generic)
    transcoded = PLUGIN.transcode(message, message_id=MESSAGE_ID, recipient=RECEIVER)
    wire = json.loads(transcoded.wire)
    assert wire == transcoded.native
    return wire


def options(generic: dict[str, Any]) -> list[ReplyOption]:
    message = AppMessage.model_validate(generic)
    return list(PLUGIN.transcode(message, message_id=MESSAGE_ID, recipient=RECEIVER).options)


def test_text_is_a_native_text_message() -> None:
    generic = {"text_message": {"text": "Your order *shipped*"}}
    assert native(generic) == {**HEAD, "type": "text", "text": "Your order *shipped*"}


def test_a_text_of_1000_characters_passes_and_1001_fails_bad_request() -> None:
    assert native({"text_message": {"text": "a" * 1000}})["text"] == "a" * 1000
    with pytest.raises(ValueError, match="1001 characters; the limit is 1000"):
        native({"text_message": {"text": "a" * 1001}})


def test_transcode_without_recipient_leaves_the_receiver_to_the_connector() -> None:
    message = AppMessage.model_validate({"text_message": {"text": "hi"}})
    body = PLUGIN.transcode(message, message_id=MESSAGE_ID).native
    assert "receiver" not in body and body["client_ref"] == MESSAGE_ID


@pytest.mark.parametrize("url", ["https://cdn.example.com/a.jpg", "https://x.example/B.PNG?v=2"])
def test_jpg_and_png_images_are_native_images(url: str) -> None:
    assert native({"media_message": {"url": url}}) == {**HEAD, "type": "image", "image_url": url}


def test_a_video_with_a_thumbnail_is_a_native_video() -> None:
    generic = {
        "media_message": {
            "url": "https://cdn.example.com/clip.mp4",
            "thumbnail_url": "https://cdn.example.com/clip.jpg",
        }
    }
    assert native(generic) == {
        **HEAD,
        "type": "video",
        "video": {
            "url": "https://cdn.example.com/clip.mp4",
            "thumbnail_url": "https://cdn.example.com/clip.jpg",
        },
    }


def test_a_video_without_a_thumbnail_degrades_to_its_link() -> None:
    generic = {"media_message": {"url": "https://cdn.example.com/clip.mp4"}}
    assert native(generic) == {**HEAD, "type": "text", "text": "https://cdn.example.com/clip.mp4"}


def test_a_listed_document_is_a_file_named_by_the_url_or_the_override() -> None:
    url = "https://cdn.example.com/docs/Invoice%2042.pdf"
    assert native({"media_message": {"url": url}}) == {
        **HEAD,
        "type": "file",
        "file": {"url": url, "name": "Invoice 42.pdf"},
    }
    generic = {"media_message": {"url": url, "filename_override": "receipt.pdf"}}
    assert native(generic)["file"] == {"url": url, "name": "receipt.pdf"}


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/song.mp3",  # audio
        "https://cdn.example.com/anim.gif",  # image type Viber BM does not take
        "https://cdn.example.com/pic.webp",
        "https://cdn.example.com/archive.zip",  # unlisted document
        "https://cdn.example.com/download",  # no extension
    ],
)
def test_other_media_degrades_to_a_text_link(url: str) -> None:
    assert native({"media_message": {"url": url}}) == {**HEAD, "type": "text", "text": url}


def test_a_choice_with_one_url_choice_is_a_text_with_an_open_url_button() -> None:
    generic = {
        "choice_message": {
            "text_message": {"text": "Read the terms"},
            "choices": [{"url_message": {"title": "Open", "url": "https://t.example.com"}}],
        }
    }
    assert native(generic) == {
        **HEAD,
        "type": "text",
        "text": "Read the terms",
        "button": {"caption": "Open", "action": "open_url", "url": "https://t.example.com"},
    }
    assert options(generic) == []


def test_a_single_call_choice_is_a_call_button_with_a_leading_plus() -> None:
    generic = {
        "choice_message": {
            "text_message": {"text": "Questions?"},
            "choices": [{"call_message": {"title": "Call us", "phone_number": "46732000000"}}],
        }
    }
    assert native(generic)["button"] == {
        "caption": "Call us",
        "action": "call",
        "phone_number": "+46732000000",
    }


def test_a_single_location_choice_is_a_location_button_and_long_captions_are_cut() -> None:
    generic = {
        "choice_message": {
            "text_message": {"text": "Find us"},
            "choices": [
                {
                    "location_message": {
                        "title": "Our flagship store in the old town of Stockholm",
                        "coordinates": {"latitude": 59.3251, "longitude": 18.0711},
                    }
                }
            ],
        }
    }
    button = native(generic)["button"]
    assert button == {
        "caption": "Our flagship store in the old\u2026",
        "action": "location",
        "location": {"lat": 59.3251, "lon": 18.0711},
    }
    assert len(button["caption"]) == 30


def test_a_choice_of_several_options_degrades_to_numbered_text() -> None:
    generic = {
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
    assert native(generic) == {
        **HEAD,
        "type": "text",
        "text": "How can we help?\n1. Track order\n2. Talk to a person\n"
        "3. FAQ: https://help.example.com\n4. Call us: +46732000000",
    }
    assert options(generic) == [
        ReplyOption(1, "Track order", "track"),
        ReplyOption(2, "Talk to a person", None),
        ReplyOption(3, "FAQ", None),
        ReplyOption(4, "Call us", None),
    ]


def test_a_single_text_choice_degrades_too() -> None:
    generic = {
        "choice_message": {
            "text_message": {"text": "Confirm?"},
            "choices": [{"text_message": {"text": "Yes"}, "postback_data": "yes"}],
        }
    }
    assert native(generic)["text"] == "Confirm?\n1. Yes"
    assert options(generic) == [ReplyOption(1, "Yes", "yes")]


SALE_CARD = {
    "title": "Spring sale",
    "description": "All shoes 20% off",
    "media_message": {"url": "https://cdn.example.com/shoes.jpg"},
    "height": "MEDIUM",
}


def test_a_card_with_an_image_and_one_url_choice_is_a_native_card() -> None:
    generic = {
        "card_message": {
            **SALE_CARD,
            "choices": [{"url_message": {"title": "Open", "url": "https://shop.example.com/s"}}],
        }
    }
    assert native(generic) == {
        **HEAD,
        "type": "card",
        "text": "Spring sale\nAll shoes 20% off",
        "image_url": "https://cdn.example.com/shoes.jpg",
        "button": {"caption": "Open", "action": "open_url", "url": "https://shop.example.com/s"},
    }


def test_a_card_with_an_image_and_no_choice_is_a_card_without_button() -> None:
    assert native({"card_message": SALE_CARD}) == {
        **HEAD,
        "type": "card",
        "text": "Spring sale\nAll shoes 20% off",
        "image_url": "https://cdn.example.com/shoes.jpg",
    }


def test_a_card_with_a_text_choice_degrades_to_the_sms_rendering() -> None:
    generic = {
        "card_message": {
            **SALE_CARD,
            "choices": [
                {"text_message": {"text": "Remind me"}, "postback_data": "remind"},
                {"url_message": {"title": "Open", "url": "https://shop.example.com/sale"}},
            ],
        }
    }
    assert native(generic) == {
        **HEAD,
        "type": "text",
        "text": "Spring sale\nAll shoes 20% off\nhttps://cdn.example.com/shoes.jpg\n"
        "1. Remind me\n2. Open: https://shop.example.com/sale",
    }
    assert options(generic)[0] == ReplyOption(1, "Remind me", "remind")


def test_a_card_with_a_video_degrades() -> None:
    generic = {
        "card_message": {"title": "Clip", "media_message": {"url": "https://c.example/v.mp4"}}
    }
    assert native(generic) == {**HEAD, "type": "text", "text": "Clip\nhttps://c.example/v.mp4"}


def test_a_carousel_degrades_with_numbering_across_cards() -> None:
    generic = {
        "carousel_message": {
            "cards": [
                {"title": "Red", "choices": [{"text_message": {"text": "Buy red"}}]},
                {"title": "Blue", "choices": [{"text_message": {"text": "Buy blue"}}]},
            ],
            "choices": [{"text_message": {"text": "None"}, "postback_data": "none"}],
        }
    }
    assert native(generic) == {
        **HEAD,
        "type": "text",
        "text": "Red\n1. Buy red\n\nBlue\n2. Buy blue\n\n3. None",
    }
    assert [o.number for o in options(generic)] == [1, 2, 3]


def test_a_location_degrades_to_title_label_and_maps_link() -> None:
    generic = {
        "location_message": {
            "title": "Head office",
            "label": "Main entrance",
            "coordinates": {"latitude": 59.3251, "longitude": 18.0711},
        }
    }
    assert native(generic) == {
        **HEAD,
        "type": "text",
        "text": "Head office\nMain entrance\nhttps://maps.google.com/?q=59.3251,18.0711",
    }


def test_contact_info_degrades_to_the_contact_card_block() -> None:
    generic = {
        "contact_info_message": {
            "name": {"full_name": "Ada Lovelace"},
            "phone_numbers": [{"phone_number": "+46732000000", "type": "WORK"}],
            "email_addresses": [{"email_address": "ada@example.com"}],
        }
    }
    assert native(generic) == {
        **HEAD,
        "type": "text",
        "text": "Ada Lovelace\nTel (WORK): +46732000000\nEmail: ada@example.com",
    }


def test_a_list_degrades_to_numbered_items_across_sections() -> None:
    generic = {
        "list_message": {
            "title": "Pick a slot",
            "sections": [
                {
                    "title": "Morning",
                    "items": [{"choice": {"title": "9:00", "postback_data": "9"}}],
                },
                {
                    "title": "Afternoon",
                    "items": [{"choice": {"title": "14:00", "description": "short"}}],
                },
            ],
        }
    }
    assert native(generic) == {
        **HEAD,
        "type": "text",
        "text": "Pick a slot\nMorning\n1. 9:00\nAfternoon\n2. 14:00 \u2013 short",
    }
    assert options(generic) == [ReplyOption(1, "9:00", "9"), ReplyOption(2, "14:00", None)]


def test_a_degraded_rendering_over_the_limit_fails() -> None:
    generic = {
        "choice_message": {
            "text_message": {"text": "x" * 990},
            "choices": [{"text_message": {"text": "one"}}, {"text_message": {"text": "two"}}],
        }
    }
    with pytest.raises(ValueError, match="limit is 1000"):
        native(generic)


def test_a_template_message_is_left_to_the_template_component() -> None:
    generic = {"template_message": {"omni_template": {"template_id": "t", "version": "1"}}}
    with pytest.raises(TemplateNotResolved):
        native(generic)


# --- overrides (CHANNELS.md §7.2) --------------------------------------------------------------


def test_explicit_channel_message_is_sent_as_given_with_chorus_addressing() -> None:
    explicit = {
        "receiver": "46700000000",
        "client_ref": "other",
        "type": "text",
        "text": "verbatim",
        "ttl": 600,
        "message_class": "promotional",
    }
    generic = {
        "text_message": {"text": "generic"},
        "explicit_channel_message": {"VIBERBM": json.dumps(explicit)},
        "explicit_channel_omni_message": {"VIBERBM": {"text_message": {"text": "omni"}}},
    }
    assert native(generic) == {
        "client_ref": MESSAGE_ID,
        "receiver": RECEIVER,
        "message_class": "promotional",
        "ttl": 600,
        "type": "text",
        "text": "verbatim",
    }
    message = AppMessage.model_validate(generic)
    transcoded = PLUGIN.transcode(message, message_id=MESSAGE_ID, recipient=RECEIVER)
    assert isinstance(transcoded, ViberBmTranscoded)
    assert transcoded.fixed == {"type", "text", "ttl", "message_class"}


def test_explicit_channel_message_skips_limits() -> None:
    generic = {
        "text_message": {"text": "generic"},
        "explicit_channel_message": {"VIBERBM": json.dumps({"type": "text", "text": "y" * 1200})},
    }
    assert native(generic)["text"] == "y" * 1200


def test_explicit_channel_message_must_be_an_object() -> None:
    message = AppMessage.model_construct(
        text_message=AppMessage.model_validate({"text_message": {"text": "x"}}).text_message,
        explicit_channel_message={"VIBERBM": "[1, 2]"},
    )
    with pytest.raises(ValueError, match="JSON object"):
        PLUGIN.transcode(message, message_id=MESSAGE_ID)


def test_explicit_channel_omni_message_replaces_the_content_and_is_transcoded() -> None:
    generic = {
        "text_message": {"text": "generic"},
        "explicit_channel_omni_message": {
            "VIBERBM": {"media_message": {"url": "https://cdn.example.com/omni.png"}},
            "SMS": {"text_message": {"text": "for sms"}},
        },
    }
    assert native(generic) == {
        **HEAD,
        "type": "image",
        "image_url": "https://cdn.example.com/omni.png",
    }


def test_explicit_channel_omni_message_is_held_to_the_limits() -> None:
    generic = {
        "text_message": {"text": "generic"},
        "explicit_channel_omni_message": {"VIBERBM": {"text_message": {"text": "z" * 1001}}},
    }
    with pytest.raises(ValueError):
        native(generic)


def test_an_omni_template_reference_is_left_to_the_template_component() -> None:
    generic = {
        "text_message": {"text": "generic"},
        "explicit_channel_omni_message": {"VIBERBM": {"template_reference": {"template_id": "t"}}},
    }
    with pytest.raises(TemplateNotResolved):
        native(generic)


def test_channel_specific_message_has_no_viberbm_kind_and_is_ignored() -> None:
    generic = {
        "text_message": {"text": "generic"},
        "channel_specific_message": {
            "VIBERBM": {"message_type": "FLOWS", "message": {"flow_id": "1"}}
        },
    }
    assert native(generic) == {**HEAD, "type": "text", "text": "generic"}


def test_explicit_beats_channel_specific_and_omni() -> None:
    generic = {
        "text_message": {"text": "generic"},
        "explicit_channel_message": {"VIBERBM": '{"type": "text", "text": "explicit"}'},
        "channel_specific_message": {"VIBERBM": {"message_type": "FLOWS", "message": {}}},
        "explicit_channel_omni_message": {"VIBERBM": {"text_message": {"text": "omni"}}},
    }
    assert native(generic)["text"] == "explicit"


def test_other_channels_overrides_are_ignored() -> None:
    generic = {
        "text_message": {"text": "generic"},
        "explicit_channel_message": {"SMS": "sms body"},
        "explicit_channel_omni_message": {"VIBER": {"text_message": {"text": "viber"}}},
    }
    assert native(generic)["text"] == "generic"

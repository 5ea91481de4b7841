"""Generic message → SMS body (CHANNELS.md part 1 §1.4), with the worked examples of §1.9."""

from typing import Any

import pytest

from chorus.channels.sms.segments import sms_parts
from chorus.channels.sms.transcode import (
    SmsOption,
    SmsRendering,
    TemplateNotResolved,
    render_sms,
)
from chorus.wire.messages import AppMessage


def render(payload: dict[str, Any]) -> SmsRendering:
    return render_sms(AppMessage.model_validate(payload))


# --- the worked examples of §1.9 -------------------------------------------------------------


def test_worked_example_choice_message() -> None:
    rendering = render(
        {
            "choice_message": {
                "text_message": {"text": "Do you want the newsletter?"},
                "choices": [
                    {"text_message": {"text": "Yes"}, "postback_data": "newsletter_yes"},
                    {"text_message": {"text": "No"}, "postback_data": "newsletter_no"},
                    {"url_message": {"title": "Shop", "url": "https://shop.example.com"}},
                    {"call_message": {"title": "Call us", "phone_number": "46732000000"}},
                ],
            }
        }
    )
    assert rendering.body == (
        "Do you want the newsletter?\n1. Yes\n2. No\n3. Shop: https://shop.example.com\n"
        "4. Call us: +46732000000"
    )
    assert rendering.options == [
        SmsOption(1, "Yes", "newsletter_yes", "text_message"),
        SmsOption(2, "No", "newsletter_no", "text_message"),
        SmsOption(3, "Shop", None, "url_message"),
        SmsOption(4, "Call us", None, "call_message"),
    ]


def test_worked_example_card_message() -> None:
    rendering = render(
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
    )
    assert rendering.body == (
        "Spring sale\n"
        "All shoes 20% off\n"
        "https://cdn.example.com/shoes.jpg\n"
        "1. Remind me\n"
        "2. Open: https://shop.example.com/sale"
    )
    assert [(o.number, o.label, o.postback_data) for o in rendering.options] == [
        (1, "Remind me", "remind"),
        (2, "Open", None),
    ]
    parts = sms_parts(rendering.body)
    assert (parts.encoding, parts.units, parts.parts) == ("GSM-7", 115, 1)


# --- one golden rendering per message type ----------------------------------------------------


def test_text_is_sent_unchanged() -> None:
    text = "Your order 1234 has shipped.\n\nTrack it at https://t.example.org/1234  "
    rendering = render({"text_message": {"text": text}})
    assert rendering == SmsRendering(body=text, options=[])


def test_media_is_the_url_alone() -> None:
    rendering = render(
        {
            "media_message": {
                "url": "https://cdn.example.org/invoice.pdf",
                "thumbnail_url": "https://cdn.example.org/invoice.png",
                "filename_override": "Invoice March.pdf",
            }
        }
    )
    assert rendering == SmsRendering(body="https://cdn.example.org/invoice.pdf")


def test_choice_lines_by_kind() -> None:
    rendering = render(
        {
            "choice_message": {
                "choices": [
                    {"text_message": {"text": "Talk to a person"}},
                    {"url_message": {"title": "FAQ", "url": "https://help.example.org"}},
                    {"call_message": {"title": "Call", "phone_number": "+441632960000"}},
                    {"call_message": {"title": "Desk", "phone_number": "ext. 12"}},
                    {
                        "location_message": {
                            "coordinates": {"latitude": 51.5, "longitude": -0.1276},
                            "title": "Visit",
                            "label": "not shown on a choice line",
                        }
                    },
                    {
                        "location_message": {
                            "coordinates": {"latitude": 59, "longitude": 0.00001},
                            "title": "Harbour",
                        }
                    },
                    {
                        "calendar_message": {
                            "title": "Add to calendar",
                            "event_start": "2024-09-01T18:00:00Z",
                            "event_end": "2024-09-01T21:00:00Z",
                            "event_title": "Tasting",
                            "fallback_url": "https://bistro.example.org/tasting.ics",
                        },
                        "postback_data": "cal",
                    },
                    {
                        "share_location_message": {
                            "title": "Share your location",
                            "fallback_url": "https://bistro.example.org/where",
                        }
                    },
                ]
            }
        }
    )
    assert rendering.body == (
        "1. Talk to a person\n"
        "2. FAQ: https://help.example.org\n"
        "3. Call: +441632960000\n"
        "4. Desk: ext. 12\n"
        "5. Visit: https://maps.google.com/?q=51.5,-0.1276\n"
        "6. Harbour: https://maps.google.com/?q=59,0.00001\n"
        "7. Add to calendar: https://bistro.example.org/tasting.ics\n"
        "8. Share your location: https://bistro.example.org/where"
    )
    assert [o.label for o in rendering.options] == [
        "Talk to a person",
        "FAQ",
        "Call",
        "Desk",
        "Visit",
        "Harbour",
        "Add to calendar",
        "Share your location",
    ]
    assert rendering.options[6].postback_data == "cal"


def test_card_skips_absent_fields_and_ignores_height() -> None:
    rendering = render(
        {
            "card_message": {
                "description": "Only a description",
                "height": "TALL",
                "choices": [{"text_message": {"text": "OK"}, "postback_data": "ok"}],
            }
        }
    )
    assert rendering.body == "Only a description\n1. OK"
    assert rendering.options == [SmsOption(1, "OK", "ok", "text_message")]


def test_carousel_numbering_continues_across_cards_and_outer_choices() -> None:
    rendering = render(
        {
            "carousel_message": {
                "cards": [
                    {
                        "title": "Red boots",
                        "description": "EUR 89",
                        "media_message": {"url": "https://cdn.example.org/red.jpg"},
                        "choices": [
                            {"text_message": {"text": "Buy red"}, "postback_data": "red"},
                            {"url_message": {"title": "Details", "url": "https://s.example/r"}},
                        ],
                    },
                    {"title": "Blue boots", "choices": [{"text_message": {"text": "Buy blue"}}]},
                    {"title": "Green boots"},
                ],
                "choices": [{"text_message": {"text": "Show more"}, "postback_data": "more"}],
            }
        }
    )
    assert rendering.body == (
        "Red boots\n"
        "EUR 89\n"
        "https://cdn.example.org/red.jpg\n"
        "1. Buy red\n"
        "2. Details: https://s.example/r\n"
        "\n"
        "Blue boots\n"
        "3. Buy blue\n"
        "\n"
        "Green boots\n"
        "\n"
        "4. Show more"
    )
    assert [(o.number, o.label, o.postback_data) for o in rendering.options] == [
        (1, "Buy red", "red"),
        (2, "Details", None),
        (3, "Buy blue", None),
        (4, "Show more", "more"),
    ]


def test_carousel_without_outer_choices_ends_with_the_last_card() -> None:
    rendering = render({"carousel_message": {"cards": [{"title": "A"}, {"title": "B"}]}})
    assert rendering.body == "A\n\nB"


def test_location() -> None:
    rendering = render(
        {
            "location_message": {
                "coordinates": {"latitude": 47.6279809, "longitude": -2.8229159},
                "title": "Our shop",
                "label": "Port-Navalo",
            }
        }
    )
    assert rendering.body == (
        "Our shop\nPort-Navalo\nhttps://maps.google.com/?q=47.6279809,-2.8229159"
    )
    assert rendering.options == []


def test_location_without_label() -> None:
    rendering = render(
        {
            "location_message": {
                "coordinates": {"latitude": -33.8688, "longitude": 151.2093},
                "title": "Office",
            }
        }
    )
    assert rendering.body == "Office\nhttps://maps.google.com/?q=-33.8688,151.2093"


def test_contact_info_readable_card() -> None:
    rendering = render(
        {
            "contact_info_message": {
                "name": {"full_name": "Ada Lovelace", "first_name": "Ada"},
                "organization": {
                    "company": "Analytical Ltd",
                    "title": "Chief",
                    "department": "R&D",
                },
                "phone_numbers": [
                    {"phone_number": "+447700900001", "type": "WORK"},
                    {"phone_number": "+447700900002"},
                ],
                "email_addresses": [{"email_address": "ada@example.org", "type": "HOME"}],
                "addresses": [
                    {
                        "city": "London",
                        "state": "Greater London",
                        "zip": "W1A 1AA",
                        "country": "United Kingdom",
                        "type": "WORK",
                        "country_code": "GB",
                    },
                    {"city": "Paris", "country": "France"},
                ],
                "urls": [{"url": "https://ada.example.org", "type": "HOME"}],
                "birthday": "1815-12-10",
            }
        }
    )
    assert rendering.body == (
        "Ada Lovelace\n"
        "Chief, Analytical Ltd, R&D\n"
        "Tel (WORK): +447700900001\n"
        "Tel: +447700900002\n"
        "Email (HOME): ada@example.org\n"
        "Address (WORK): London, Greater London W1A 1AA, United Kingdom\n"
        "Address: Paris, France\n"
        "Web: https://ada.example.org\n"
        "Birthday: 1815-12-10"
    )
    assert rendering.options == []


def test_contact_info_with_only_the_required_fields() -> None:
    rendering = render(
        {
            "contact_info_message": {
                "name": {"full_name": "Front desk"},
                "phone_numbers": [{"phone_number": "+15550100"}],
                "organization": {"company": "Bistro"},
            }
        }
    )
    assert rendering.body == "Front desk\nBistro\nTel: +15550100"


def test_list_of_choices_numbered_across_sections() -> None:
    rendering = render(
        {
            "list_message": {
                "title": "Pick a dish",
                "description": "Served until 22:00",
                "media": {"url": "https://cdn.example.org/menu.jpg"},
                "sections": [
                    {
                        "title": "Starters",
                        "items": [
                            {
                                "choice": {
                                    "title": "Soup",
                                    "description": "Pumpkin",
                                    "postback_data": "soup",
                                }
                            },
                            {"choice": {"title": "Bread"}},
                        ],
                    },
                    {"items": [{"choice": {"title": "Steak", "description": "Medium rare"}}]},
                    {
                        "title": "Desserts",
                        "items": [{"choice": {"title": "Tart", "postback_data": "t"}}],
                    },
                ],
                "message_properties": {"menu": "Dishes", "whatsapp_header": "Bistro"},
            }
        }
    )
    assert rendering.body == (
        "Pick a dish\n"
        "Served until 22:00\n"
        "https://cdn.example.org/menu.jpg\n"
        "Starters\n"
        "1. Soup \u2013 Pumpkin\n"
        "2. Bread\n"
        "3. Steak \u2013 Medium rare\n"
        "Desserts\n"
        "4. Tart"
    )
    assert rendering.options == [
        SmsOption(1, "Soup", "soup", "choice"),
        SmsOption(2, "Bread", None, "choice"),
        SmsOption(3, "Steak", None, "choice"),
        SmsOption(4, "Tart", "t", "choice"),
    ]


def test_list_of_products_shows_title_or_id() -> None:
    rendering = render(
        {
            "list_message": {
                "title": "Our shop",
                "sections": [
                    {
                        "title": "Boots",
                        "items": [
                            {
                                "product": {
                                    "id": "SKU-1",
                                    "marketplace": "FACEBOOK",
                                    "title": "Red boots",
                                }
                            },
                            {"product": {"id": "SKU-2", "marketplace": "FACEBOOK"}},
                        ],
                    }
                ],
                "message_properties": {"catalog_id": "CAT-42"},
            }
        }
    )
    assert rendering.body == "Our shop\nBoots\n1. Red boots\n2. SKU-2"
    assert rendering.options == [
        SmsOption(1, "Red boots", None, "product"),
        SmsOption(2, "SKU-2", None, "product"),
    ]


def test_template_message_must_be_resolved_first() -> None:
    message = AppMessage.model_validate(
        {"template_message": {"omni_template": {"template_id": "T", "version": "latest"}}}
    )
    with pytest.raises(TemplateNotResolved, match="template_message"):
        render_sms(message)


# --- modifiers --------------------------------------------------------------------------------


def test_explicit_sms_message_is_the_body_verbatim() -> None:
    rendering = render(
        {
            "choice_message": {"choices": [{"text_message": {"text": "Yes"}}]},
            "explicit_channel_message": {"SMS": "Reply YES to confirm {ref}", "WHATSAPP": "{}"},
        }
    )
    assert rendering == SmsRendering(body="Reply YES to confirm {ref}", options=[])


def test_explicit_message_for_another_channel_is_ignored_on_sms() -> None:
    rendering = render(
        {"text_message": {"text": "generic"}, "explicit_channel_message": {"WHATSAPP": "{}"}}
    )
    assert rendering.body == "generic"


def test_omni_override_for_sms_replaces_the_content() -> None:
    rendering = render(
        {
            "card_message": {"title": "Rich card"},
            "explicit_channel_omni_message": {
                "SMS": {
                    "choice_message": {
                        "text_message": {"text": "Plain question"},
                        "choices": [{"text_message": {"text": "A"}, "postback_data": "a"}],
                    }
                },
                "WHATSAPP": {"text_message": {"text": "not for SMS"}},
            },
        }
    )
    assert rendering.body == "Plain question\n1. A"
    assert rendering.options == [SmsOption(1, "A", "a", "text_message")]


def test_omni_override_for_another_channel_is_ignored_on_sms() -> None:
    rendering = render(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_omni_message": {"RCS": {"text_message": {"text": "rcs"}}},
        }
    )
    assert rendering.body == "generic"


def test_omni_override_with_a_template_reference_must_be_resolved_first() -> None:
    message = AppMessage.model_validate(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_omni_message": {
                "SMS": {"template_reference": {"template_id": "T", "version": "1"}}
            },
        }
    )
    with pytest.raises(TemplateNotResolved, match="template_reference"):
        render_sms(message)


def test_explicit_message_wins_over_the_omni_override() -> None:
    rendering = render(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {"SMS": "explicit"},
            "explicit_channel_omni_message": {"SMS": {"text_message": {"text": "omni"}}},
        }
    )
    assert rendering.body == "explicit"


def test_channel_specific_message_has_no_sms_form() -> None:
    rendering = render(
        {
            "text_message": {"text": "generic"},
            "channel_specific_message": {
                "SMS": {"message_type": "FLOWS", "message": {"flow_id": "1"}},
                "WHATSAPP": {"message_type": "FLOWS", "message": {"flow_id": "1"}},
            },
        }
    )
    assert rendering.body == "generic"

"""Golden tests: generic message in, WhatsApp Cloud API body out (CHANNELS.md part 1 §2.4,
§2.9, §7.2)."""

import json
from typing import Any

import pytest

from chorus.channels.base import ReplyOption
from chorus.channels.sms.transcode import TemplateNotResolved
from chorus.channels.whatsapp.plugin import PLUGIN
from chorus.wire.messages import AppMessage

MSG = "01HZY0000000000000000000AB"
TO = "46700000001"
ENVELOPE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO}


def native(message: dict[str, Any]) -> Any:
    return PLUGIN.transcode(AppMessage.model_validate(message), message_id=MSG, recipient=TO).native


def expected(kind: str, body: Any) -> dict[str, Any]:
    return {**ENVELOPE, "type": kind, kind: body}


def reply(text: str, postback: str | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"text_message": {"text": text}}
    if postback is not None:
        choice["postback_data"] = postback
    return choice


def test_text_is_native_with_preview_url_only_for_links() -> None:
    assert native({"text_message": {"text": "Hello"}}) == expected("text", {"body": "Hello"})
    assert native({"text_message": {"text": "See https://x.example"}}) == expected(
        "text", {"body": "See https://x.example", "preview_url": True}
    )


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://cdn.example.com/a.jpg", "image"),
        ("https://cdn.example.com/a.PNG?x=1", "image"),
        ("https://cdn.example.com/a.mp4", "video"),
        ("https://cdn.example.com/a.ogg", "audio"),
        ("https://cdn.example.com/a.webp", "sticker"),
    ],
)
def test_media_kind_follows_the_extension(url: str, kind: str) -> None:
    assert native({"media_message": {"url": url, "thumbnail_url": "https://t"}}) == expected(
        kind, {"link": url}
    )


def test_document_carries_the_filename_override_or_the_url_name() -> None:
    url = "https://cdn.example.com/files/report.pdf"
    assert native({"media_message": {"url": url}}) == expected(
        "document", {"link": url, "filename": "report.pdf"}
    )
    assert native({"media_message": {"url": url, "filename_override": "q1.pdf"}}) == expected(
        "document", {"link": url, "filename": "q1.pdf"}
    )


def test_reply_choices_with_a_footer_become_reply_buttons() -> None:
    transcoded = PLUGIN.transcode(
        AppMessage.model_validate(
            {
                "choice_message": {
                    "text_message": {"text": "Do you want the newsletter?"},
                    "choices": [reply("Yes", "newsletter_yes"), reply("No", "newsletter_no")],
                    "message_properties": {"whatsapp_footer": "Reply any time"},
                }
            }
        ),
        message_id=MSG,
        recipient=TO,
    )
    assert transcoded.native == expected(
        "interactive",
        {
            "type": "button",
            "body": {"text": "Do you want the newsletter?"},
            "footer": {"text": "Reply any time"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "newsletter_yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "newsletter_no", "title": "No"}},
                ]
            },
        },
    )
    assert transcoded.options == [
        ReplyOption(1, "Yes", "newsletter_yes"),
        ReplyOption(2, "No", "newsletter_no"),
    ]


def test_a_choice_without_postback_data_gets_the_default_id() -> None:
    body = native({"choice_message": {"text_message": {"text": "Q"}, "choices": [reply("Yes")]}})
    assert body["interactive"]["action"]["buttons"][0]["reply"] == {
        "id": f"{MSG}_Yes",
        "title": "Yes",
    }


def test_four_reply_choices_become_a_list_with_truncated_titles() -> None:
    choices = [reply(f"Option {n}", f"o{n}") for n in range(1, 4)] + [
        reply("A very long option title that goes on", "long")
    ]
    body = native({"choice_message": {"text_message": {"text": "Pick"}, "choices": choices}})
    assert body == expected(
        "interactive",
        {
            "type": "list",
            "body": {"text": "Pick"},
            "action": {
                "button": "Choose",
                "sections": [
                    {
                        "rows": [
                            {"id": "o1", "title": "Option 1"},
                            {"id": "o2", "title": "Option 2"},
                            {"id": "o3", "title": "Option 3"},
                            {"id": "long", "title": "A very long option titl\u2026"},
                        ]
                    }
                ],
            },
        },
    )
    assert len(body["interactive"]["action"]["sections"][0]["rows"][3]["title"]) == 24


def test_a_single_url_choice_becomes_cta_url() -> None:
    body = native(
        {
            "choice_message": {
                "text_message": {"text": "Our shop"},
                "choices": [{"url_message": {"title": "Open", "url": "https://shop.example"}}],
            }
        }
    )
    assert body == expected(
        "interactive",
        {
            "type": "cta_url",
            "body": {"text": "Our shop"},
            "action": {
                "name": "cta_url",
                "parameters": {"display_text": "Open", "url": "https://shop.example"},
            },
        },
    )


def test_mixed_choices_degrade_to_the_numbered_text() -> None:
    transcoded = PLUGIN.transcode(
        AppMessage.model_validate(
            {
                "choice_message": {
                    "text_message": {"text": "Do you want the newsletter?"},
                    "choices": [
                        reply("Yes", "newsletter_yes"),
                        {"url_message": {"title": "Shop", "url": "https://shop.example.com"}},
                        {"call_message": {"title": "Call us", "phone_number": "46732000000"}},
                    ],
                }
            }
        ),
        message_id=MSG,
        recipient=TO,
    )
    assert transcoded.native == expected(
        "text",
        {
            "body": "Do you want the newsletter?\n1. Yes\n2. Shop: https://shop.example.com\n"
            "3. Call us: +46732000000",
            "preview_url": True,
        },
    )
    assert [o.number for o in transcoded.options] == [1, 2, 3]


SALE = {
    "title": "Spring sale",
    "description": "All shoes 20% off",
    "media_message": {"url": "https://cdn.example.com/shoes.jpg"},
    "height": "MEDIUM",
}


def test_card_with_a_url_choice_next_to_a_reply_is_an_image_with_a_caption() -> None:
    card = {
        **SALE,
        "choices": [
            reply("Remind me", "remind"),
            {"url_message": {"title": "Open", "url": "https://shop.example.com/sale"}},
        ],
    }
    assert native({"card_message": card}) == expected(
        "image",
        {
            "link": "https://cdn.example.com/shoes.jpg",
            "caption": "Spring sale\nAll shoes 20% off\n1. Remind me\n"
            "2. Open: https://shop.example.com/sale",
        },
    )


def test_card_with_reply_choices_is_interactive_buttons_with_a_media_header() -> None:
    assert native({"card_message": {**SALE, "choices": [reply("Remind me", "remind")]}}) == (
        expected(
            "interactive",
            {
                "type": "button",
                "header": {"type": "image", "image": {"link": "https://cdn.example.com/shoes.jpg"}},
                "body": {"text": "*Spring sale*\nAll shoes 20% off"},
                "action": {
                    "buttons": [{"type": "reply", "reply": {"id": "remind", "title": "Remind me"}}]
                },
            },
        )
    )


def test_card_without_media_takes_the_whatsapp_header() -> None:
    body = native(
        {
            "card_message": {
                "title": "Sale",
                "choices": [reply("Go", "go")],
                "message_properties": {"whatsapp_header": "Acme"},
            }
        }
    )
    assert body["interactive"]["header"] == {"type": "text", "text": "Acme"}
    assert body["interactive"]["body"] == {"text": "*Sale*"}


def test_card_with_one_url_choice_is_cta_url_with_the_header() -> None:
    body = native(
        {
            "card_message": {
                **SALE,
                "choices": [{"url_message": {"title": "Open", "url": "https://s"}}],
            }
        }
    )
    assert body["interactive"]["type"] == "cta_url"
    assert body["interactive"]["header"]["type"] == "image"


def test_card_without_choices_or_media_is_text() -> None:
    assert native({"card_message": {"title": "T", "description": "D"}}) == expected(
        "text", {"body": "T\nD"}
    )


def test_carousel_is_one_text_with_the_combined_rendering() -> None:
    body = native(
        {
            "carousel_message": {
                "cards": [
                    {"title": "A", "choices": [reply("Buy A", "a")]},
                    {"title": "B", "choices": [reply("Buy B", "b")]},
                ]
            }
        }
    )
    assert body == expected("text", {"body": "A\n1. Buy A\n\nB\n2. Buy B"})


def test_location_is_native() -> None:
    body = native(
        {
            "location_message": {
                "coordinates": {"latitude": 59.33, "longitude": 18.06},
                "title": "Office",
                "label": "Main street 1",
            }
        }
    )
    assert body == expected(
        "location",
        {"latitude": 59.33, "longitude": 18.06, "name": "Office", "address": "Main street 1"},
    )


def test_contact_info_is_native_contacts() -> None:
    body = native(
        {
            "contact_info_message": {
                "name": {"full_name": "Ann Svensson", "first_name": "Ann", "last_name": "Svensson"},
                "phone_numbers": [{"phone_number": "+46732000000", "type": "MOBILE"}],
                "email_addresses": [{"email_address": "ann@example.com", "type": "WORK"}],
                "addresses": [{"city": "Stockholm", "country": "Sweden", "country_code": "SE"}],
                "organization": {"company": "Acme", "title": "CTO"},
                "urls": [{"url": "https://acme.example"}],
                "birthday": "1990-01-02",
            }
        }
    )
    assert body == expected(
        "contacts",
        [
            {
                "name": {
                    "formatted_name": "Ann Svensson",
                    "first_name": "Ann",
                    "last_name": "Svensson",
                },
                "phones": [{"phone": "+46732000000", "type": "MOBILE"}],
                "emails": [{"email": "ann@example.com", "type": "WORK"}],
                "addresses": [{"city": "Stockholm", "country": "Sweden", "country_code": "SE"}],
                "org": {"company": "Acme", "title": "CTO"},
                "urls": [{"url": "https://acme.example"}],
                "birthday": "1990-01-02",
            }
        ],
    )


def test_list_with_choices_is_an_interactive_list() -> None:
    transcoded = PLUGIN.transcode(
        AppMessage.model_validate(
            {
                "list_message": {
                    "title": "Menu",
                    "description": "Pick a dish",
                    "sections": [
                        {
                            "title": "Mains",
                            "items": [
                                {
                                    "choice": {
                                        "title": "Soup",
                                        "description": "Hot",
                                        "postback_data": "s",
                                    }
                                },
                                {"choice": {"title": "Salad"}},
                            ],
                        }
                    ],
                    "message_properties": {"menu": "Dishes"},
                }
            }
        ),
        message_id=MSG,
        recipient=TO,
    )
    assert transcoded.native == expected(
        "interactive",
        {
            "type": "list",
            "header": {"type": "text", "text": "Menu"},
            "body": {"text": "Pick a dish"},
            "action": {
                "button": "Dishes",
                "sections": [
                    {
                        "title": "Mains",
                        "rows": [
                            {"id": "s", "title": "Soup", "description": "Hot"},
                            {"id": f"{MSG}_Salad", "title": "Salad"},
                        ],
                    }
                ],
            },
        },
    )
    assert transcoded.options == [ReplyOption(1, "Soup", "s"), ReplyOption(2, "Salad", None)]


def test_a_list_of_several_sections_needs_a_title_on_each() -> None:
    """The Cloud API refuses untitled sections once there are several; one may go untitled."""

    def section(title: str | None, choice: str) -> dict[str, Any]:
        return {"items": [{"choice": {"title": choice}}], **({"title": title} if title else {})}

    def listing(*sections: dict[str, Any]) -> AppMessage:
        return AppMessage.model_validate(
            {"list_message": {"title": "Menu", "sections": list(sections)}}
        )

    single = PLUGIN.transcode(listing(section(None, "A")), message_id=MSG, recipient=TO)
    assert single.native["interactive"]["action"]["sections"] == [
        {"rows": [{"id": f"{MSG}_A", "title": "A"}]}
    ]
    with pytest.raises(ValueError, match=r"sections\[1\] has no title"):
        PLUGIN.transcode(
            listing(section("Mains", "A"), section(None, "B")), message_id=MSG, recipient=TO
        )


def products(*ids: str) -> dict[str, Any]:
    return {
        "list_message": {
            "title": "Catalogue",
            "description": "Our picks",
            "sections": [
                {
                    "title": "Shoes",
                    "items": [{"product": {"id": i, "marketplace": "FACEBOOK"}} for i in ids],
                }
            ],
            "message_properties": {"catalog_id": "cat-1"},
        }
    }


def test_list_with_products_is_a_product_list() -> None:
    assert native(products("p1", "p2")) == expected(
        "interactive",
        {
            "type": "product_list",
            "header": {"type": "text", "text": "Catalogue"},
            "body": {"text": "Our picks"},
            "action": {
                "catalog_id": "cat-1",
                "sections": [
                    {
                        "title": "Shoes",
                        "product_items": [
                            {"product_retailer_id": "p1"},
                            {"product_retailer_id": "p2"},
                        ],
                    }
                ],
            },
        },
    )


def test_one_product_is_a_single_product_message() -> None:
    assert native(products("p1")) == expected(
        "interactive",
        {
            "type": "product",
            "body": {"text": "Our picks"},
            "action": {"catalog_id": "cat-1", "product_retailer_id": "p1"},
        },
    )


def test_a_whatsapp_channel_template_becomes_a_template_body() -> None:
    message = {
        "template_message": {
            "channel_template": {"WHATSAPP": {"template_id": "t", "language_code": "en"}}
        }
    }
    assert native(message) == expected("template", {"name": "t", "language": {"code": "en"}})


def test_omni_templates_are_not_resolved_here() -> None:
    """The template component resolves them before transcoding (chorus.templates.resolve)."""
    message = {
        "template_message": {
            "omni_template": {"template_id": "t", "version": "1"},
            "channel_template": {"SMS": {"template_id": "t"}},
        }
    }
    with pytest.raises(TemplateNotResolved):
        native(message)


def test_a_text_over_4096_fails_and_an_interactive_body_over_1024_degrades() -> None:
    with pytest.raises(ValueError, match="4096"):
        PLUGIN.transcode(
            AppMessage.model_construct(
                text_message=AppMessage.model_validate(
                    {"text_message": {"text": "x"}}
                ).text_message.model_copy(update={"text": "x" * 4097})  # type: ignore[union-attr]
            ),
            message_id=MSG,
        )
    prompt = "y" * 1100
    body = native({"choice_message": {"text_message": {"text": prompt}, "choices": [reply("Ok")]}})
    assert body == expected("text", {"body": f"{prompt}\n1. Ok"})


# --- overrides (§7.2) ------------------------------------------------------------------------


def test_explicit_channel_message_is_sent_as_is_with_product_and_recipient_forced() -> None:
    explicit = {"type": "text", "text": {"body": "raw"}, "to": "1", "messaging_product": "x"}
    body = native(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {"WHATSAPP": json.dumps(explicit)},
            "channel_specific_message": {
                "WHATSAPP": {"message_type": "FLOWS", "message": {"flow_id": "f"}}
            },
        }
    )
    assert body == {
        "type": "text",
        "text": {"body": "raw"},
        "to": TO,
        "messaging_product": "whatsapp",
    }


def test_channel_specific_flows_become_an_interactive_flow() -> None:
    body = native(
        {
            "text_message": {"text": "generic"},
            "channel_specific_message": {
                "WHATSAPP": {
                    "message_type": "FLOWS",
                    "message": {
                        "flow_id": "1234",
                        "flow_cta": "Book",
                        "body": {"text": "Book a table"},
                        "flow_token": "tok",
                        "flow_mode": "draft",
                        "flow_action": "navigate",
                        "flow_action_payload": {"screen": "START"},
                    },
                }
            },
            "explicit_channel_omni_message": {"WHATSAPP": {"text_message": {"text": "omni"}}},
        }
    )
    assert body == expected(
        "interactive",
        {
            "type": "flow",
            "body": {"text": "Book a table"},
            "action": {
                "name": "flow",
                "parameters": {
                    "flow_message_version": "3",
                    "flow_token": "tok",
                    "flow_id": "1234",
                    "flow_cta": "Book",
                    "flow_action": "navigate",
                    "flow_action_payload": {"screen": "START"},
                    "mode": "draft",
                },
            },
        },
    )


def test_order_details_payment_takes_the_cloud_api_names() -> None:
    """Centavos become {value, offset 100}, payment buttons become payment_settings keyed by
    their type, the goods' type is `type` and the payment's is `payment_type`."""
    payment = {
        "type": "br",
        "reference_id": "ord-77",
        "type_of_goods": "physical-goods",
        "payment_buttons": [
            {"type": "payment_link", "uri": "https://pay.example.com/77"},
            {"type": "boleto", "digitable_line": "0019 1234"},
        ],
        "total_amount_value": 2550,
        "order": {
            "catalog_id": "cat-1",
            "expiration_time": "1800000000",
            "subtotal_value": 2500,
            "shipping_value": 300,
            "shipping_description": "courier",
            "discount_value": 250,
            "discount_program_name": "welcome",
            "items": [{"retailer_id": "sku-1", "name": "Mug", "amount_value": 1250, "quantity": 2}],
        },
    }
    body = native(
        {
            "text_message": {"text": "generic"},
            "channel_specific_message": {
                "WHATSAPP": {
                    "message_type": "ORDER_DETAILS",
                    "message": {"body": {"text": "Your order"}, "payment": payment},
                }
            },
        }
    )
    assert body == expected(
        "interactive",
        {
            "type": "order_details",
            "body": {"text": "Your order"},
            "action": {
                "name": "review_and_pay",
                "parameters": {
                    "reference_id": "ord-77",
                    "type": "physical-goods",
                    "payment_type": "br",
                    "payment_settings": [
                        {
                            "type": "payment_link",
                            "payment_link": {"uri": "https://pay.example.com/77"},
                        },
                        {"type": "boleto", "boleto": {"digitable_line": "0019 1234"}},
                    ],
                    "currency": "BRL",
                    "total_amount": {"value": 2550, "offset": 100},
                    "order": {
                        "status": "pending",
                        "catalog_id": "cat-1",
                        "expiration": {"timestamp": "1800000000"},
                        "items": [
                            {
                                "retailer_id": "sku-1",
                                "name": "Mug",
                                "amount": {"value": 1250, "offset": 100},
                                "quantity": 2,
                            }
                        ],
                        "subtotal": {"value": 2500, "offset": 100},
                        "shipping": {"value": 300, "offset": 100, "description": "courier"},
                        "discount": {
                            "value": 250,
                            "offset": 100,
                            "discount_program_name": "welcome",
                        },
                    },
                },
            },
        },
    )


def test_order_details_with_the_older_pix_settings() -> None:
    pix = {"code": "000201", "merchant_name": "Loja", "key": "k", "key_type": "EMAIL"}
    body = native(
        {
            "text_message": {"text": "generic"},
            "channel_specific_message": {
                "WHATSAPP": {
                    "message_type": "ORDER_DETAILS",
                    "message": {
                        "body": {"text": "Pay"},
                        "payment": {
                            "reference_id": "r2",
                            "type_of_goods": "digital-goods",
                            "payment_settings": {"dynamic_pix": pix},
                            "total_amount_value": 100,
                        },
                    },
                }
            },
        }
    )
    parameters = body["interactive"]["action"]["parameters"]
    assert parameters["payment_settings"] == [{"type": "pix_dynamic_code", "pix_dynamic_code": pix}]
    assert "order" not in parameters


def test_order_status_becomes_interactive_order_status() -> None:
    body = native(
        {
            "text_message": {"text": "generic"},
            "channel_specific_message": {
                "WHATSAPP": {
                    "message_type": "ORDER_STATUS",
                    "message": {
                        "body": {"text": "Shipped"},
                        "payment": {"reference_id": "r1", "order": {"status": "shipped"}},
                    },
                }
            },
        }
    )
    assert body["interactive"] == {
        "type": "order_status",
        "body": {"text": "Shipped"},
        "action": {
            "name": "review_order",
            "parameters": {"reference_id": "r1", "order": {"status": "shipped"}},
        },
    }


def test_a_channel_specific_type_whatsapp_lacks_is_ignored() -> None:
    body = native(
        {
            "text_message": {"text": "generic"},
            "channel_specific_message": {
                "WHATSAPP": {"message_type": "COMMERCE", "message": {"x": 1}}
            },
        }
    )
    assert body == expected("text", {"body": "generic"})


def test_explicit_omni_message_replaces_the_generic_content() -> None:
    body = native(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_omni_message": {
                "WHATSAPP": {
                    "location_message": {
                        "coordinates": {"latitude": 1, "longitude": 2},
                        "title": "Here",
                    }
                },
                "SMS": {"text_message": {"text": "not mine"}},
            },
        }
    )
    assert body == expected("location", {"latitude": 1.0, "longitude": 2.0, "name": "Here"})


def test_omni_template_reference_is_not_resolved_here() -> None:
    with pytest.raises(TemplateNotResolved):
        native(
            {
                "text_message": {"text": "generic"},
                "explicit_channel_omni_message": {
                    "WHATSAPP": {"template_reference": {"template_id": "t", "version": "1"}}
                },
            }
        )


def test_overrides_for_other_channels_do_not_apply() -> None:
    body = native(
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {"SMS": "sms body", "MESSENGER": "{}"},
        }
    )
    assert body == expected("text", {"body": "generic"})


def test_header_and_footer_over_60_fail_rather_than_being_cut() -> None:
    """They are not labels (CHANNELS.md §2.4 names the labels): at 60 they go out whole."""
    card = {"title": "Sale", "choices": [reply("Go", "go")]}
    choice = {"text_message": {"text": "Pick"}, "choices": [reply("Go", "go")]}
    listing = {"sections": [{"items": [{"choice": {"title": "A"}}]}]}

    def send(kind: str, content: dict[str, Any]) -> dict[str, Any]:
        return native({kind: content})["interactive"]

    sixty, sixty_one = "h" * 60, "h" * 61
    assert send("card_message", {**card, "message_properties": {"whatsapp_header": sixty}})[
        "header"
    ] == {"type": "text", "text": sixty}
    assert send("list_message", {**listing, "title": sixty})["header"]["text"] == sixty
    assert send("choice_message", {**choice, "message_properties": {"whatsapp_footer": sixty}})[
        "footer"
    ] == {"text": sixty}
    with pytest.raises(ValueError, match="whatsapp_header has 61 characters; the limit is 60"):
        send("card_message", {**card, "message_properties": {"whatsapp_header": sixty_one}})
    with pytest.raises(ValueError, match=r"list header .* has 61 characters"):
        send("list_message", {**listing, "title": sixty_one})
    with pytest.raises(ValueError, match="whatsapp_footer has 61 characters"):
        send("choice_message", {**choice, "message_properties": {"whatsapp_footer": sixty_one}})

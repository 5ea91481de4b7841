"""Template resolution per channel (API.md Part B §7.4), substitution, and the WhatsApp
channel-template parameter mapping (CHANNELS.md part 1 §2.4). The store is a real SQLite
database in memory; templates are written through the template service."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from chorus.channels.base import ChannelFailure
from chorus.channels.whatsapp.templates import parse_key, template_object
from chorus.models import Template
from chorus.templates import service
from chorus.templates.resolve import TemplateFailure, message_for_channel
from chorus.templates.schemas import V1Template, V2Template
from chorus.templates.service import placeholders, substitute
from chorus.wire.enums import Channel
from chorus.wire.messages import AppMessage, ReasonCode, TemplateReference

PROJECT = "p1"
T = TypeVar("T")


def run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_async_engine("sqlite+aiosqlite://")
        async with engine.begin() as connection:
            await connection.run_sync(Template.__table__.create)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            async with sessions() as session:
                for template in (V1, OVERRIDDEN):
                    await service.create_v1(session, PROJECT, V1Template.model_validate(template))
                for template in (V2, WRAPPER, LOOP):
                    await service.create_v2(session, PROJECT, V2Template.model_validate(template))
                await session.commit()
            async with sessions() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


V1 = {
    "id": "order",
    "channel": "CONVERSATION",
    "default_translation": "en-US",
    "translations": [
        {
            "language_code": "en-US",
            "version": "1",
            "content": '{"text_message": {"text": "Order ${order} for ${name}"}}',
            "variables": [{"key": "order"}, {"key": "name"}],
        },
        {
            "language_code": "en-US",
            "version": "2",
            "content": json.dumps(
                {"card_message": {"title": "Order ${order}", "description": '"${name}"'}}
            ),
            "variables": [{"key": "order"}, {"key": "name"}],
        },
    ],
}

# A template whose content overrides itself on SMS (and names a template there for RCS).
OVERRIDDEN = {
    "id": "overridden",
    "channel": "CONVERSATION",
    "default_translation": "en",
    "translations": [
        {
            "language_code": "en",
            "version": "1",
            "content": json.dumps(
                {
                    "text_message": {"text": "generic ${n}"},
                    "explicit_channel_omni_message": {
                        "SMS": {"text_message": {"text": "sms-only ${n}"}},
                        "RCS": {"template_reference": {"template_id": "order"}},
                    },
                }
            ),
            "variables": [{"key": "n"}],
        }
    ],
}

V2 = {
    "id": "welcome",
    "default_translation": "sv-SE",
    "translations": [
        {
            "language_code": "sv-SE",
            "text_message": {"text": "Välkommen ${name}"},
            "variables": [{"key": "name"}],
            "channel_template_overrides": {
                "WHATSAPP": {
                    "template_reference": {
                        "template_id": "welcome_wa",
                        "language_code": "sv",
                        "parameters": {"header[1]text": "Hej"},
                    },
                    "parameter_mappings": {"body[1]text": "name"},
                }
            },
        }
    ],
}


# A template whose content is a template message: its variables fill the inner parameters.
WRAPPER = {
    "id": "wrapper",
    "default_translation": "en",
    "translations": [
        {
            "language_code": "en",
            "template_message": {
                "omni_template": {
                    "template_id": "order",
                    "version": "1",
                    "parameters": {"order": "${order}", "name": "${name}"},
                }
            },
            "variables": [{"key": "order"}, {"key": "name"}],
        }
    ],
}
LOOP = {
    "id": "loop",
    "default_translation": "en",
    "translations": [
        {
            "language_code": "en",
            "template_message": {"omni_template": {"template_id": "loop", "version": "1"}},
        }
    ],
}


def resolve(
    message: dict[str, Any], channel: Channel, *, channel_templates: bool = False
) -> dict[str, Any]:
    async def work(session: AsyncSession) -> dict[str, Any]:
        resolved = await message_for_channel(
            session,
            PROJECT,
            AppMessage.model_validate(message),
            channel,
            channel_templates=channel_templates,
        )
        return resolved.model_dump(mode="json", exclude_none=True)

    return run(work)


def failure(message: dict[str, Any], channel: Channel = Channel.SMS) -> TemplateFailure:
    with pytest.raises(TemplateFailure) as raised:
        resolve(message, channel)
    return raised.value


def omni(**reference: Any) -> dict[str, Any]:
    return {"template_message": {"omni_template": reference}}


NAMED = {"order": "A-1", "name": 'Ann "the" Admin'}


def test_substitution_happens_after_parsing_so_values_cannot_break_the_json() -> None:
    resolved = resolve(omni(template_id="order", version="2", parameters=NAMED), Channel.SMS)
    assert resolved == {"card_message": {"title": "Order A-1", "description": '"Ann "the" Admin"'}}


def test_latest_of_v1_is_the_most_recently_updated_translation_of_the_language() -> None:
    resolved = resolve(omni(template_id="order", version="latest", parameters=NAMED), Channel.SMS)
    assert "card_message" in resolved


def test_language_defaults_to_the_default_translation_and_dash_equals_underscore() -> None:
    for language in (None, "en_US", "EN-us"):
        reference = {"template_id": "order", "version": "1", "parameters": NAMED}
        if language:
            reference["language_code"] = language
        assert resolve(omni(**reference), Channel.SMS)["text_message"]["text"] == (
            'Order A-1 for Ann "the" Admin'
        )


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ({"template_id": "missing", "version": "1"}, ReasonCode.TEMPLATE_NOT_FOUND),
        (
            {"template_id": "order", "version": "3", "parameters": NAMED},
            ReasonCode.TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION,
        ),
        (
            {"template_id": "order", "version": "1", "language_code": "fi", "parameters": NAMED},
            ReasonCode.TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION,
        ),
        (
            {"template_id": "order", "version": "1", "parameters": {"order": "A-1"}},
            ReasonCode.TEMPLATE_INSUFFICIENT_PARAMETERS,
        ),
        (
            {"template_id": "welcome", "version": "2"},
            ReasonCode.TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION,
        ),
    ],
)
def test_lookup_failures_carry_their_reason(reference: dict[str, Any], code: ReasonCode) -> None:
    assert failure(omni(**reference)).code == code


def test_a_v2_override_is_the_channel_template_where_the_channel_has_templates() -> None:
    message = omni(template_id="welcome", version="latest", parameters={"name": "Bo"})
    on_whatsapp = resolve(message, Channel.WHATSAPP, channel_templates=True)
    assert on_whatsapp == {
        "template_message": {
            "channel_template": {
                "WHATSAPP": {
                    "template_id": "welcome_wa",
                    "language_code": "sv",
                    "parameters": {"header[1]text": "Hej", "body[1]text": "Bo"},
                }
            }
        }
    }
    assert resolve(message, Channel.SMS) == {"text_message": {"text": "Välkommen Bo"}}


def test_the_request_channel_template_wins_over_the_v2_override() -> None:
    message = omni(template_id="welcome", version="1", parameters={"name": "Bo"})
    own = {"template_id": "mine", "language_code": "sv"}
    message["template_message"]["channel_template"] = {"WHATSAPP": own, "SMS": own}
    on_whatsapp = resolve(message, Channel.WHATSAPP, channel_templates=True)
    assert on_whatsapp["template_message"]["channel_template"] == {"WHATSAPP": own}
    # SMS has no channel templates: its entry is ignored, the omni template is rendered
    assert resolve(message, Channel.SMS) == {"text_message": {"text": "Välkommen Bo"}}


def test_without_an_omni_template_a_channel_without_templates_fails_bad_request() -> None:
    message = {"template_message": {"channel_template": {"WHATSAPP": {"template_id": "t"}}}}
    assert failure(message, Channel.SMS).code == ReasonCode.BAD_REQUEST


def test_modifiers_are_kept_and_an_override_template_reference_is_resolved() -> None:
    message = {
        "text_message": {"text": "generic"},
        "explicit_channel_omni_message": {
            "SMS": {"template_reference": {"template_id": "welcome", "parameters": {"name": "Bo"}}},
            "RCS": {"text_message": {"text": "rcs"}},
        },
        "agent": {"display_name": "Ann", "type": "HUMAN"},
    }
    assert resolve(message, Channel.SMS) == {
        "text_message": {"text": "Välkommen Bo"},
        "explicit_channel_omni_message": {"RCS": {"text_message": {"text": "rcs"}}},
        "agent": {"display_name": "Ann", "type": "HUMAN"},
    }
    # another channel: no template involved, the message is unchanged
    assert resolve(message, Channel.RCS) == AppMessage.model_validate(message).model_dump(
        mode="json", exclude_none=True
    )


def test_the_templates_own_override_for_the_channel_applies() -> None:
    """The request's override for the channel is the reference just resolved and goes; the
    content's own stays, unless it names a template in turn."""
    message = omni(template_id="overridden", version="1", parameters={"n": "X"})
    assert resolve(message, Channel.SMS)["explicit_channel_omni_message"] == {
        "SMS": {"text_message": {"text": "sms-only X"}},
        "RCS": {"template_reference": {"template_id": "order"}},
    }
    on_rcs = resolve(message, Channel.RCS)
    assert on_rcs["text_message"] == {"text": "generic X"}
    assert on_rcs["explicit_channel_omni_message"] == {
        "SMS": {"text_message": {"text": "sms-only X"}}
    }
    by_reference = {
        "text_message": {"text": "unused"},
        "explicit_channel_omni_message": {
            "SMS": {
                "template_reference": {
                    "template_id": "overridden",
                    "version": "1",
                    "parameters": {"n": "Y"},
                }
            }
        },
    }
    assert resolve(by_reference, Channel.SMS)["explicit_channel_omni_message"] == {
        "SMS": {"text_message": {"text": "sms-only Y"}},
        "RCS": {"template_reference": {"template_id": "order"}},
    }


def test_an_explicit_channel_message_needs_no_template() -> None:
    message = {
        **omni(template_id="missing", version="1"),
        "explicit_channel_message": {"SMS": "verbatim"},
    }
    assert resolve(message, Channel.SMS)["explicit_channel_message"] == {"SMS": "verbatim"}


def test_placeholders_are_found_in_every_string() -> None:
    assert placeholders({"a": ["${x} ${y}", {"b": "${z}"}], "c": 1}) == {"x", "y", "z"}
    assert substitute({"a": ["${x}", "${unknown}"]}, {"x": "1"}) == {"a": ["1", "${unknown}"]}


# ---------------------------------------------------------------- WhatsApp parameter keys


def test_parameter_keys_parse_into_components_indexes_and_fields() -> None:
    assert parse_key("body[2]text") == (("body", -1, ""), 2, "text")
    assert parse_key("header[1]image.link") == (("header", -1, ""), 1, "image.link")
    assert parse_key("button[0]quick_reply[1]payload") == (
        ("button", 0, "quick_reply"),
        1,
        "payload",
    )
    assert parse_key("body[100]text")[1] == 100
    assert parse_key("button[9]url[1]text")[0] == ("button", 9, "url")
    for bad in (
        "body[101]text",
        "body[99999999999]text",
        "button[10]url[1]text",
        "body[0]text",
        "footer[1]text",
        "body1text",
        "button[a]url[1]text",
        "body[1]colour",
    ):
        with pytest.raises(ValueError):
            parse_key(bad)


def test_parameters_group_into_ordered_components_and_drop_providers() -> None:
    reference = TemplateReference(
        template_id="order_update",
        language_code="en",
        parameters={
            "button[1]url[1]text": "A-1042",
            "body[2]text": "A-1042",
            "body[1]text": "Ann",
            "header[1]image.link": "https://cdn.example.com/box.jpg",
            "header[1]image.provider.name": "cdn",
            "button[0]quick_reply[1]payload": "track",
        },
    )
    assert template_object(reference) == {
        "name": "order_update",
        "language": {"code": "en"},
        "components": [
            {
                "type": "header",
                "parameters": [
                    {"type": "image", "image": {"link": "https://cdn.example.com/box.jpg"}}
                ],
            },
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "A-1042"}],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "track"}],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": "1",
                "parameters": [{"type": "text", "text": "A-1042"}],
            },
        ],
    }


def test_a_gap_in_parameter_indexes_is_insufficient_parameters() -> None:
    reference = TemplateReference(
        template_id="t", language_code="en", parameters={"body[1]text": "a", "body[3]text": "c"}
    )
    with pytest.raises(ChannelFailure) as raised:
        template_object(reference)
    assert raised.value.code == ReasonCode.TEMPLATE_INSUFFICIENT_PARAMETERS


def test_a_whatsapp_channel_template_needs_a_language_and_consistent_parameters() -> None:
    with pytest.raises(ValueError, match="language_code"):
        template_object(TemplateReference(template_id="t"))
    with pytest.raises(ValueError):
        template_object(
            TemplateReference(
                template_id="t",
                language_code="en",
                parameters={"body[1]text": "a", "body[1]payload": "b"},
            )
        )
    with pytest.raises(ValueError):
        template_object(
            TemplateReference(
                template_id="t", language_code="en", parameters={"header[1]document.filename": "a"}
            )
        )


def test_a_template_of_a_template_is_resolved_through_and_a_loop_is_cut() -> None:
    resolved = resolve(omni(template_id="wrapper", version="1", parameters=NAMED), Channel.SMS)
    assert resolved == {"text_message": {"text": 'Order A-1 for Ann "the" Admin'}}
    assert failure(omni(template_id="loop", version="latest")).code == ReasonCode.BAD_REQUEST

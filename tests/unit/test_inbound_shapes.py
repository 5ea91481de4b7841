"""Every channel's webhook parser, given webhooks of any shape, maps what it can or refuses
the request (`InboundRejected`, a 4xx), and never fails otherwise: a channel's payload is
input, and a failing parser was a 500 the channel would retry for days.

Seeded mutations of real webhooks of each channel (the other unit tests' builders): one
value replaced by a value of another JSON type, one key dropped, or one key added."""

import json
import logging
import random
from collections.abc import Callable
from typing import Any

import pytest

from chorus.channels.base import InboundItem, InboundRejected, NativeRequest
from chorus.channels.registry import plugin_for
from chorus.channels.sms.plugin import SmsChannel
from chorus.inbound import routes as inbound_routes
from chorus.wire.enums import Channel
from tests.mutations import mutate
from tests.unit import test_messenger_inbound as messenger
from tests.unit import test_rcs_inbound as rcs
from tests.unit import test_sms_inbound as sms
from tests.unit import test_viber_inbound as viber
from tests.unit import test_viberbm_inbound as viberbm
from tests.unit import test_whatsapp_inbound as whatsapp

MUTATIONS_PER_SEED = 150


def as_request(payload: Any) -> NativeRequest:
    return NativeRequest(app_id="APP", headers={}, body=json.dumps(payload).encode())


def rcs_request(event: Any) -> NativeRequest:
    """RBM wraps the event in a Pub/Sub push (base64 `message.data`): the event is mutated."""
    return rcs.push(event, secret=None)


# channel → (the webhooks to mutate, how one becomes a request)
SEEDS: dict[Channel, tuple[list[Any], Callable[[Any], NativeRequest]]] = {
    Channel.WHATSAPP: (
        [
            whatsapp.message("text", {"body": "hi"}, context={"from": "1555", "id": "wamid.O"}),
            whatsapp.message(
                "interactive",
                {"type": "nfm_reply", "nfm_reply": {"name": "flow", "response_json": "{}"}},
            ),
            whatsapp.message(
                "interactive", {"type": "button_reply", "button_reply": {"id": "a", "title": "b"}}
            ),
            whatsapp.message(
                "order",
                {
                    "catalog_id": "c",
                    "text": "t",
                    "product_items": [
                        {
                            "product_retailer_id": "p",
                            "quantity": "2",
                            "item_price": "9.5",
                            "currency": "EUR",
                        }
                    ],
                },
            ),
            whatsapp.message("location", {"latitude": 59.3, "longitude": 18.0, "name": "n"}),
            whatsapp.message("image", {"id": "M1", "mime_type": "image/jpeg", "caption": "c"}),
            whatsapp.webhook({"statuses": [whatsapp.status("delivered")]}),
            whatsapp.webhook({"statuses": [whatsapp.status("failed")]}),
        ],
        as_request,
    ),
    Channel.MESSENGER: (
        [
            messenger.webhook({"message": {"mid": "m1", "text": "hi"}}),
            messenger.webhook(
                {
                    "message": {
                        "mid": "m2",
                        "attachments": [
                            {"type": "location", "payload": {"coordinates": {"lat": 1, "long": 2}}},
                            {"type": "image", "payload": {"url": "https://x.example/a.jpg"}},
                        ],
                    }
                }
            ),
            messenger.webhook({"delivery": {"mids": ["m1"], "watermark": messenger.T}}),
            messenger.webhook({"read": {"watermark": messenger.T}}),
            messenger.webhook({"postback": {"title": "Yes", "payload": "yes"}}),
        ],
        as_request,
    ),
    Channel.SMS: ([sms.MO_TEXT, sms.dlr("Delivered", 0), sms.dlr("Failed", 402)], as_request),
    Channel.VIBER: (
        [
            viber.message_event({"type": "text", "text": "hi"}),
            viber.message_event({"type": "location", "location": {"lat": 1, "lon": 2}}),
            viber.report("delivered"),
            viber.report("failed", desc="gone"),
            {"event": "subscribed", "timestamp": 1, "user": {"id": viber.USER, "name": "J"}},
        ],
        as_request,
    ),
    Channel.VIBERBM: (
        [
            viberbm.message({"type": "text", "text": "hi"}),
            viberbm.status("delivered"),
            viberbm.status("failed", error_code=1),
        ],
        as_request,
    ),
    Channel.RCS: (
        [rcs.user(text="hi"), rcs.user(suggestionResponse={"postbackData": "p", "text": "t"})]
        + [rcs.status(kind) for kind in ("DELIVERED", "READ", "IS_TYPING")],
        rcs_request,
    ),
}


@pytest.mark.parametrize("channel", list(SEEDS), ids=lambda c: c.value)
def test_a_webhook_of_any_shape_is_mapped_or_refused(channel: Channel) -> None:
    plugin = plugin_for(channel)
    assert plugin is not None
    seeds, build = SEEDS[channel]
    rng = random.Random(f"shapes-{channel.value}")
    for seed in seeds:
        assert plugin.parse_inbound(build(seed)) is not None  # the seed itself maps
        for _ in range(MUTATIONS_PER_SEED):
            payload = mutate(seed, rng)
            try:
                plugin.parse_inbound(build(payload))
            except InboundRejected:
                pass
            except Exception as error:
                pytest.fail(f"{channel.value} parser failed on {json.dumps(payload)}: {error!r}")


class BrokenSmsChannel(SmsChannel):
    """The SMS plugin with a parser bug: it fails on every webhook."""

    def parse_inbound(self, request: NativeRequest) -> list[InboundItem]:
        raise KeyError("a field the parser took for granted")


def test_a_parser_that_fails_refuses_the_webhook_and_logs_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="chorus.inbound"),
        pytest.raises(InboundRejected) as refused,
    ):
        inbound_routes._parse(BrokenSmsChannel(), as_request(sms.MO_TEXT))
    assert refused.value.status == 400  # final: a 500 would be retried by the channel for days
    assert "shape chorus cannot read" in refused.value.description
    [record] = caplog.records
    assert "SMS parser failed" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError

"""Generic message → channel payload, the one path used by dispatch and by
`messages:transcode` (so what the endpoint shows is what is sent)."""

import logging
from collections.abc import Mapping
from typing import Any

from chorus.channels.base import ChannelFailure, ChannelPlugin, Transcoded
from chorus.channels.sms.transcode import TemplateNotResolved
from chorus.wire.messages import AppMessage, ReasonCode

log = logging.getLogger("chorus.transcoding")


class TranscodingFailed(Exception):
    def __init__(self, reason: dict[str, Any]) -> None:
        super().__init__(reason["description"])
        self.reason = reason


def transcode_message(
    plugin: ChannelPlugin,
    message: AppMessage,
    *,
    message_id: str,
    recipient: str | None = None,
    sender: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> Transcoded:
    try:
        return plugin.transcode(
            message,
            message_id=message_id,
            recipient=recipient,
            sender=sender,
            properties=properties,
        )
    except ChannelFailure as failure:  # a reason the transcoder knows better than BAD_REQUEST
        raise TranscodingFailed(failure.reason()) from failure
    except TemplateNotResolved as exc:
        raise TranscodingFailed(_reason(ReasonCode.TEMPLATE_NOT_FOUND, str(exc))) from exc
    except ValueError as exc:
        raise TranscodingFailed(_reason(ReasonCode.BAD_REQUEST, str(exc))) from exc
    except Exception as exc:  # a transcoder bug must fail the message, not wedge its job
        log.exception("transcoding for %s failed", plugin.channel)
        raise TranscodingFailed(
            _reason(ReasonCode.INTERNAL_ERROR, f"transcoding for {plugin.channel} failed")
        ) from exc


def _reason(code: ReasonCode, description: str) -> dict[str, Any]:
    return {"code": code.value, "description": description, "sub_code": "UNSPECIFIED_SUB_CODE"}

"""Smart Conversations for apps with `smart_conversation.enabled` (API.md Part B §8.2–§8.3):
a deterministic stand-in for the public service's analysis, so that an app built against
MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION and SMART_CONVERSATIONS receives both, in their
shapes. It judges nothing: every sentiment is neutral, no intent is found, and the personal
data it masks is every run of digits (card, phone and account numbers, codes)."""

import copy
import re
from typing import Any

_DIGITS = re.compile(r"\d+")
# Where a contact message carries text: (message kind, field).
_TEXTS = (("text_message", "text"), ("media_card_message", "caption"))


def masked(text: str) -> str:
    """`text` with each digit replaced by `*`, so lengths and layout stay readable."""
    return _DIGITS.sub(lambda run: "*" * len(run.group()), text)


def texts(contact_message: dict[str, Any]) -> list[str]:
    found = []
    for kind, field in _TEXTS:
        value = (contact_message.get(kind) or {}).get(field)
        if isinstance(value, str) and value:
            found.append(value)
    return found


def redacted(contact_message: dict[str, Any]) -> dict[str, Any]:
    """The contact message with its texts masked (the `message_redaction` callback's)."""
    copied = copy.deepcopy(contact_message)
    for kind, field in _TEXTS:
        part = copied.get(kind)
        if isinstance(part, dict) and isinstance(part.get(field), str):
            part[field] = masked(part[field])
    return copied


def analysis_results(contact_message: dict[str, Any]) -> dict[str, Any]:
    """`analysis_results` of the `smart_conversation_notification`: one entry per text for
    sentiment, intent and personal data; none for a message without text."""
    found = texts(contact_message)
    if not found:
        return {}
    return {
        "ml_sentiment_result": [
            {
                "message": text,
                "results": [{"sentiment": "neutral", "score": 1.0}],
                "sentiment": "neutral",
                "score": 1.0,
            }
            for text in found
        ],
        "ml_nlu_result": [
            {"message": text, "results": [], "intent": "", "score": 0.0} for text in found
        ],
        "ml_pii_result": [{"message": text, "masked": masked(text)} for text in found],
    }

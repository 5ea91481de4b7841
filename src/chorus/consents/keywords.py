"""SMS consent keywords (CHANNELS.md Decision 6, part 1 §1.6): the whole inbound body,
trimmed and case-folded, is the keyword."""

from enum import StrEnum

STOP_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
START_KEYWORDS = frozenset({"start", "unstop", "yes"})


class Keyword(StrEnum):
    STOP = "STOP"
    START = "START"


def consent_keyword(text: str) -> Keyword | None:
    """STOP for a stop keyword, START for a start keyword (which counts only while the
    identity is opted out — otherwise it is ordinary text), else None."""
    folded = text.strip().casefold()
    if folded in STOP_KEYWORDS:
        return Keyword.STOP
    if folded in START_KEYWORDS:
        return Keyword.START
    return None

"""How many SMS parts a body needs (CHANNELS.md part 1 §1.4, "Limits and encoding").

A body whose every character is in the GSM 03.38 default alphabet or its extension table goes
out as GSM-7: one septet per character, two for an extension character (escape + code).
≤ 160 septets is one part; longer bodies are split into parts of at most 153 septets, and a
part boundary never splits an escape pair. Any other body goes out as UCS-2, counted in UTF-16
code units (a character outside the BMP counts 2): ≤ 70 is one part, otherwise ceil(n / 67).
"""

import math
from dataclasses import dataclass
from typing import Literal

# GSM 03.38 default alphabet, in code order 0x00-0x7F (0x1B, the escape to the extension
# table, is not a character of its own and is left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# The extension table: each is sent as escape + code, two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE_PART = 160
GSM7_CONCATENATED_PART = 153
UCS2_SINGLE_PART = 70
UCS2_CONCATENATED_PART = 67


@dataclass(frozen=True)
class SmsEncoding:
    """The encoding a body needs, its length in that encoding's units, and its part count."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int
    parts: int


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 default alphabet or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm7_septets(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _gsm7_parts(text: str, septets: int) -> int:
    if septets <= GSM7_SINGLE_PART:
        return 1
    parts, used = 1, 0
    for ch in text:
        cost = _gsm7_septets(ch)
        if used + cost > GSM7_CONCATENATED_PART:
            parts, used = parts + 1, 0
        used += cost
    return parts


def sms_parts(text: str) -> SmsEncoding:
    """The encoding, length and number of parts of an SMS body. An empty body is one part."""
    if is_gsm7(text):
        septets = sum(_gsm7_septets(ch) for ch in text)
        return SmsEncoding("GSM-7", septets, _gsm7_parts(text, septets))
    code_units = len(text.encode("utf-16-le")) // 2
    if code_units <= UCS2_SINGLE_PART:
        return SmsEncoding("UCS-2", code_units, 1)
    return SmsEncoding("UCS-2", code_units, math.ceil(code_units / UCS2_CONCATENATED_PART))

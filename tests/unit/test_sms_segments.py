"""SMS segment counting (CHANNELS.md part 1 §1.4, "Limits and encoding")."""

import pytest

from chorus.channels.sms.segments import GSM7_BASIC, GSM7_EXTENSION, SmsEncoding, sms_parts


def test_the_worked_example_card_is_115_septets_in_one_part() -> None:
    body = (
        "Spring sale\nAll shoes 20% off\nhttps://cdn.example.com/shoes.jpg\n"
        "1. Remind me\n2. Open: https://shop.example.com/sale"
    )
    assert sms_parts(body) == SmsEncoding("GSM-7", 115, 1)


def test_the_default_alphabet_has_127_characters_and_the_extension_table_10() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes less the escape
    assert sorted(GSM7_EXTENSION) == sorted("|^€{}[]~\\\f")
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_every_gsm_character_stays_gsm7() -> None:
    text = "".join(sorted(GSM7_BASIC)) + "".join(sorted(GSM7_EXTENSION))
    assert sms_parts(text).encoding == "GSM-7"
    assert sms_parts(text).units == 127 + 2 * 10


@pytest.mark.parametrize("ch", list("|^€{}[]~\\\f"))
def test_extension_characters_count_two_septets(ch: str) -> None:
    assert sms_parts(ch) == SmsEncoding("GSM-7", 2, 1)


@pytest.mark.parametrize(
    ("length", "parts"), [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)]
)
def test_gsm7_parts(length: int, parts: int) -> None:
    assert sms_parts("a" * length) == SmsEncoding("GSM-7", length, parts)


def test_160_septets_with_extension_characters_is_still_one_part() -> None:
    assert sms_parts("a" * 158 + "€") == SmsEncoding("GSM-7", 160, 1)
    assert sms_parts("a" * 159 + "€") == SmsEncoding("GSM-7", 161, 2)


def test_a_part_boundary_never_splits_an_escape_pair() -> None:
    # 152 + 2 + 152 = 306 septets, which would fit two parts of 153, but the euro sign
    # cannot straddle the boundary: part 1 carries 152, part 2 154 > 153.
    assert sms_parts("a" * 152 + "€" + "a" * 152) == SmsEncoding("GSM-7", 306, 3)
    # Without a straddling pair the same length stays two parts.
    assert sms_parts("€" + "a" * 304) == SmsEncoding("GSM-7", 306, 2)


@pytest.mark.parametrize("ch", ["é", "à", "Ä", "ß", "Δ", "¿", "£", "¥", "¤"])
def test_accented_and_greek_letters_of_the_default_alphabet_are_gsm7(ch: str) -> None:
    assert sms_parts(ch).encoding == "GSM-7"


@pytest.mark.parametrize("ch", ["á", "ç", "ê", "ł", "—", "’", "`", "€ä\u00a0", "中"])
def test_characters_outside_gsm_switch_to_ucs2(ch: str) -> None:
    assert sms_parts("Hello " + ch).encoding == "UCS-2"


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3)]
)
def test_ucs2_parts(length: int, parts: int) -> None:
    assert sms_parts("ж" * length) == SmsEncoding("UCS-2", length, parts)


def test_characters_outside_the_bmp_count_two_code_units() -> None:
    assert sms_parts("😀" * 35) == SmsEncoding("UCS-2", 70, 1)
    assert sms_parts("😀" * 36) == SmsEncoding("UCS-2", 72, 2)


def test_one_non_gsm_character_moves_the_whole_body_to_ucs2() -> None:
    # 100 GSM characters alone fit one part; with a single "ç" the body needs UCS-2.
    assert sms_parts("a" * 100).parts == 1
    assert sms_parts("a" * 100 + "ç") == SmsEncoding("UCS-2", 101, 2)

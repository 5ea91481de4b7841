"""How the simulator reads what it is sent: numeric native codes (`fail_next`) and JSON
bodies, whose every failure must be a ValueError its caller turns into the channel's 400."""

from typing import Any

import pytest

from chorus.simulator.base import MAX_JSON_DEPTH, numeric_code, parse_json
from chorus.simulator.registry import simulator_for
from chorus.wire.enums import Channel


@pytest.mark.parametrize(("value", "code"), [(406, 406), ("406", 406), (" 60 ", 60), ("0", 0)])
def test_numeric_codes_are_integers_or_ascii_digits(value: Any, code: int) -> None:
    assert numeric_code(value) == code


@pytest.mark.parametrize(
    "value",
    [
        "\u00b2",  # str.isdigit() is true, int() raises
        "\u0664\u0660\u0666",  # Arabic-Indic 406: int() reads it
        "\uff14\uff10\uff16",  # full-width 406
        "9" * 5000,  # past int()'s 4300-digit limit
        "1234567890",  # ten digits
        10**9,
        -1,
        "-1",
        "4 06",
        True,
        None,
        4.0,
    ],
)
def test_anything_else_is_no_numeric_code(value: Any) -> None:
    assert numeric_code(value) is None


def arabic_indic(number: int) -> str:
    return "".join(chr(0x0660 + int(digit)) for digit in str(number))


# An Arabic-Indic form of a code each channel takes (int() reads it as that code).
KNOWN_CODES = {
    Channel.SMS: 406,
    Channel.WHATSAPP: 131026,
    Channel.RCS: 404,
    Channel.MESSENGER: 551,
    Channel.VIBER: 5,
}


@pytest.mark.parametrize("channel", list(KNOWN_CODES))
def test_fail_next_takes_ascii_digits_only(channel: Channel) -> None:
    simulator = simulator_for(channel)
    assert simulator is not None
    assert simulator.check_fail_next(str(KNOWN_CODES[channel])) is not None
    for value in ("\u00b2", arabic_indic(KNOWN_CODES[channel]), "9" * 5000):
        assert simulator.check_fail_next(value) is None, (channel, value[:10])


@pytest.mark.parametrize("subcode", ["\u00b2", "\u0664", "9" * 5000])
def test_a_messenger_fail_next_subcode_takes_ascii_digits_only(subcode: str) -> None:
    simulator = simulator_for(Channel.MESSENGER)
    assert simulator is not None
    assert simulator.check_fail_next(f"551/{subcode}") is None


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 950, 100_000])
def test_json_nested_too_deeply_is_a_value_error(depth: int) -> None:
    with pytest.raises(ValueError, match="nested"):
        parse_json("[" * depth + "]" * depth)
    with pytest.raises(ValueError, match="nested"):
        parse_json('{"a": ' * depth + "1" + "}" * depth)


def test_json_within_the_depth_is_parsed() -> None:
    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    assert parse_json(b'{"to": ["46700000001"], "body": "x"}') == {
        "to": ["46700000001"],
        "body": "x",
    }

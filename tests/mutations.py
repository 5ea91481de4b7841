"""Seeded mutations of JSON values, for the tests that check that bad input is refused and
never failed on: one value replaced by a value of another JSON type, one key dropped, or one
key added (now and then the whole value replaced)."""

import copy
import random
from collections.abc import Iterator
from typing import Any

OTHER_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**64,
    1.5,
    1e308,
    "",
    " ",
    "x",
    "x" * 5000,
    "\u0000",
    "%00",
    "ü🙂",
    "9999-99-99T99:99:99Z",
    "SMS",
    [],
    [None],
    [1, "a"],
    {},
    {"a": None},
]


def places(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside `value` (keys and indexes), itself first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from places(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from places(item, (*prefix, index))


def mutate(value: Any, rng: random.Random) -> Any:
    """A copy of `value` with one change."""
    value = copy.deepcopy(value)
    inside = [place for place in places(value) if place]
    if not inside or rng.random() < 0.1:
        return rng.choice(OTHER_VALUES)
    place = rng.choice(inside)
    parent = value
    for key in place[:-1]:
        parent = parent[key]
    roll = rng.random()
    if roll < 0.15 and isinstance(parent, dict):
        del parent[place[-1]]
    elif roll < 0.25 and isinstance(parent, dict):
        parent["unexpected"] = rng.choice(OTHER_VALUES)
    else:
        parent[place[-1]] = rng.choice(OTHER_VALUES)
    return value

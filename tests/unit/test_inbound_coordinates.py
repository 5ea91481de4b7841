"""Locations from the channels (`channels.base.coordinates`): numbers on the globe, or no
location at all. A string, null or `1e999` was stored as the location's coordinates."""

import pytest

from chorus.channels.base import coordinates


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (59.33, 18.06, {"latitude": 59.33, "longitude": 18.06}),
        ("59.33", "-18.06", {"latitude": 59.33, "longitude": -18.06}),  # as Viber writes them
        (90, -180, {"latitude": 90.0, "longitude": -180.0}),
        ("abc", 18.06, None),
        (59.33, {"a": 1}, None),
        (None, None, None),
        (True, 1, None),
        (float("inf"), 0, None),
        ("nan", 0, None),
        (90.5, 0, None),
        (0, 180.5, None),
    ],
)
def test_coordinates_are_numbers_on_the_globe_or_none(
    latitude: object, longitude: object, expected: dict | None
) -> None:
    assert coordinates(latitude, longitude) == expected

"""The published retry schedule (API.md Decision 4; README "Callbacks")."""

import pytest

from chorus.callbacks.schedule import (
    JITTER,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    delay_after,
    retry_scale,
)

DAY = 24 * 60 * 60


def test_retries_last_at_least_24_hours_even_with_the_shortest_jitter() -> None:
    assert sum(RETRY_DELAYS) * (1 - JITTER) >= DAY


def test_delays_grow_and_then_hold() -> None:
    assert list(RETRY_DELAYS) == sorted(RETRY_DELAYS)
    assert RETRY_DELAYS[:8] == (5, 15, 60, 300, 900, 1800, 3600, 7200)
    assert set(RETRY_DELAYS[8:]) == {4 * 60 * 60}
    assert MAX_ATTEMPTS == len(RETRY_DELAYS) + 1 == 15


def test_each_delay_is_jittered_around_its_table_value() -> None:
    for attempt, base in enumerate(RETRY_DELAYS, start=1):
        delay = delay_after(attempt)
        assert delay is not None
        assert base * (1 - JITTER) <= delay <= base * (1 + JITTER)


def test_no_delay_after_the_last_attempt() -> None:
    assert delay_after(MAX_ATTEMPTS) is None
    assert delay_after(0) is None


def test_scale_multiplies_every_delay() -> None:
    assert delay_after(1, scale=0) == 0
    delay = delay_after(2, scale=0.01)
    assert delay is not None and delay <= 15 * 0.01 * (1 + JITTER)


class _Settings:
    callback_retry_scale = 0.5


def test_scale_comes_from_settings_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_CALLBACK_RETRY_SCALE", "0.25")
    assert retry_scale(_Settings()) == 0.5
    assert retry_scale(object()) == 0.25
    monkeypatch.setenv("CHORUS_CALLBACK_RETRY_SCALE", "nonsense")
    assert retry_scale(None) == 1.0
    monkeypatch.delenv("CHORUS_CALLBACK_RETRY_SCALE")
    assert retry_scale(None) == 1.0

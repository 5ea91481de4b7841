"""The per-origin circuit breaker of callback attempts (`callbacks/breaker.py`)."""

from chorus.callbacks.breaker import (
    COOL_DOWN,
    DEFERRALS_PER_SECOND,
    FAILURES_TO_OPEN,
    MAX_COOL_DOWN,
    Breakers,
)

HOOK = "https://hooks.example.com:8443/chorus?x=1"
SAME_ORIGIN = "https://HOOKS.example.com:8443/other"


def fail(breakers: Breakers, now: float, *, probe: bool = False, url: str = HOOK) -> None:
    breakers.record(url, answered=False, probe=probe, now=now, scale=1.0)


def test_an_origin_rests_after_failures_in_a_row_and_others_do_not() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN - 1):
        fail(breakers, 0.0)
        assert breakers.admit(HOOK, 0.0, 1.0).wait is None
    fail(breakers, 0.0)
    wait = breakers.admit(SAME_ORIGIN, 1.0, 1.0).wait
    assert wait is not None and COOL_DOWN - 1 + 0.1 * COOL_DOWN <= wait <= 2 * COOL_DOWN - 1
    assert breakers.admit("https://hooks.example.com/chorus", 1.0, 1.0).wait is None  # other port


def test_an_answer_in_between_starts_the_count_again() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN - 1):
        fail(breakers, 0.0)
    breakers.record(HOOK, answered=True, probe=False, now=0.0, scale=1.0)
    fail(breakers, 0.0)
    assert breakers.admit(HOOK, 0.0, 1.0).wait is None


def test_after_the_cool_down_one_probe_goes_and_its_outcome_decides() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN):
        fail(breakers, 0.0)
    probe = breakers.admit(HOOK, COOL_DOWN, 1.0)
    assert probe.wait is None and probe.probe
    assert breakers.admit(HOOK, COOL_DOWN, 1.0).wait is not None  # one probe at a time
    fail(breakers, COOL_DOWN, probe=True)  # the cool-down doubles
    assert breakers.admit(HOOK, COOL_DOWN + 2 * COOL_DOWN - 1, 1.0).wait is not None
    second = breakers.admit(HOOK, COOL_DOWN + 2 * COOL_DOWN, 1.0)
    assert second.probe
    breakers.record(HOOK, answered=True, probe=True, now=100.0, scale=1.0)
    assert breakers.admit(HOOK, 100.0, 1.0) == breakers.admit(
        "https://elsewhere.example/", 100.0, 1.0
    )


def test_failures_of_attempts_already_under_way_do_not_lengthen_the_rest() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN + 10):  # a burst that was in flight when it opened
        fail(breakers, 0.0)
    assert breakers.admit(HOOK, COOL_DOWN, 1.0).probe


def test_the_cool_down_is_capped_and_scaled() -> None:
    breakers = Breakers()
    now = 0.0
    for _ in range(FAILURES_TO_OPEN):
        breakers.record(HOOK, answered=False, probe=False, now=now, scale=0.01)
    for _ in range(20):
        now += MAX_COOL_DOWN
        assert breakers.admit(HOOK, now, 1.0).probe
        breakers.record(HOOK, answered=False, probe=True, now=now, scale=0.01)
    wait = breakers.admit(HOOK, now, 0.01).wait
    assert wait is not None and wait <= 2 * MAX_COOL_DOWN * 0.01


def test_a_large_backlog_comes_back_spread_thin() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN):
        fail(breakers, 0.0)
    waits = [breakers.admit(HOOK, 0.0, 1.0).wait or 0.0 for _ in range(10_000)]
    # About DEFERRALS_PER_SECOND of them come back each second, not all within a cool-down.
    assert max(waits[:100]) <= 2 * COOL_DOWN
    assert max(waits[-100:]) > 1000
    assert max(waits) <= COOL_DOWN + 10_000 / DEFERRALS_PER_SECOND

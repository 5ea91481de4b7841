"""The per-origin circuit breaker of callback attempts (`callbacks/breaker.py`)."""

from chorus.callbacks.breaker import COOL_DOWN, FAILURES_TO_OPEN, MAX_COOL_DOWN, Breakers

HOOK = "https://hooks.example.com:8443/chorus?x=1"
SAME_ORIGIN = "https://HOOKS.example.com:8443/other"


def fail(breakers: Breakers, now: float, *, probe: bool = False, scale: float = 1.0) -> None:
    breakers.record(HOOK, answered=False, probe=probe, now=now, scale=scale)


def resting(breakers: Breakers, url: str, now: float) -> bool:
    return breakers.admit(url, now).resting is not None


def test_an_origin_rests_after_failures_in_a_row_and_others_do_not() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN - 1):
        fail(breakers, 0.0)
        assert not resting(breakers, HOOK, 0.0)
    fail(breakers, 0.0)
    admission = breakers.admit(SAME_ORIGIN, COOL_DOWN - 1)
    assert admission.resting == (
        "not attempted: https://hooks.example.com:8443 is resting after 5 failed attempts in a row"
    )
    assert not resting(breakers, "https://hooks.example.com/chorus", 1.0)  # another port


def test_an_answer_in_between_starts_the_count_again() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN - 1):
        fail(breakers, 0.0)
    breakers.record(HOOK, answered=True, probe=False, now=0.0, scale=1.0)
    fail(breakers, 0.0)
    assert not resting(breakers, HOOK, 0.0)


def test_after_the_rest_one_probe_goes_and_its_outcome_decides() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN):
        fail(breakers, 0.0)
    probe = breakers.admit(HOOK, COOL_DOWN)
    assert probe.resting is None and probe.probe
    assert resting(breakers, HOOK, COOL_DOWN)  # one probe at a time
    fail(breakers, COOL_DOWN, probe=True)  # the rest doubles
    assert resting(breakers, HOOK, COOL_DOWN + 2 * COOL_DOWN - 1)
    assert breakers.admit(HOOK, COOL_DOWN + 2 * COOL_DOWN).probe
    breakers.record(HOOK, answered=True, probe=True, now=100.0, scale=1.0)
    assert breakers.admit(HOOK, 100.0) == breakers.admit("https://elsewhere.example/", 100.0)


def test_failures_of_attempts_already_under_way_do_not_lengthen_the_rest() -> None:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN + 10):  # a burst that was in flight when it opened
        fail(breakers, 0.0)
    assert breakers.admit(HOOK, COOL_DOWN).probe


def test_the_rest_is_capped_and_scaled() -> None:
    breakers = Breakers()
    now = 0.0
    for _ in range(FAILURES_TO_OPEN):
        fail(breakers, now, scale=0.01)
    assert breakers.admit(HOOK, COOL_DOWN * 0.01).probe
    for _ in range(20):
        fail(breakers, now, probe=True, scale=0.01)
        now += MAX_COOL_DOWN * 0.01
        assert breakers.admit(HOOK, now).probe

"""The per-origin circuit breakers (`kit/breaker.py`)."""

import asyncio

import httpx
import pytest

from chorus.kit.breaker import (
    COOL_DOWN,
    FAILURES_TO_OPEN,
    MAX_COOL_DOWN,
    Breakers,
    BreakerTransport,
    Rest,
    Resting,
)

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


# --- the channel APIs' transport --------------------------------------------------------------

API = "https://api.channel.example/xms/v1/plan/batches"


class Network(httpx.AsyncBaseTransport):
    """What the channel API does with each request that reaches it: `behaviour` is "refuse"
    (connection refused), "timeout", a status code, or "hang" (until cancelled)."""

    def __init__(self, behaviour: str | int) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self.hanging = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.behaviour == "refuse":
            raise httpx.ConnectError("connection refused", request=request)
        if self.behaviour == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.behaviour == "hang":
            self.hanging.set()
            await asyncio.Event().wait()
        assert isinstance(self.behaviour, int)
        return httpx.Response(self.behaviour)


async def post(client: httpx.AsyncClient) -> int | str:
    try:
        return (await client.post(API, json={})).status_code
    except Resting as resting:
        return f"resting: {resting}"
    except httpx.TransportError:
        return "no answer"


@pytest.mark.parametrize("behaviour", ["refuse", "timeout"])
def test_a_channel_api_that_does_not_answer_rests_and_is_not_called(behaviour: str) -> None:
    async def scenario() -> None:
        network = Network(behaviour)
        async with httpx.AsyncClient(transport=BreakerTransport(network, Breakers())) as client:
            outcomes = [await post(client) for _ in range(FAILURES_TO_OPEN + 3)]
        assert outcomes[:FAILURES_TO_OPEN] == ["no answer"] * FAILURES_TO_OPEN
        assert (
            outcomes[FAILURES_TO_OPEN:]
            == [
                "resting: not attempted: https://api.channel.example is resting after 5 failed "
                "attempts in a row"
            ]
            * 3
        )
        assert network.requests == FAILURES_TO_OPEN

    asyncio.run(scenario())


def test_http_answers_even_5xx_never_rest_a_channel_api() -> None:
    async def scenario() -> None:
        network = Network(503)
        async with httpx.AsyncClient(transport=BreakerTransport(network, Breakers())) as client:
            outcomes = [await post(client) for _ in range(FAILURES_TO_OPEN * 2)]
        assert outcomes == [503] * FAILURES_TO_OPEN * 2
        assert network.requests == FAILURES_TO_OPEN * 2

    asyncio.run(scenario())


def test_after_the_rest_a_probe_that_is_answered_ends_it() -> None:
    async def scenario() -> None:
        network = Network("refuse")
        transport = BreakerTransport(network, Breakers(), scale=0)  # rests end at once
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(FAILURES_TO_OPEN):
                await post(client)
            network.behaviour = 200
            assert await post(client) == 200  # the probe
            assert [await post(client) for _ in range(3)] == [200] * 3
        assert network.requests == FAILURES_TO_OPEN + 4

    asyncio.run(scenario())


def test_a_cancelled_probe_passes_its_turn_on() -> None:
    async def scenario() -> None:
        network = Network("refuse")
        transport = BreakerTransport(network, Breakers(), scale=0)
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(FAILURES_TO_OPEN):
                await post(client)
            network.behaviour = "hang"
            probe = asyncio.create_task(post(client))
            await network.hanging.wait()
            probe.cancel()
            with pytest.raises(asyncio.CancelledError):
                await probe
            network.behaviour = 200
            assert await post(client) == 200

    asyncio.run(scenario())


# --- rests shared between processes (`rests.py`) -------------------------------------------

ORIGIN = "https://hooks.example.com:8443"


def opened_rest(now: float = 0.0) -> Breakers:
    breakers = Breakers()
    for _ in range(FAILURES_TO_OPEN):
        fail(breakers, now)
    return breakers


def test_a_rest_begun_here_is_handed_over_once() -> None:
    breakers = opened_rest()
    opened, closed = breakers.changes(10.0)
    assert opened == {ORIGIN: Rest(FAILURES_TO_OPEN, COOL_DOWN, COOL_DOWN - 10.0)}
    assert closed == set()
    assert breakers.changes(10.0) == ({}, set())
    fail(breakers, 11.0)  # an attempt already under way: the rest is not extended
    assert breakers.changes(11.0) == ({}, set())


def test_a_failed_probe_hands_over_the_longer_rest_and_an_answer_the_end() -> None:
    breakers = opened_rest()
    breakers.changes(0.0)
    assert breakers.admit(HOOK, COOL_DOWN).probe
    fail(breakers, COOL_DOWN, probe=True)
    opened, _ = breakers.changes(COOL_DOWN)
    assert opened[ORIGIN].cool_down == 2 * COOL_DOWN
    assert opened[ORIGIN].remaining == 2 * COOL_DOWN
    breakers.record(HOOK, answered=True, probe=True, now=100.0, scale=1.0)
    assert breakers.changes(100.0) == ({}, {ORIGIN})


def test_an_answer_before_any_rest_ends_nothing_to_share() -> None:
    breakers = Breakers()
    fail(breakers, 0.0)
    breakers.record(HOOK, answered=True, probe=False, now=0.0, scale=1.0)
    assert breakers.changes(0.0) == ({}, set())


def test_an_adopted_rest_refuses_at_once_and_ends_with_its_time() -> None:
    breakers = Breakers()
    breakers.adopt({ORIGIN: Rest(7, COOL_DOWN, 20.0)}, 100.0)
    assert resting(breakers, SAME_ORIGIN, 119.0)
    assert "after 7 failed attempts" in (breakers.admit(HOOK, 119.0).resting or "")
    assert breakers.admit(HOOK, 120.0).probe
    # Adopted rests are not handed back as this process's own.
    assert breakers.changes(120.0) == ({}, set())


def test_adopting_keeps_the_longer_of_two_rests() -> None:
    breakers = opened_rest()  # rests until COOL_DOWN
    breakers.changes(0.0)
    breakers.adopt({ORIGIN: Rest(FAILURES_TO_OPEN, COOL_DOWN, 5.0)}, 0.0)
    assert resting(breakers, HOOK, COOL_DOWN - 1)
    breakers.adopt({ORIGIN: Rest(FAILURES_TO_OPEN, 4 * COOL_DOWN, 4 * COOL_DOWN)}, 0.0)
    assert resting(breakers, HOOK, 4 * COOL_DOWN - 1)


def test_a_rest_no_process_keeps_any_more_ends_here() -> None:
    breakers = opened_rest()
    breakers.changes(0.0)
    breakers.adopt({}, 1.0)  # another process's probe was answered
    assert not resting(breakers, HOOK, 1.0)
    fail(breakers, 1.0)  # counting starts again
    assert not resting(breakers, HOOK, 1.0)


def test_a_rest_begun_while_the_shared_ones_were_read_is_kept() -> None:
    breakers = Breakers()
    breakers.changes(0.0)  # written: nothing
    for _ in range(FAILURES_TO_OPEN):  # meanwhile, the rest begins here
        fail(breakers, 0.0)
    breakers.adopt({}, 0.0)  # what was read does not have it yet
    assert resting(breakers, HOOK, 1.0)
    assert ORIGIN in breakers.changes(1.0)[0]


def test_a_probe_under_way_decides_for_itself() -> None:
    breakers = opened_rest()
    breakers.changes(0.0)
    assert breakers.admit(HOOK, COOL_DOWN).probe
    breakers.adopt({}, COOL_DOWN)
    breakers.adopt({ORIGIN: Rest(9, COOL_DOWN, 500.0)}, COOL_DOWN)
    breakers.record(HOOK, answered=True, probe=True, now=COOL_DOWN, scale=1.0)
    assert not resting(breakers, HOOK, COOL_DOWN)

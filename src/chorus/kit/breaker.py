"""Circuit breakers: a rest for the servers chorus calls that stop answering, per origin.

An attempt at a server that does not answer holds a worker slot until it times out, so a
few dead servers with work queued for them could keep every slot busy waiting, and everybody
else's work behind them. After `FAILURES_TO_OPEN` failed attempts in a row at one origin
(scheme, host and port), the origin rests for a cool-down (`COOL_DOWN`, doubling after each
failed probe up to `MAX_COOL_DOWN`, both times the caller's `scale`): attempts at it fail at
once, without a request. Then one attempt goes through as a probe: an answer ends the rest,
a failure starts a longer one. What counts as failed is the caller's business (webhook
receivers: no answer or a 5xx, `callbacks/tasks.py`; channel APIs: no answer,
`ChannelTransport`).

Each process counts failures in memory; the rests themselves are shared through the database
(`rests.py`): `changes` hands over the rests this process began, extended or ended, and
`adopt` takes in every process's, so that the others skip a server one of them found silent,
and a restart remembers.
"""

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

FAILURES_TO_OPEN = 5
COOL_DOWN = 30.0
MAX_COOL_DOWN = 600.0


@dataclass
class Circuit:
    failures: int = 0  # failed attempts in a row
    open_until: float = 0.0  # monotonic time
    cool_down: float = 0.0
    probing: bool = False


@dataclass(frozen=True)
class Rest:
    """A rest as processes share it: `remaining` seconds from the moment it was read."""

    failures: int
    cool_down: float
    remaining: float


@dataclass(frozen=True)
class Admission:
    """Whether to make the attempt (`probe` when it is the one a resting origin gets); when
    not, `resting` says why."""

    resting: str | None = None
    probe: bool = False


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Breakers:
    def __init__(self) -> None:
        self._circuits: dict[str, Circuit] = {}
        # Rests begun or extended, and ended, here since the last `changes`.
        self._opened: set[str] = set()
        self._closed: set[str] = set()

    def admit(self, url: str, now: float) -> Admission:
        key = origin(url)
        circuit = self._circuits.get(key)
        if circuit is None or circuit.failures < FAILURES_TO_OPEN:
            return Admission()
        if now < circuit.open_until or circuit.probing:
            return Admission(
                resting=f"not attempted: {key} is resting after {circuit.failures} failed "
                "attempts in a row"
            )
        circuit.probing = True
        return Admission(probe=True)

    def record(self, url: str, *, answered: bool, probe: bool, now: float, scale: float) -> None:
        """The outcome of an admitted attempt: `answered` when the receiver gave an HTTP
        answer below 500."""
        key = origin(url)
        if answered:
            ended = self._circuits.pop(key, None)
            if ended is not None and ended.failures >= FAILURES_TO_OPEN:
                self._closed.add(key)
                self._opened.discard(key)
            return
        circuit = self._circuits.setdefault(key, Circuit())
        circuit.failures += 1
        if probe:
            circuit.probing = False
            circuit.cool_down = min(circuit.cool_down * 2, MAX_COOL_DOWN * scale)
        elif circuit.failures == FAILURES_TO_OPEN:
            circuit.cool_down = COOL_DOWN * scale
        else:
            return
        circuit.open_until = now + circuit.cool_down
        self._opened.add(key)
        self._closed.discard(key)

    def changes(self, now: float) -> tuple[dict[str, Rest], set[str]]:
        """The rests begun or extended here, and the origins whose rest an answer ended here,
        since the last call."""
        opened = {
            key: Rest(circuit.failures, circuit.cool_down, circuit.open_until - now)
            for key in self._opened
            if (circuit := self._circuits.get(key)) is not None
        }
        closed = self._closed
        self._opened, self._closed = set(), set()
        return opened, closed

    def adopt(self, shared: dict[str, Rest], now: float) -> None:
        """Every process's rests, as just read (after this process's `changes` were written):
        an origin rests here at least as long as it does there, and a rest here that no
        process keeps any more was ended by an answer elsewhere. A probe under way here
        decides for itself."""
        for key, rest in shared.items():
            circuit = self._circuits.setdefault(key, Circuit())
            if circuit.probing:
                continue
            until = now + rest.remaining
            if circuit.failures < FAILURES_TO_OPEN or circuit.open_until < until:
                circuit.failures = max(circuit.failures, rest.failures, FAILURES_TO_OPEN)
                circuit.cool_down = max(circuit.cool_down, rest.cool_down)
                circuit.open_until = until
        for key, circuit in list(self._circuits.items()):
            if (
                circuit.failures >= FAILURES_TO_OPEN
                and key not in shared
                and key not in self._opened  # begun while the shared ones were read
                and not circuit.probing
            ):
                del self._circuits[key]

    def resting(self, now: float) -> dict[str, int]:
        """The origins resting now (or waiting for their probe's outcome), with their failed
        attempts in a row."""
        return {
            key: circuit.failures
            for key, circuit in self._circuits.items()
            if circuit.failures >= FAILURES_TO_OPEN
            and (now < circuit.open_until or circuit.probing)
        }

    def abandon(self, url: str, *, probe: bool) -> None:
        """An admitted attempt ended without an outcome (cancelled): a probe's turn passes
        to the next attempt instead of holding the origin resting for good."""
        circuit = self._circuits.get(origin(url))
        if probe and circuit is not None:
            circuit.probing = False


class Resting(httpx.TransportError):
    """A request not made: its origin rests. A transport error, so that callers treat it as
    they treat a server that does not answer."""


class BreakerTransport(httpx.AsyncBaseTransport):
    """Requests through `breakers`: a failure is no answer at all (a connection refused or
    dropped, a timeout); any HTTP answer, even a 5xx, is the server's own word and ends a
    rest. A request to a resting origin raises `Resting` at once."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, breakers: Breakers, *, scale: float = 1.0
    ) -> None:
        self.inner = inner
        self.breakers = breakers
        self.scale = scale

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        admission = self.breakers.admit(url, time.monotonic())
        if admission.resting is not None:
            raise Resting(admission.resting, request=request)
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError:
            self._record(url, answered=False, probe=admission.probe)
            raise
        except BaseException:
            self.breakers.abandon(url, probe=admission.probe)
            raise
        self._record(url, answered=True, probe=admission.probe)
        return response

    def _record(self, url: str, *, answered: bool, probe: bool) -> None:
        self.breakers.record(
            url, answered=answered, probe=probe, now=time.monotonic(), scale=self.scale
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

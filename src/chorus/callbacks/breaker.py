"""A rest for webhook receivers that do not answer: one circuit breaker per origin.

An attempt at a receiver that does not answer holds a worker slot until it times out
(`delivery.TIMEOUT_SECONDS`), so a few dead receivers with callbacks queued could keep
every callback slot busy waiting, and everybody else's callbacks behind them. After
`FAILURES_TO_OPEN` failed attempts in a row at one origin (scheme, host and port: no answer,
or a 5xx), the origin rests for a cool-down (`COOL_DOWN`, doubling after each failed probe
up to `MAX_COOL_DOWN`, both times `CHORUS_CALLBACK_RETRY_SCALE`): its deliveries' attempts
fail at once, without a request, recorded as such, and follow the retry schedule as any
failed attempt does. Then one attempt goes through as a probe: an answer ends the rest, a
failure starts a longer one.

In memory, per process: each process learns about a receiver on its own, and a restart
forgets (the first failures teach it again).
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

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
            self._circuits.pop(key, None)
            return
        circuit = self._circuits.setdefault(key, Circuit())
        circuit.failures += 1
        if probe:
            circuit.probing = False
            circuit.cool_down = min(circuit.cool_down * 2, MAX_COOL_DOWN * scale)
            circuit.open_until = now + circuit.cool_down
        elif circuit.failures == FAILURES_TO_OPEN:
            circuit.cool_down = COOL_DOWN * scale
            circuit.open_until = now + circuit.cool_down


# This process's circuits.
BREAKERS = Breakers()

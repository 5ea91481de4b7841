"""When a failed callback is tried again (API.md Decision 4).

A callback is attempted at once; after a failed attempt (any non-2xx answer, a timeout of
10 s, a connection error) the next one waits the delay of `RETRY_DELAYS` for that attempt,
multiplied by a random jitter factor in [0.9, 1.1]:

    after attempt   1    2    3    4    5     6     7    8    9 .. 14
    wait            5s   15s  1m   5m   15m   30m   1h   2h   4h each

That is 15 attempts; without jitter the last one comes 27 h 51 min after the first, and never
earlier than 25 h with it. When the 15th attempt fails the delivery is kept as `dead`; it can
be replayed through the extension API.

`CHORUS_CALLBACK_RETRY_SCALE` (a float, default 1.0) multiplies every delay; tests use a small
one.
"""

import os
import random
from typing import Any

RETRY_DELAYS: tuple[float, ...] = (
    5,
    15,
    60,
    5 * 60,
    15 * 60,
    30 * 60,
    60 * 60,
    2 * 60 * 60,
    *(4 * 60 * 60,) * 6,
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1
SCALE_ENV = "CHORUS_CALLBACK_RETRY_SCALE"


def retry_scale(settings: Any = None) -> float:
    """The deployment's multiplier: `Settings.callback_retry_scale` when the settings have
    that field, else the environment variable, else 1."""
    configured = getattr(settings, "callback_retry_scale", None)
    if configured is None:
        configured = os.environ.get(SCALE_ENV) or 1.0
    try:
        scale = float(configured)
    except ValueError:
        return 1.0
    return scale if scale >= 0 else 1.0


def delay_after(attempt: int, scale: float = 1.0) -> float | None:
    """Seconds to wait after failed attempt number `attempt` (1-based), or None when it was
    the last one."""
    if attempt < 1 or attempt > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempt - 1] * scale * random.uniform(1 - JITTER, 1 + JITTER)

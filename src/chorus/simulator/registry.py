"""Simulated channels: `chorus.simulator.<channel>` modules exposing `SIMULATOR`."""

import importlib

from chorus.simulator.base import SimulatedChannel
from chorus.wire.enums import Channel

_SIMULATORS: dict[Channel, SimulatedChannel] | None = None


def simulators() -> dict[Channel, SimulatedChannel]:
    global _SIMULATORS
    if _SIMULATORS is None:
        found: dict[Channel, SimulatedChannel] = {}
        for channel in Channel:
            try:
                module = importlib.import_module(f"chorus.simulator.{channel.value.lower()}")
            except ModuleNotFoundError as missing:
                if missing.name != f"chorus.simulator.{channel.value.lower()}":
                    raise
                continue
            found[channel] = module.SIMULATOR
        _SIMULATORS = found
    return _SIMULATORS


def simulator_for(channel: Channel) -> SimulatedChannel | None:
    return simulators().get(channel)

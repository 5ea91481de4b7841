"""Channel name → plugin: `chorus.channels.<channel>.plugin` modules exposing `PLUGIN`.
Adding a channel touches nothing outside its package."""

import importlib

from chorus.channels.base import ChannelPlugin
from chorus.wire.enums import Channel

_PLUGINS: dict[Channel, ChannelPlugin] | None = None


def plugins() -> dict[Channel, ChannelPlugin]:
    global _PLUGINS
    if _PLUGINS is None:
        found: dict[Channel, ChannelPlugin] = {}
        for channel in Channel:
            name = f"chorus.channels.{channel.value.lower()}.plugin"
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as missing:
                if missing.name not in (name, name.rsplit(".", 1)[0]):
                    raise
                continue
            found[channel] = module.PLUGIN
        _PLUGINS = found
    return _PLUGINS


def plugin_for(channel: Channel | str) -> ChannelPlugin | None:
    return plugins().get(Channel(channel))


def supported() -> list[Channel]:
    return list(plugins())

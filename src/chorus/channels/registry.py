"""Channel name → plugin. Adding a channel touches its package and this table only."""

from chorus.channels.base import ChannelPlugin
from chorus.wire.enums import Channel

_PLUGINS: dict[Channel, ChannelPlugin] = {}


def register(plugin: ChannelPlugin) -> None:
    _PLUGINS[plugin.channel] = plugin


def plugin_for(channel: Channel | str) -> ChannelPlugin | None:
    _load()
    return _PLUGINS.get(Channel(channel))


def supported() -> list[Channel]:
    _load()
    return list(_PLUGINS)


def _load() -> None:
    if _PLUGINS:
        return
    from chorus.channels.sms.plugin import SmsChannel

    for plugin in (SmsChannel(),):
        register(plugin)

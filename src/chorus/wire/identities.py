"""Channel identities on the wire, and their normal form."""

import re

from pydantic import BaseModel, ConfigDict, Field

from chorus.wire.enums import MSISDN_CHANNELS, Channel

_MSISDN = re.compile(r"^[1-9][0-9]{6,14}$")


class ChannelIdentity(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channel: Channel
    identity: str = Field(min_length=1, max_length=256)
    app_id: str | None = None


def normalise_identity(channel: str, identity: str) -> str:
    """On MSISDN channels a single leading "+" or "00" and spaces, dashes and parentheses
    are removed; the result is kept when it is a valid E.164 number, else the identity
    stays as given and fails at dispatch (CHANNELS.md, part 1, "Common to all three")."""
    if channel not in MSISDN_CHANNELS:
        return identity
    compact = re.sub(r"[ \-()]", "", identity)
    if compact.startswith("+"):
        compact = compact[1:]
    elif compact.startswith("00"):
        compact = compact[2:]
    return compact if _MSISDN.match(compact) else identity


def stored_forms(identity: str, channel: str | None = None) -> list[str]:
    """What a stored identity equal to `identity` can look like, for lookups given as the
    caller wrote it ("+46 70…" finds "4670…"): its normal form on `channel`, or, when no
    channel is named, as given and as an MSISDN's normal form."""
    if channel is not None:
        return [normalise_identity(channel, identity)]
    return list(dict.fromkeys((identity, normalise_identity(Channel.SMS.value, identity))))

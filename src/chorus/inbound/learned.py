"""The app's own id on a channel whose credential does not name it, learned from the first
verified webhook (Messenger's Page id, CHANNELS.md part 2 §1.7).

Kept in `learned_channel_ids`, one row per app and channel, so that it survives restarts and
every process sharing the database reads the same id. The row carries a digest of the
credential part the id belongs to (`ChannelPlugin.learning_key`: the Page token): a user who
points the app at another Page replaces the token, and expects that Page's webhooks to be
processed, so an id learned under another token counts as not learned and the next verified
webhook learns it again. Saving the credential with the same token (a new app secret, say)
keeps it.
"""

import hashlib

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import utcnow
from chorus.kit.db import insert_ignoring_conflicts
from chorus.models import LearnedChannelId

# `LearnedChannelId.native_id`: a longer id is no channel's, and is not kept.
WIDTH = 256


def digest(key: str) -> str:
    """What the row keeps of the credential part: not the token itself."""
    return hashlib.sha256(key.encode()).hexdigest()


async def learned_id(session: AsyncSession, app_id: str, channel: str, key: str) -> str | None:
    """The id learned for the app's credential whose learning key is `key`, or None."""
    row = (
        await session.execute(
            select(LearnedChannelId.native_id, LearnedChannelId.credential_digest).where(
                LearnedChannelId.app_id == app_id, LearnedChannelId.channel == channel
            )
        )
    ).first()
    if row is None or row.credential_digest != digest(key):
        return None
    return row.native_id


async def learn(session: AsyncSession, app_id: str, channel: str, key: str, native_id: str) -> str:
    """Keep `native_id` as the app's id on the channel, unless another process kept one for
    the same credential meanwhile: the id kept, whichever it is. An id learned under
    another credential is replaced."""
    keyed = digest(key)
    now = utcnow()
    where = (LearnedChannelId.app_id == app_id, LearnedChannelId.channel == channel)
    # The conditions are evaluated again on the row a concurrent transaction committed
    # (PostgreSQL) or after it (SQLite serialises writers): the first learner wins.
    await session.execute(
        update(LearnedChannelId)
        .where(*where, LearnedChannelId.credential_digest != keyed)
        .values(native_id=native_id, credential_digest=keyed, learned_at=now)
    )
    values = {
        "app_id": app_id,
        "channel": channel,
        "native_id": native_id,
        "credential_digest": keyed,
        "learned_at": now,
    }
    await session.execute(insert_ignoring_conflicts(session, LearnedChannelId.__table__, values))
    kept = await session.scalar(select(LearnedChannelId.native_id).where(*where))
    return kept or native_id

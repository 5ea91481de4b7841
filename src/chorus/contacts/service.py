"""Rules for contacts (API.md §4): identities, priority, merge, conflicts, profiles."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import repository as apps
from chorus.callbacks import repository as callbacks
from chorus.callbacks.events import record_event
from chorus.channels.base import ChannelFailure
from chorus.channels.registry import plugin_for
from chorus.contacts import repository
from chorus.contacts.repository import IdentityKey
from chorus.contacts.schemas import ChannelProfileRequest, ContactCreate
from chorus.conversations import service as conversations
from chorus.kit.db import lock_name, retry_conflicts
from chorus.kit.errors import (
    FieldViolation,
    invalid,
    invalid_fields,
    not_found,
    try_again,
)
from chorus.kit.ids import new_id
from chorus.kit.pagination import PageRequest, page_result
from chorus.messages import repository as messages
from chorus.models import App, Contact, ContactIdentity, Conversation
from chorus.projects.settings import repository as project_settings
from chorus.runtime import Runtime
from chorus.wire.enums import (
    APP_SCOPED_CHANNELS,
    SIM_CHANNELS,
    Channel,
    ContactLanguage,
    WebhookTrigger,
)
from chorus.wire.identities import ChannelIdentity, normalise_identity

UNKNOWN_NAME = "Unknown"
# Seconds a client waits before asking again for a profile the channel did not give.
PROFILE_RETRY_AFTER = 5


# --- reading ---------------------------------------------------------------------------


async def get_contact(
    session: AsyncSession, project_id: str, contact_id: str, *, for_update: bool = False
) -> Contact:
    """The contact, or 404. `for_update`: held until the transaction ends, so that changes
    at once to one contact take turns (and one that comes after a delete finds nothing)."""
    if for_update:
        await repository.lock(session, [contact_id])
    contact = await repository.get(session, project_id, contact_id)
    if contact is None:
        raise not_found("contact", contact_id)
    return contact


async def contact_views(session: AsyncSession, contacts: Sequence[Contact]) -> list[dict[str, Any]]:
    identities = await repository.identities_of(session, [c.id for c in contacts])
    return [contact_view(c, identities[c.id]) for c in contacts]


async def view_of(session: AsyncSession, contact: Contact) -> dict[str, Any]:
    return (await contact_views(session, [contact]))[0]


def contact_view(contact: Contact, identities: Sequence[ContactIdentity]) -> dict[str, Any]:
    """The Contact resource: optional fields only when set (API.md §4.2)."""
    view: dict[str, Any] = {
        "id": contact.id,
        "channel_identities": [identity_view(i) for i in identities],
        "channel_priority": list(contact.channel_priority),
        "display_name": contact.display_name,
    }
    for key, value in (
        ("email", contact.email),
        ("external_id", contact.external_id),
        ("metadata", contact.metadata_),
    ):
        if value:
            view[key] = value
    view["language"] = contact.language
    return view


def identity_view(identity: ContactIdentity) -> dict[str, Any]:
    view = {"channel": identity.channel, "identity": identity.identity}
    if identity.app_id:
        view["app_id"] = identity.app_id
    return view


async def list_contacts(
    session: AsyncSession,
    project_id: str,
    page: PageRequest,
    *,
    external_id: str | None,
    channel: Channel | None,
    identity: str | None,
) -> tuple[list[dict[str, Any]], str]:
    if external_id is not None and (channel is not None or identity is not None):
        raise invalid("external_id", "cannot be combined with channel or identity")
    if (channel is None) != (identity is None):
        missing = "identity" if identity is None else "channel"
        raise invalid(missing, "is required when filtering by channel identity")
    external_ids = None
    if external_id is not None:
        external_ids = [external_id]
        # Python's SDK sends a space as "+": try the spaced value when the literal is unknown.
        if "+" in external_id and not await repository.external_id_exists(
            session, project_id, external_id
        ):
            external_ids = [external_id.replace("+", " ")]
    rows = await repository.page_of_contacts(
        session,
        project_id,
        after=page.after_id,
        limit=page.size + 1,
        external_ids=external_ids,
        channel=channel.value if channel else None,
        identity=normalise_identity(channel.value, identity) if channel and identity else None,
    )
    contacts, token = page_result(page, list(rows), key=lambda c: c.id)
    return await contact_views(session, contacts), token


# --- identities and priority ----------------------------------------------------------


async def identity_keys(
    session: AsyncSession, project_id: str, identities: Sequence[ChannelIdentity]
) -> list[IdentityKey]:
    """Normalised identity keys; app-scoped channels must name an app of the project."""
    keys: list[IdentityKey] = []
    violations: list[FieldViolation] = []
    for index, given in enumerate(identities):
        path = f"channel_identities[{index}]"
        if given.channel in APP_SCOPED_CHANNELS and not given.app_id:
            violations.append(
                FieldViolation(
                    f"{path}.app_id", f"is required for {given.channel.value} identities"
                )
            )
            continue
        # Given on any channel, it names an app of the project (API.md Part A §4.2); on
        # other channels it is only kept and echoed, as the public API does.
        if given.app_id and await apps.get(session, project_id, given.app_id) is None:
            violations.append(FieldViolation(f"{path}.app_id", f"no app {given.app_id}"))
            continue
        app_id = given.app_id or ""
        key = (given.channel.value, normalise_identity(given.channel.value, given.identity), app_id)
        if key in keys:
            violations.append(FieldViolation(path, "the same channel identity is listed twice"))
            continue
        keys.append(key)
    if violations:
        raise invalid_fields(violations)
    return keys


def priority_for(keys: Sequence[IdentityKey], requested: Sequence[Channel] | None) -> list[str]:
    """The contact's channel priority: the requested order (every channel must be one the
    contact has), or its identities' channels in order of first appearance."""
    channels = list(dict.fromkeys(channel for channel, _, _ in keys))
    if requested is None:
        return channels
    priority = list(dict.fromkeys(c.value for c in requested))
    for index, channel in enumerate(priority):
        if channel not in channels:
            raise invalid(f"channel_priority[{index}]", f"the contact has no {channel} identity")
    return priority


async def announce_duplicates(
    session: AsyncSession, contact: Contact, keys: Sequence[IdentityKey]
) -> None:
    """Decision 2: a duplicated identity is accepted, listed as a conflict, and announced."""
    holders = await repository.other_holders(session, contact.project_id, contact.id, keys)
    if not holders:
        return
    duplicated = [
        {"channel": channel, "contact_ids": sorted([contact.id, *others])}
        for (channel, _, _), others in holders.items()
    ]
    await record_event(
        session,
        WebhookTrigger.CONTACT_IDENTITIES_DUPLICATION,
        project_id=contact.project_id,
        payload_key="duplicated_contact_identities_notification",
        payload={"duplicated_identities": duplicated},
        extra={"duplicated_identities": duplicated},
    )


# --- writing ---------------------------------------------------------------------------


async def create_contact(session: AsyncSession, project_id: str, body: ContactCreate) -> Contact:
    keys = await identity_keys(session, project_id, body.channel_identities)
    await _refuse_a_second_holder(session, project_id, keys)
    contact = Contact(
        id=new_id(),
        project_id=project_id,
        display_name=body.display_name or UNKNOWN_NAME,
        email=body.email or None,
        external_id=body.external_id or None,
        metadata_=body.metadata or None,
        language=(body.language or ContactLanguage.UNSPECIFIED).value,
        channel_priority=priority_for(keys, body.channel_priority),
    )
    session.add(contact)
    await session.flush()
    await repository.replace_identities(session, contact, keys, new=True)
    # Created first: the duplication names this contact, which must exist for its receivers.
    await _record_contact_event(session, contact, WebhookTrigger.CONTACT_CREATE, "contact_create")
    await announce_duplicates(session, contact, keys)
    return contact


async def update_contact(
    session: AsyncSession, project_id: str, contact_id: str, changes: dict[str, Any]
) -> Contact:
    contact = await get_contact(session, project_id, contact_id, for_update=True)
    if "channel_identities" in changes:
        given = changes["channel_identities"]
        if not given:
            raise invalid("channel_identities", "must hold at least one channel identity")
        keys = await identity_keys(session, project_id, given)
        await _refuse_a_second_holder(session, project_id, keys, contact.id)
        await repository.replace_identities(session, contact, keys)
        await announce_duplicates(session, contact, keys)
    else:
        current = (await repository.identities_of(session, [contact.id]))[contact.id]
        keys = [(i.channel, i.identity, i.app_id) for i in current]
    if "channel_priority" in changes or "channel_identities" in changes:
        requested = changes.get("channel_priority")
        if requested is None and "channel_priority" not in changes:
            # Identities changed, priority not given: keep the stored order where it still fits.
            kept = [c for c in contact.channel_priority if any(k[0] == c for k in keys)]
            requested = [Channel(c) for c in kept] + [
                Channel(k[0]) for k in keys if k[0] not in kept
            ]
        contact.channel_priority = priority_for(keys, requested)
    for field in ("display_name", "email", "external_id", "metadata", "language"):
        if field in changes:
            _set_scalar(contact, field, changes[field])
    await session.flush()
    await _record_contact_event(session, contact, WebhookTrigger.CONTACT_UPDATE, "contact_update")
    return contact


async def _refuse_a_second_holder(
    session: AsyncSession, project_id: str, keys: Sequence[IdentityKey], contact_id: str = ""
) -> None:
    """With unified contact ids (API.md §6.1) a phone number on SMS, RCS and MMS belongs to
    one contact: an identity that would give another contact the number is refused."""
    numbers = sorted({identity for channel, identity, _ in keys if channel in SIM_CHANNELS})
    if not numbers or not await project_settings.unified_contact_ids(session, project_id):
        return
    for number in numbers:
        await lock_name(session, f"phone-number:{project_id}:{number}")
    held = await repository.sim_holder(session, project_id, numbers, other_than=contact_id)
    if held is not None:
        index = next(
            i
            for i, (channel, identity, _) in enumerate(keys)
            if identity == held.identity and channel in SIM_CHANNELS
        )
        raise invalid(
            f"channel_identities[{index}].identity",
            f"{held.identity} is contact {held.contact_id}'s phone number ({held.channel}); "
            "with unified contact ids a phone number belongs to one contact: add the "
            "identity to that contact, or merge",
        )


def _set_scalar(contact: Contact, field: str, value: Any) -> None:
    if field == "display_name":
        contact.display_name = value or UNKNOWN_NAME
    elif field == "language":
        contact.language = (value or ContactLanguage.UNSPECIFIED).value
    elif field == "metadata":
        contact.metadata_ = value or None
    else:
        setattr(contact, field, value or None)


async def delete_contact(session: AsyncSession, project_id: str, contact_id: str) -> None:
    async def delete() -> None:
        await messages.lock_traffic(
            session,
            project_id,
            conversations=select(Conversation.id).where(Conversation.contact_id == contact_id),
        )
        # Deletes at once: one deletes (and tells webhooks once), the others find nothing.
        contact = await get_contact(session, project_id, contact_id, for_update=True)
        await conversations.announce_deleted_with_contact(session, project_id, contact.id)
        await _record_contact_event(
            session, contact, WebhookTrigger.CONTACT_DELETE, "contact_delete"
        )
        await repository.delete_contact(session, contact)

    await retry_conflicts(session, delete)


async def _record_contact_event(
    session: AsyncSession, contact: Contact, trigger: WebhookTrigger, name: str
) -> None:
    # The contact's view reads its identities: not for an occurrence nobody receives (a
    # contact created by a send, usually). The contact's id orders its create, updates and
    # delete at each webhook.
    if not await callbacks.subscribed(session, contact.project_id, None, trigger.value):
        return
    await record_event(
        session,
        trigger,
        project_id=contact.project_id,
        payload_key=f"{name}_notification",
        payload={"contact": await view_of(session, contact)},
        ordering_key=contact.id,
    )


# --- merge (API.md §4.4) ---------------------------------------------------------------


async def merge_contacts(
    session: AsyncSession, project_id: str, destination_id: str, source_id: str
) -> Contact:
    if source_id == destination_id:
        raise invalid("source_id", "must differ from the destination contact")

    async def merge() -> Contact:
        # The traffic the merge moves or deletes first, as a contact's delete does.
        both = [destination_id, source_id]
        await messages.lock_traffic(
            session,
            project_id,
            conversations=select(Conversation.id).where(Conversation.contact_id.in_(both)),
        )
        # Two merges at once that share a contact (A←B and B←C) would otherwise move C's
        # identities onto B while B is being deleted: the second waits, then finds B gone.
        await repository.lock(session, both)
        return await _merge(session, project_id, destination_id, source_id)

    return await retry_conflicts(session, merge)


async def _merge(
    session: AsyncSession, project_id: str, destination_id: str, source_id: str
) -> Contact:
    destination = await repository.get(session, project_id, destination_id)
    if destination is None:
        raise not_found("contact", destination_id)
    source = await repository.get(session, project_id, source_id)
    if source is None:
        raise not_found("contact", source_id)
    source_view = await view_of(session, source)

    await _merge_conversations(session, source, destination)
    await _merge_identities(session, source, destination)
    _merge_scalars(source, destination)
    await repository.delete_contact(session, source)
    await session.flush()

    await record_event(
        session,
        WebhookTrigger.CONTACT_MERGE,
        project_id=project_id,
        payload_key="contact_merge_notification",
        payload={
            "preserved_contact": await view_of(session, destination),
            "deleted_contact": source_view,
        },
    )
    return destination


async def _merge_conversations(
    session: AsyncSession, source: Contact, destination: Contact
) -> None:
    """The source's conversations move to the destination. Where both have an active one in
    the same app, the destination's stays and the source's is folded into it: its messages
    and events move there, then it is removed (API.md Part A §4.4, step 1). Then every
    message and event of the source is the destination's (step 2)."""
    active = {
        c.app_id: c for c in await repository.conversations_of(session, destination.id) if c.active
    }
    for folded in await repository.conversations_of(session, source.id):
        kept = active.get(folded.app_id) if folded.active else None
        if kept is None:
            continue
        await repository.move_traffic(session, folded.id, kept.id)
        moments = [m for m in (kept.last_received, folded.last_received) if m is not None]
        kept.last_received = max(moments, default=None)
        await session.execute(delete(Conversation).where(Conversation.id == folded.id))
    await repository.repoint_conversations(session, source.id, destination.id)
    await repository.repoint_traffic(session, source.project_id, source.id, destination.id)


async def _merge_identities(session: AsyncSession, source: Contact, destination: Contact) -> None:
    """Identities of channels the destination lacks (per app for app-scoped channels) are
    appended; their channels join the end of the priority, in the source's order."""
    identities = await repository.identities_of(session, [source.id, destination.id])

    def slot(identity: ContactIdentity) -> tuple[str, str]:
        return (
            identity.channel,
            identity.app_id if identity.channel in APP_SCOPED_CHANNELS else "",
        )

    kept = [(i.channel, i.identity, i.app_id) for i in identities[destination.id]]
    taken = {slot(i) for i in identities[destination.id]}
    added_channels: list[str] = []
    for identity in identities[source.id]:
        if slot(identity) in taken:
            continue
        taken.add(slot(identity))
        kept.append((identity.channel, identity.identity, identity.app_id))
        added_channels.append(identity.channel)
    await repository.replace_identities(session, destination, kept)

    priority = list(destination.channel_priority)
    source_order = [c for c in source.channel_priority if c in added_channels] + added_channels
    for channel in source_order:
        if channel not in priority:
            priority.append(channel)
    destination.channel_priority = priority


def _merge_scalars(source: Contact, destination: Contact) -> None:
    if destination.display_name in ("", UNKNOWN_NAME) and source.display_name:
        destination.display_name = source.display_name
    if destination.language == ContactLanguage.UNSPECIFIED.value:
        destination.language = source.language
    destination.email = destination.email or source.email
    destination.external_id = destination.external_id or source.external_id
    destination.metadata_ = destination.metadata_ or source.metadata_


# --- conflicts and profiles --------------------------------------------------------------


async def identity_conflicts(
    session: AsyncSession, project_id: str, page: PageRequest
) -> tuple[list[dict[str, Any]], str]:
    """Identities on several contacts: the same identity key (any channel), or one phone
    number across the SIM channels (SMS, MMS, RCS). Ordered by identity."""
    conflicts: list[dict[str, Any]] = []
    after = page.after_id
    while len(conflicts) <= page.size:
        candidates = await repository.shared_identities(session, project_id, after=after, limit=200)
        if not candidates:
            break
        rows = await repository.holders_of_identities(session, project_id, candidates)
        for identity in candidates:
            conflict = _conflict_of(identity, [r for r in rows if r.identity == identity])
            if conflict is not None:
                conflicts.append(conflict)
        after = candidates[-1]
    found, token = page_result(page, conflicts, key=lambda c: c["identity"])
    return found, token


def _conflict_of(identity: str, rows: Sequence[ContactIdentity]) -> dict[str, Any] | None:
    groups: dict[tuple[str, ...], set[str]] = {}
    for row in rows:
        groups.setdefault((row.channel, row.app_id), set()).add(row.contact_id)
        if row.channel in SIM_CHANNELS:
            groups.setdefault(("SIM",), set()).add(row.contact_id)
    contacts: set[str] = set()
    for holders in groups.values():
        if len(holders) > 1:
            contacts |= holders
    if not contacts:
        return None
    channels = sorted({row.channel for row in rows if row.contact_id in contacts})
    return {"identity": identity, "channels": channels, "contact_ids": sorted(contacts)}


async def channel_profile(
    session: AsyncSession, runtime: Runtime, project_id: str, body: ChannelProfileRequest
) -> dict[str, str]:
    """The name the channel last sent with the user's own traffic, else the one the channel
    answers when asked (`ChannelPlugin.profile_name`)."""
    app = await apps.get(session, project_id, body.app_id)
    if app is None:
        raise invalid("app_id", f"no app {body.app_id} in this project")
    channel = body.channel.value
    if body.recipient.contact_id is not None:
        contact = await get_contact(session, project_id, body.recipient.contact_id)
        identities = (await repository.identities_of(session, [contact.id]))[contact.id]
        matching = [i for i in identities if i.channel == channel and i.app_id == body.app_id]
        if not matching:
            raise not_found(f"{channel} identity for app {body.app_id} of contact", contact.id)
        identity = matching[0].identity
    else:
        assert body.recipient.identified_by is not None
        given = [
            i for i in body.recipient.identified_by.channel_identities if i.channel == body.channel
        ]
        if not given:
            raise invalid(
                "recipient.identified_by.channel_identities", f"has no {channel} identity"
            )
        identity = normalise_identity(channel, given[0].identity)
    name = await repository.profile_name(session, project_id, body.app_id, channel, identity)
    if name is None:
        # No connection is held while the channel answers (as in dispatch): a slow channel
        # would otherwise hold one of the process's pooled connections for its timeout.
        await session.close()
        name = await _ask_channel(runtime, app, channel, identity)
    if name is None:
        raise not_found(f"{channel} profile of", identity)
    return {"profile_name": name}


async def _ask_channel(runtime: Runtime, app: App, channel: str, identity: str) -> str | None:
    plugin = plugin_for(channel)
    credential = next((c for c in app.channel_credentials if c["channel"] == channel), None)
    if plugin is None or credential is None:
        return None
    base_url = runtime.channel_base_url(channel, plugin.production_base_url)
    try:
        return await plugin.profile_name(runtime.channels, base_url, credential, identity)
    except ChannelFailure as failure:
        raise try_again(
            503,
            f"the {channel} API could not be asked: {failure.description}",
            failure.retry_after or PROFILE_RETRY_AFTER,
        ) from None


# --- resolution for traffic (API.md Part B §3.3) -----------------------------------------


async def resolve_contact(
    session: AsyncSession,
    project_id: str,
    app_id: str,
    identities: Sequence[tuple[str, str]],
    *,
    display_name: str | None = None,
) -> tuple[Contact, bool]:
    """The contact of the first `(channel, identity)` some contact holds (the oldest holder
    when several do), or a new contact with all of them, named `display_name` (the channel's
    profile name of the sender) or "Unknown". Returns (contact, created)."""
    keys = [
        (
            channel,
            normalise_identity(channel, identity),
            app_id if channel in APP_SCOPED_CHANNELS else "",
        )
        for channel, identity in identities
    ]
    # Two sends to one new identity must not both create its contact.
    for channel, identity, scope in sorted(set(keys)):
        await lock_name(session, f"identity:{project_id}:{channel}:{identity}:{scope}")
    holders: list[str] = []
    by_channel: dict[str, set[str]] = {}  # who holds the recipient's identities, per channel
    for channel, identity, scope in keys:
        found = await repository.holders_of_key(session, project_id, channel, identity, scope)
        if found:
            holders.append(found[0])
            by_channel.setdefault(channel, set()).update(found)
    # A holder deleted since it was found is no holder: a new contact takes the identities.
    held = await repository.get(session, project_id, holders[0], kept=True) if holders else None
    if held is None and await project_settings.unified_contact_ids(session, project_id):
        unified = await _phone_number_holder(session, project_id, keys)
        if unified is not None:
            return unified, False
    if held is not None:
        contact = held
        if len(set(holders)) > 1:
            duplicated = [
                {"channel": channel, "contact_ids": sorted(ids)}
                for channel, ids in by_channel.items()
            ]
            await record_event(
                session,
                WebhookTrigger.CONTACT_IDENTITIES_DUPLICATION,
                project_id=project_id,
                payload_key="duplicated_contact_identities_notification",
                payload={"duplicated_identities": duplicated},
                extra={"duplicated_identities": duplicated},
            )
        return contact, False
    unique = list(dict.fromkeys(keys))
    contact = Contact(
        id=new_id(),
        project_id=project_id,
        display_name=(display_name or UNKNOWN_NAME)[:128],
        language=ContactLanguage.UNSPECIFIED.value,
        channel_priority=list(dict.fromkeys(channel for channel, _, _ in unique)),
    )
    session.add(contact)
    await session.flush()
    await repository.replace_identities(session, contact, unique, new=True)
    await _record_contact_event(session, contact, WebhookTrigger.CONTACT_CREATE, "contact_create")
    return contact, True


async def _phone_number_holder(
    session: AsyncSession, project_id: str, keys: Sequence[IdentityKey]
) -> Contact | None:
    """Unified contact ids (API.md Part A §6.1): the contact holding one of the phone numbers
    on any SIM channel (SMS, RCS, MMS), given the identities it lacks; None when none does."""
    numbers = sorted({identity for channel, identity, _ in keys if channel in SIM_CHANNELS})
    for number in numbers:
        await lock_name(session, f"phone-number:{project_id}:{number}")
    held = await repository.sim_holder(session, project_id, numbers) if numbers else None
    if held is None:
        return None
    contact = await repository.get(session, project_id, held.contact_id, kept=True)
    if contact is None:  # deleted since it was found
        return None
    await add_identities(session, contact, keys)
    return contact


async def add_identities(
    session: AsyncSession, contact: Contact, keys: Sequence[IdentityKey]
) -> None:
    """Give the contact those of `keys` it does not hold yet, after the ones it has; a
    contact that gained any is announced as updated (CONTACT_UPDATE)."""
    held = (await repository.identities_of(session, [contact.id]))[contact.id]
    present = {(i.channel, i.identity, i.app_id) for i in held}
    missing = [key for key in dict.fromkeys(keys) if key not in present]
    if not missing:
        return
    session.add_all(
        ContactIdentity(
            project_id=contact.project_id,
            contact_id=contact.id,
            channel=channel,
            identity=identity,
            app_id=app_id,
            position=len(held) + offset,
        )
        for offset, (channel, identity, app_id) in enumerate(missing)
    )
    await session.flush()
    await _record_contact_event(session, contact, WebhookTrigger.CONTACT_UPDATE, "contact_update")


async def identities_for_app(
    session: AsyncSession, contact: Contact, app_id: str
) -> list[ContactIdentity]:
    """The contact's identities usable by `app_id` (app-scoped ones only for that app)."""
    identities = (await repository.identities_of(session, [contact.id]))[contact.id]
    return [i for i in identities if i.channel not in APP_SCOPED_CHANNELS or i.app_id == app_id]

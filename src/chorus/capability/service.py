"""`capability:query` (API.md Part B §6.1): the request is registered and answered at once;
a `capability.query` job asks each channel plugin about each (channel, identity) — RCS calls
RBM, the others answer from the identity's form and what chorus has seen — and posts one
`capability_notification` per pair to the app's CAPABILITY webhooks. A query never creates
contacts or conversations."""

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chorus.apps import repository as apps
from chorus.apps.cache import app_settings
from chorus.callbacks.events import record_event
from chorus.capability import repository
from chorus.capability.schemas import CapabilityQueryRequest
from chorus.channels.base import (
    CAPABILITY_UNKNOWN,
    Capability,
    CapabilityQuery,
    capability_reason,
)
from chorus.channels.registry import plugin_for
from chorus.contacts import repository as contacts_repository
from chorus.contacts import service as contacts
from chorus.kit.errors import invalid, invalid_fields
from chorus.kit.ids import new_id
from chorus.messages.service import recipient_violations
from chorus.models import App
from chorus.outbox.service import enqueue
from chorus.outbox.worker import Job
from chorus.runtime import Runtime
from chorus.wire.enums import APP_SCOPED_CHANNELS, ProcessingMode, WebhookTrigger
from chorus.wire.identities import normalise_identity
from chorus.wire.messages import ReasonCode

QUERY_JOB = "capability.query"
log = logging.getLogger("chorus.capability")


async def accept_query(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    project_id: str,
    body: CapabilityQueryRequest,
) -> dict[str, Any]:
    app = await app_settings(sessions, project_id, body.app_id)
    if app is None:
        raise invalid("app_id", f"no app {body.app_id} in this project")
    # Either recipient form in either processing mode; identities only on the app's channels.
    violations = recipient_violations(app, body.recipient, None, ProcessingMode.CONVERSATION)
    if violations:
        raise invalid_fields(violations)
    request_id = body.request_id or new_id()
    recipient = body.recipient.model_dump(mode="json", exclude_none=True)
    await enqueue(
        session,
        QUERY_JOB,
        project_id=project_id,
        app_id=app.id,
        payload={"request_id": request_id, "recipient": recipient},
        dedup_key=f"capability:{new_id()}",
    )
    return {"app_id": app.id, "recipient": recipient, "request_id": request_id}


@dataclass
class Lookup:
    """One (channel, identity) to ask about, or an answer known without asking."""

    channel: str | None
    identity: str | None
    contact_id: str
    query: CapabilityQuery | None = None
    answer: Capability | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def run_query(runtime: Runtime, job: Job) -> None:
    async with runtime.db.read_sessions() as session:
        app = await apps.get(session, job.project_id, job.app_id or "")
        lookups = await _lookups(session, app, job.payload["recipient"]) if app else []
    for lookup in lookups:
        if lookup.answer is None:
            lookup.answer = await _ask(runtime, lookup)
    async with runtime.db.write_sessions() as session:
        if app is not None:
            for lookup in lookups:
                await _notify(session, app, job.payload["request_id"], lookup)
        await job.complete(session)
        await session.commit()


async def _ask(runtime: Runtime, lookup: Lookup) -> Capability:
    """The channel's answer; a plugin that breaks answers UNKNOWN (INTERNAL_ERROR) rather
    than leaving the query without a notification."""
    assert lookup.channel is not None and lookup.query is not None
    plugin = plugin_for(lookup.channel)
    if plugin is None:
        return Capability(CAPABILITY_UNKNOWN)
    base_url = runtime.channel_base_url(plugin.channel, plugin.production_base_url)
    try:
        return await plugin.capability(runtime.channels, base_url, lookup.query)
    except Exception:
        log.exception("the %s capability lookup failed", lookup.channel)
        return Capability(
            CAPABILITY_UNKNOWN,
            reason=capability_reason(ReasonCode.INTERNAL_ERROR, "chorus could not ask the channel"),
        )


async def _lookups(session: AsyncSession, app: App, recipient: dict[str, Any]) -> list[Lookup]:
    credentials = {c["channel"]: c for c in app.channel_credentials}
    conversation_mode = app.processing_mode == ProcessingMode.CONVERSATION.value
    pairs: list[tuple[str, str, str]] = []  # (channel, identity, contact id)
    lookups: list[Lookup] = []
    if recipient.get("contact_id"):
        contact = await contacts_repository.get(session, app.project_id, recipient["contact_id"])
        if contact is None:
            return [
                Lookup(
                    None,
                    None,
                    recipient["contact_id"],
                    answer=Capability.none(
                        ReasonCode.CONTACT_NOT_FOUND,
                        f"no contact {recipient['contact_id']} in this project",
                    ),
                )
            ]
        every = (await contacts_repository.identities_of(session, [contact.id]))[contact.id]
        usable = await contacts.identities_for_app(session, contact, app.id)
        for identity in usable:
            if identity.channel in credentials:
                pairs.append((identity.channel, identity.identity, contact.id))
        # App-scoped identities of other apps only: the contact is not reachable on that
        # channel through this app (CHANNELS.md part 2 §1.8).
        for channel in dict.fromkeys(i.channel for i in every):
            if (
                channel in APP_SCOPED_CHANNELS
                and channel in credentials
                and not any(i.channel == channel for i in usable)
            ):
                lookups.append(
                    Lookup(
                        channel,
                        "",
                        contact.id,
                        answer=Capability.none(
                            ReasonCode.NO_CHANNEL_IDENTITY_FOR_CONTACT,
                            f"the contact has no {channel} identity for this app",
                        ),
                    )
                )
    else:
        for given in recipient["identified_by"]["channel_identities"]:
            channel = given["channel"]
            identity = normalise_identity(channel, given["identity"])
            holder = ""
            if conversation_mode:
                scope = app.id if channel in APP_SCOPED_CHANNELS else ""
                holders = await contacts_repository.holders_of_key(
                    session, app.project_id, channel, identity, scope
                )
                holder = holders[0] if holders else ""
            pairs.append((channel, identity, holder))
    for channel, identity, contact_id in dict.fromkeys(pairs):
        seen = await repository.evidence(session, app.id, channel, identity)
        query = CapabilityQuery(
            app_id=app.id,
            identity=identity,
            credential=credentials.get(channel, {}),
            seen_inbound=seen.last_inbound_at is not None,
            last_reached_at=seen.last_reached_at,
            last_failure_code=seen.last_failure_code,
            last_failure_at=seen.last_failure_at,
            opted_out=seen.opted_out,
        )
        lookups.append(Lookup(channel, identity, contact_id, query=query))
    return lookups


async def _notify(session: AsyncSession, app: App, request_id: str, lookup: Lookup) -> None:
    """A `capability_notification` (API.md Part B §8.3)."""
    answer = lookup.answer
    assert answer is not None
    payload: dict[str, Any] = {"request_id": request_id, "contact_id": lookup.contact_id}
    if lookup.channel is not None:
        payload["channel"] = lookup.channel
    if lookup.identity is not None:
        payload["identity"] = lookup.identity
    payload["capability_status"] = answer.status
    if answer.channel_capabilities:
        payload["channel_capabilities"] = list(answer.channel_capabilities)
    if answer.reason is not None:
        payload["reason"] = answer.reason
    await record_event(
        session,
        WebhookTrigger.CAPABILITY,
        project_id=app.project_id,
        app_id=app.id,
        payload_key="capability_notification",
        payload=payload,
    )

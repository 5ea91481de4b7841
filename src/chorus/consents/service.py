"""Rules of consent (API.md Part A §6.2, Part B §6.2; CHANNELS.md Decision 6).

- An opt-out is kept per (app, channel, identity): sends there fail with
  RECIPIENT_NOT_OPTED_IN without a native call (`refusal`, called by dispatch). An opt-out
  also puts the identity on the app's OPT_OUT_ALL consent list; an opt-in clears the
  channel's opt-out, and takes the identity off the list once no channel of the app holds
  an opt-out for it. Every list change leaves an audit record.
- VIBERBM also refuses per the consent list itself: OPT_OUT_ALL, or OPT_OUT_MARKETING for
  CONTENT_MARKETING (OPT_OUT_NOTIFICATION for CONTENT_NOTIFICATION).
- Registration through the API answers at once; a `consents.register` job applies it and
  reports one OPT_IN / OPT_OUT notification per (channel, identity).
- Channels report consent too: SMS keywords, VIBERBM `opt_in`/`opt_out`, Viber
  `subscribed`/`unsubscribed` (request_id "" in their notifications).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chorus.apps import repository as apps
from chorus.apps.cache import app_settings
from chorus.callbacks.events import record_event
from chorus.channels.base import ConsentChange
from chorus.channels.registry import plugin_for
from chorus.consents import repository
from chorus.consents.keywords import Keyword, consent_keyword
from chorus.consents.schemas import ListType, Operation, Origin, RegistrationRequest
from chorus.contacts import repository as contacts_repository
from chorus.contacts import service as contacts
from chorus.kit.clock import rfc3339
from chorus.kit.errors import invalid, not_found
from chorus.kit.ids import new_id
from chorus.kit.pagination import PageRequest, page_result
from chorus.models import App
from chorus.outbox.service import enqueue
from chorus.outbox.worker import Job
from chorus.runtime import Runtime
from chorus.wire.enums import APP_SCOPED_CHANNELS, Channel, ProcessingMode, WebhookTrigger
from chorus.wire.identities import normalise_identity
from chorus.wire.messages import ReasonCode

REGISTER_JOB = "consents.register"
# Channels whose opt-in / opt-out chorus reports as SUCCEEDED; the others have no such
# concept and get *_STATUS_UNSPECIFIED (API.md Part B §6.2).
OPT_IN_CHANNELS = frozenset({Channel.WHATSAPP.value})
# VIBERBM refuses per the consent list: which lists refuse which content type.
_REFUSING_LISTS = {
    None: (ListType.OPT_OUT_ALL.value,),
    "CONTENT_MARKETING": (ListType.OPT_OUT_ALL.value, ListType.OPT_OUT_MARKETING.value),
    "CONTENT_NOTIFICATION": (ListType.OPT_OUT_ALL.value, ListType.OPT_OUT_NOTIFICATION.value),
}


# --- state changes -------------------------------------------------------------------------


async def opt_out(
    session: AsyncSession,
    *,
    project_id: str,
    app_id: str,
    channel: str,
    identity: str,
    origin: Origin,
    list_type: ListType = ListType.OPT_OUT_ALL,
) -> None:
    """The identity opts out of the app: on `channel` (an OPT_OUT_ALL opt-out), and on the
    consent list — audited when it was not on it yet (a list change, not a repetition)."""
    if list_type == ListType.OPT_OUT_ALL:
        await repository.add_opt_out(session, project_id, app_id, channel, identity, origin.value)
    if await repository.add_entry(session, project_id, app_id, list_type.value, identity):
        repository.add_audit(
            session,
            project_id=project_id,
            app_id=app_id,
            identity=identity,
            list_type=list_type.value,
            origin=origin.value,
            operation=Operation.OPERATION_INSERT.value,
        )


async def opt_in(
    session: AsyncSession,
    *,
    project_id: str,
    app_id: str,
    channel: str,
    identity: str,
    origin: Origin,
    list_type: ListType = ListType.OPT_OUT_ALL,
) -> None:
    """The identity opts in again on `channel`: its opt-out there is cleared, and it leaves
    the consent list unless another channel of the app still holds an opt-out for it."""
    if list_type == ListType.OPT_OUT_ALL:
        await repository.remove_opt_out(session, app_id, channel, identity)
        if await repository.opted_out_channels(session, app_id, identity):
            return
    if await repository.remove_entry(session, app_id, list_type.value, identity):
        repository.add_audit(
            session,
            project_id=project_id,
            app_id=app_id,
            identity=identity,
            list_type=list_type.value,
            origin=origin.value,
            operation=Operation.OPERATION_DELETE.value,
        )


# --- enforcement ---------------------------------------------------------------------------


async def refusal(
    session: AsyncSession, app_id: str, channel: str, identity: str, content_type: str | None
) -> dict[str, Any] | None:
    """The RECIPIENT_NOT_OPTED_IN reason when a send to the identity on the channel must not
    go out, else None (called by dispatch before any native call)."""
    if await repository.is_opted_out(session, app_id, channel, identity):
        return _not_opted_in(f"{identity} opted out of this app on {channel}")
    if channel == Channel.VIBERBM.value:
        lists = _REFUSING_LISTS.get(content_type, _REFUSING_LISTS[None])
        held = await repository.lists_holding(session, app_id, identity, lists)
        if held:
            return _not_opted_in(f"{identity} is on the app's {held[0]} consent list")
    return None


def _not_opted_in(description: str) -> dict[str, Any]:
    return {
        "code": ReasonCode.RECIPIENT_NOT_OPTED_IN.value,
        "description": description,
        "sub_code": "UNSPECIFIED_SUB_CODE",
    }


# --- notifications -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One (channel, identity) of a registration or a channel's consent signal."""

    channel: str | None
    identity: str | None
    status: str  # SUCCEEDED | FAILED | STATUS_UNSPECIFIED
    description: str = ""
    contact_id: str = ""


async def notify(
    session: AsyncSession,
    app: App,
    *,
    opted_in: bool,
    request_id: str,
    outcome: Outcome,
    event_time: datetime | None = None,
) -> None:
    """An `opt_in_notification` / `opt_out_notification` (API.md Part B §8.3); `event_time`
    when the channel said when it happened."""
    prefix = "OPT_IN" if opted_in else "OPT_OUT"
    payload: dict[str, Any] = {
        "request_id": request_id,
        "contact_id": outcome.contact_id
        if app.processing_mode == ProcessingMode.CONVERSATION.value
        else "",
    }
    if outcome.channel is not None:
        payload["channel"] = outcome.channel
    if outcome.identity is not None:
        payload["identity"] = outcome.identity
    payload["status"] = f"{prefix}_{outcome.status}"
    if outcome.status == "FAILED":
        payload["error_details"] = {"description": outcome.description}
    payload["processing_mode"] = app.processing_mode
    await record_event(
        session,
        WebhookTrigger.OPT_IN if opted_in else WebhookTrigger.OPT_OUT,
        project_id=app.project_id,
        app_id=app.id,
        payload_key="opt_in_notification" if opted_in else "opt_out_notification",
        payload=payload,
        event_time=event_time,
    )


async def _holder(session: AsyncSession, app: App, channel: str, identity: str) -> str:
    """The contact holding the identity (never created here), or ""."""
    if app.processing_mode != ProcessingMode.CONVERSATION.value:
        return ""
    scope = app.id if channel in APP_SCOPED_CHANNELS else ""
    holders = await contacts_repository.holders_of_key(
        session, app.project_id, channel, identity, scope
    )
    return holders[0] if holders else ""


# --- registration through the API ----------------------------------------------------------


async def accept_registration(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    project_id: str,
    body: RegistrationRequest,
    *,
    opted_in: bool,
    request_id: str | None,
) -> dict[str, Any]:
    """Validate, resolve the channels covered, queue the job; the response body."""
    app = await app_settings(sessions, project_id, body.app_id)
    if app is None:
        raise invalid("app_id", f"no app {body.app_id} in this project")
    request_id = request_id or body.request_id or new_id()
    channels = [c.value for c in body.channels or []]
    if not channels:
        if body.recipient.identified_by is not None:
            channels = [i.channel.value for i in body.recipient.identified_by.channel_identities]
        else:
            assert body.recipient.contact_id is not None
            contact = await contacts_repository.get(session, project_id, body.recipient.contact_id)
            if contact is not None:
                channels = [
                    i.channel for i in await contacts.identities_for_app(session, contact, app.id)
                ]
    channels = list(dict.fromkeys(channels))
    recipient = body.recipient.model_dump(mode="json", exclude_none=True)
    await enqueue(
        session,
        REGISTER_JOB,
        project_id=project_id,
        app_id=app.id,
        payload={
            "opted_in": opted_in,
            "request_id": request_id,
            "recipient": recipient,
            "channels": channels,
        },
        dedup_key=f"consent-register:{new_id()}",
    )
    key = "opt_in" if opted_in else "opt_out"
    return {
        key: {"app_id": app.id, "channels": channels, "recipient": recipient},
        "request_id": request_id,
    }


async def run_registration(runtime: Runtime, job: Job) -> None:
    """Apply a registration and report every (channel, identity) it covers, in one
    transaction with the job's completion."""
    payload = job.payload
    opted_in = bool(payload["opted_in"])
    async with runtime.db.write_sessions() as session:
        app = await apps.get(session, job.project_id, job.app_id or "")
        if app is not None:
            for outcome in await _registration_outcomes(session, app, payload):
                if outcome.status != "FAILED":
                    assert outcome.channel is not None and outcome.identity is not None
                    change = opt_in if opted_in else opt_out
                    await change(
                        session,
                        project_id=app.project_id,
                        app_id=app.id,
                        channel=outcome.channel,
                        identity=outcome.identity,
                        origin=Origin.ORIGIN_API,
                    )
                await notify(
                    session,
                    app,
                    opted_in=opted_in,
                    request_id=payload["request_id"],
                    outcome=outcome,
                )
        await job.complete(session)
        await session.commit()


async def _registration_outcomes(
    session: AsyncSession, app: App, payload: dict[str, Any]
) -> list[Outcome]:
    recipient = payload["recipient"]
    channels: list[str] = payload["channels"]
    contact_id = ""
    pairs: list[tuple[str, str]]
    if recipient.get("contact_id"):
        contact = await contacts_repository.get(session, app.project_id, recipient["contact_id"])
        if contact is None:
            return [
                Outcome(
                    None, None, "FAILED", f"no contact {recipient['contact_id']} in this project"
                )
            ]
        contact_id = contact.id
        pairs = [
            (i.channel, i.identity)
            for i in await contacts.identities_for_app(session, contact, app.id)
        ]
    else:
        pairs = [
            (i["channel"], normalise_identity(i["channel"], i["identity"]))
            for i in recipient["identified_by"]["channel_identities"]
        ]
    outcomes: list[Outcome] = []
    for channel in channels:
        identities = list(dict.fromkeys(identity for c, identity in pairs if c == channel))
        if not identities:
            outcomes.append(
                Outcome(
                    channel,
                    None,
                    "FAILED",
                    f"the recipient has no {channel} identity",
                    contact_id,  # the contact named, when one was
                )
            )
            continue
        for identity in identities:
            holder = contact_id or await _holder(session, app, channel, identity)
            plugin = plugin_for(channel)
            if plugin is not None and not plugin.identity_is_valid(identity):
                outcomes.append(
                    Outcome(
                        channel,
                        identity,
                        "FAILED",
                        f"{identity!r} is not a valid {channel} identity",
                        holder,
                    )
                )
                continue
            status = "SUCCEEDED" if channel in OPT_IN_CHANNELS else "STATUS_UNSPECIFIED"
            outcomes.append(Outcome(channel, identity, status, contact_id=holder))
    return outcomes


# --- consent reported by channels ----------------------------------------------------------


async def channel_consent(
    session: AsyncSession, app: App, channel: str, change: ConsentChange
) -> None:
    """A channel's own opt-in / opt-out (VIBERBM `opt_in`/`opt_out`, Viber
    `subscribed`/`unsubscribed`): the consent list, then an *_SUCCEEDED notification."""
    identity = normalise_identity(channel, change.identity)
    apply = opt_in if change.opted_in else opt_out
    await apply(
        session,
        project_id=app.project_id,
        app_id=app.id,
        channel=channel,
        identity=identity,
        origin=Origin.ORIGIN_MO,
        list_type=ListType(change.list_type),
    )
    if change.learns_identity and app.processing_mode == ProcessingMode.CONVERSATION.value:
        contact, _ = await contacts.resolve_contact(
            session, app.project_id, app.id, [(channel, identity)]
        )
        holder = contact.id
    else:
        holder = await _holder(session, app, channel, identity)
    await notify(
        session,
        app,
        opted_in=change.opted_in,
        request_id="",
        outcome=Outcome(channel, identity, "SUCCEEDED", contact_id=holder),
        event_time=change.at,
    )


async def keyword_consent(
    session: AsyncSession,
    app: App,
    channel: str,
    identity: str,
    text: str,
    *,
    contact_id: str,
    at: datetime | None = None,
) -> None:
    """SMS keywords (Decision 6): a stop keyword opts the identity out on SMS; while it is
    opted out there, a start keyword opts it back in. Other text changes nothing. `at`: when
    the message was sent, as the channel says."""
    if channel != Channel.SMS.value:
        return
    keyword = consent_keyword(text)
    if keyword is None:
        return
    opted_out = await repository.is_opted_out(session, app.id, channel, identity)
    if keyword == Keyword.START and not opted_out:
        return  # an ordinary "yes"
    apply = opt_in if keyword == Keyword.START else opt_out
    await apply(
        session,
        project_id=app.project_id,
        app_id=app.id,
        channel=channel,
        identity=identity,
        origin=Origin.ORIGIN_MO,
    )
    await notify(
        session,
        app,
        opted_in=keyword == Keyword.START,
        request_id="",
        outcome=Outcome(channel, identity, "SUCCEEDED", contact_id=contact_id),
        event_time=at,
    )


# --- reading the lists ---------------------------------------------------------------------


async def _known_app(session: AsyncSession, project_id: str, app_id: str) -> App:
    app = await apps.get(session, project_id, app_id)
    if app is None:
        raise not_found("app", app_id)
    return app


def list_type_of(value: str) -> ListType:
    try:
        return ListType(value)
    except ValueError:
        known = ", ".join(t.value for t in ListType)
        raise invalid("list_type", f"must be one of {known}") from None


async def list_identities(
    session: AsyncSession, project_id: str, app_id: str, list_type: ListType, page: PageRequest
) -> dict[str, Any]:
    await _known_app(session, project_id, app_id)
    after = None
    if page.after is not None:
        try:
            moment, identity = page.after
            after = (datetime.fromisoformat(moment), str(identity))
        except (TypeError, ValueError):
            raise invalid("page_token", "is not a token returned by this list") from None
    rows = list(
        await repository.page_of_entries(session, app_id, list_type.value, after, page.size + 1)
    )
    found, token = page_result(
        page, rows, key=lambda entry: [entry.added_at.isoformat(), entry.identity]
    )
    return {
        "identities": [{"identity": entry.identity} for entry in found],
        "next_page_token": token,
    }


async def audit_records(
    session: AsyncSession, project_id: str, app_id: str, identity: str
) -> dict[str, Any]:
    """The identity's consent history in the app, oldest first. Phone numbers match in
    either spelling (`+46…` as the Node SDK puts it in the path, `46…` as stored)."""
    await _known_app(session, project_id, app_id)
    spellings = list(dict.fromkeys([identity, normalise_identity(Channel.SMS.value, identity)]))
    records = await repository.audit_records(session, app_id, spellings)
    return {
        "identity": {"identity": identity},
        "audit_records": [
            {
                "origin": record.origin,
                "operation": record.operation,
                "list_type": record.list_type,
                "project_id": record.project_id,
                "app_id": record.app_id,
                "datetime": rfc3339(record.recorded_at),
            }
            for record in records
        ],
    }

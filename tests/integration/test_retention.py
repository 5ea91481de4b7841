"""The retention sweep (`retention.py`; API.md Part A §2.2, §2.4): each app's policy applied
to what is older than its `ttl_days`, DISPATCH messages after their own retention, and the 30
days of delivered callbacks and refused channel requests. The server here sweeps every
second; the test ages rows in the database and waits for the sweep to act."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.callbacks.receiver import Receiver
from tests.conftest import BACKENDS
from tests.integration.helpers import wait_for
from tests.integration.pipeline_helpers import (
    DedicatedServer,
    dedicated_server,
    msisdn,
    send,
    sms_app,
    to_sms,
)

TEXT = {"text_message": {"text": "kept for a while"}}


@pytest.fixture(scope="module", params=BACKENDS)
def swept(request: pytest.FixtureRequest) -> Iterator[DedicatedServer]:
    with dedicated_server(request.param, CHORUS_RETENTION_SWEEP_SECONDS="1") as dedicated:
        yield dedicated


def rows(server: DedicatedServer, sql: str, **params: object) -> list[dict[str, Any]]:
    engine = sa.create_engine(server.sync_url)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def policy(kind: str, days: int) -> dict[str, object]:
    return {"retention_type": kind, "ttl_days": days}


def age(server: DedicatedServer, statements: list[tuple[str, dict[str, object]]]) -> None:
    """Backdate rows, all in one transaction, so that one sweep sees every change."""
    engine = sa.create_engine(server.sync_url)
    with engine.begin() as connection:
        for sql, params in statements:
            connection.execute(sa.text(sql), params)
    engine.dispose()


def exists(api: httpx.Client, path: str, **params: str) -> bool:
    status = api.get(path, params=params).status_code
    assert status in (200, 404), status
    return status == 200


def test_each_policy_deletes_only_what_is_older_than_its_ttl_days(swept: DedicatedServer) -> None:
    now = datetime.now(UTC)
    receiver = Receiver()
    try:
        with swept.api() as api:
            apps = {
                "message": sms_app(api, retention_policy=policy("MESSAGE_EXPIRE_POLICY", 10)),
                "conversation": sms_app(
                    api, retention_policy=policy("CONVERSATION_EXPIRE_POLICY", 10)
                ),
                "persist": sms_app(api, retention_policy=policy("PERSIST_RETENTION_POLICY", 10)),
                "dispatch": sms_app(
                    api,
                    processing_mode="DISPATCH",
                    dispatch_retention_policy=policy("MESSAGE_EXPIRE_POLICY", 3),
                ),
            }
            webhook = api.post(
                "/webhooks",
                json={
                    "app_id": apps["persist"],
                    "target": receiver.url(),
                    "triggers": ["MESSAGE_DELIVERY"],
                },
            )
            assert webhook.status_code == 200, webhook.text
            sent = {
                (name, when): send(api, app_id, TEXT, to_sms(msisdn()))
                for name, app_id in apps.items()
                for when in ("old", "new")
            }
            # Sent to no contact: FAILED (CONTACT_NOT_FOUND) in no conversation, still kept
            # by the conversation policy only as long as its ttl_days.
            orphans = {
                when: send(api, apps["conversation"], TEXT, {"contact_id": f"nobody-{when}"})
                for when in ("old", "new")
            }
            # DISPATCH events follow the dispatch retention too (they outlived it).
            dispatch_events = {}
            for when in ("old", "new"):
                answer = api.post(
                    "/events:send",
                    json={
                        "app_id": apps["dispatch"],
                        "recipient": to_sms(msisdn()),
                        "event": {"composing_event": {}},
                    },
                )
                assert answer.status_code == 200, answer.text
                dispatch_events[when] = answer.json()["event_id"]
            refused = [
                httpx.post(f"{swept.url}/inbound/whatsapp/{apps['persist']}", json={"n": n})
                for n in ("old", "new")
            ]
            assert [r.status_code for r in refused] == [404, 404]
            wait_for(
                lambda: not rows(swept, "SELECT id FROM outbox_jobs WHERE app_id IS NOT NULL"),
                seconds=60,
                what="every message delivered and its callbacks sent",
            )
            conversation = {
                key: row["conversation_id"]
                for key, message_id in sent.items()
                for row in rows(
                    swept, "SELECT conversation_id FROM messages WHERE id = :m", m=message_id
                )
            }
            delivered = rows(
                swept,
                "SELECT body FROM callback_deliveries WHERE status = 'delivered' AND app_id = :a",
                a=apps["persist"],
            )
            for when in ("old", "new"):
                assert any(sent[("persist", when)] in r["body"] for r in delivered), delivered

            eleven_days, four_days, a_year = (
                now - timedelta(days=11),
                now - timedelta(days=4),
                now - timedelta(days=400),
            )
            statements: list[tuple[str, dict[str, object]]] = []
            for name, moment in (
                ("message", eleven_days),
                ("conversation", eleven_days),
                ("persist", a_year),
                ("dispatch", four_days),
            ):
                statements.append(
                    (
                        "UPDATE messages SET accept_time = :t WHERE id = :m",
                        {"t": moment, "m": sent[(name, "old")]},
                    )
                )
                if conversation.get((name, "old")):
                    statements.append(
                        (
                            "UPDATE conversations SET created_at = :t, last_received = :t"
                            " WHERE id = :c",
                            {"t": moment, "c": conversation[(name, "old")]},
                        )
                    )
            statements.append(
                (
                    "UPDATE messages SET accept_time = :t WHERE id = :m",
                    {"t": eleven_days, "m": orphans["old"]},
                )
            )
            statements.append(
                (
                    "UPDATE conversation_events SET accept_time = :t WHERE id = :e",
                    {"t": four_days, "e": dispatch_events["old"]},
                )
            )
            statements.append(
                (
                    "UPDATE callback_deliveries SET delivered_at = :t WHERE app_id = :a"
                    " AND body LIKE :m",
                    {
                        "t": now - timedelta(days=31),
                        "a": apps["persist"],
                        "m": f"%{sent[('persist', 'old')]}%",
                    },
                )
            )
            statements.append(
                (
                    "UPDATE inbound_requests SET received_at = :t WHERE app_id = :a"
                    " AND body LIKE '%old%'",
                    {"t": now - timedelta(days=31), "a": apps["persist"]},
                )
            )
            age(swept, statements)

            wait_for(
                lambda: not exists(api, f"/messages/{sent[('message', 'old')]}"),
                seconds=60,
                what="the sweep",
            )
            # One sweep, one transaction: what it deleted and what it kept are seen together.
            assert exists(api, f"/messages/{sent[('message', 'new')]}")
            assert exists(api, f"/conversations/{conversation[('message', 'old')]}")

            assert not exists(api, f"/conversations/{conversation[('conversation', 'old')]}")
            assert not exists(api, f"/messages/{sent[('conversation', 'old')]}")
            assert exists(api, f"/conversations/{conversation[('conversation', 'new')]}")
            assert exists(api, f"/messages/{sent[('conversation', 'new')]}")
            assert not exists(api, f"/messages/{orphans['old']}")
            assert exists(api, f"/messages/{orphans['new']}")

            for when in ("old", "new"):
                assert exists(api, f"/messages/{sent[('persist', when)]}")
                assert exists(api, f"/conversations/{conversation[('persist', when)]}")

            dispatch = {"messages_source": "DISPATCH_SOURCE"}
            assert not exists(api, f"/messages/{sent[('dispatch', 'old')]}", **dispatch)
            assert exists(api, f"/messages/{sent[('dispatch', 'new')]}", **dispatch)
            assert not exists(api, f"/events/{dispatch_events['old']}")
            assert exists(api, f"/events/{dispatch_events['new']}")

            left = rows(
                swept, "SELECT body FROM callback_deliveries WHERE app_id = :a", a=apps["persist"]
            )
            assert left and all(sent[("persist", "old")] not in r["body"] for r in left), left
            assert any(sent[("persist", "new")] in r["body"] for r in left), left
            requests = rows(
                swept, "SELECT body FROM inbound_requests WHERE app_id = :a", a=apps["persist"]
            )
            assert [r["body"] for r in requests] == ['{"n":"new"}'], requests
    finally:
        receiver.close()

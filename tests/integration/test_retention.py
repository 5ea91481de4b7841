"""The retention sweep (`retention.py`; API.md Part A §2.2, §2.4): each app's policy applied
to what is older than its `ttl_days`, DISPATCH messages after their own retention, and the 30
days of delivered callbacks and refused channel requests. The server here sweeps every
second; the test ages rows in the database and waits for the sweep to act."""

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.callbacks.receiver import Receiver
from tests.conftest import BACKENDS, Credentials, Server, fresh_database, start_server, stop_server
from tests.integration.helpers import wait_for
from tests.integration.pipeline_helpers import msisdn, send, sms_app, to_sms

TEXT = {"text_message": {"text": "kept for a while"}}


@pytest.fixture(scope="module", params=BACKENDS)
def swept(request: pytest.FixtureRequest) -> Iterator[Server]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"chorus-retention-{request.param}-"))
    with fresh_database(request.param, data_dir) as (database_url, sync_url):
        env = {
            "CHORUS_BOOTSTRAP_PROJECT_ID": "retention",
            "CHORUS_BOOTSTRAP_KEY_ID": "retention-key",
            "CHORUS_BOOTSTRAP_KEY_SECRET": "retention-secret",
            "CHORUS_RETENTION_SWEEP_SECONDS": "1",
        }
        process, url, _ = start_server(database_url, data_dir, env)
        try:
            yield Server(
                url=url,
                backend=request.param,
                database_url=sync_url,
                project_id="retention",
                key_id="retention-key",
                key_secret="retention-secret",
                other=Credentials("", "", ""),
                process=process,
            )
        finally:
            stop_server(process)


def policy(kind: str, days: int) -> dict[str, object]:
    return {"retention_type": kind, "ttl_days": days}


def age(server: Server, statements: list[tuple[str, dict[str, object]]]) -> None:
    """Backdate rows, all in one transaction, so that one sweep sees every change."""
    engine = sa.create_engine(server.database_url)
    with engine.begin() as connection:
        for sql, params in statements:
            connection.execute(sa.text(sql), params)
    engine.dispose()


def exists(api: httpx.Client, path: str, **params: str) -> bool:
    status = api.get(path, params=params).status_code
    assert status in (200, 404), status
    return status == 200


def test_each_policy_deletes_only_what_is_older_than_its_ttl_days(swept: Server) -> None:
    now = datetime.now(UTC)
    receiver = Receiver()
    try:
        with swept.client() as api:
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
            refused = [
                httpx.post(f"{swept.url}/inbound/whatsapp/{apps['persist']}", json={"n": n})
                for n in ("old", "new")
            ]
            assert [r.status_code for r in refused] == [404, 404]
            wait_for(
                lambda: not swept.query("SELECT id FROM outbox_jobs WHERE app_id IS NOT NULL"),
                seconds=60,
                what="every message delivered and its callbacks sent",
            )
            conversation = {
                key: row["conversation_id"]
                for key, message_id in sent.items()
                for row in swept.query(
                    "SELECT conversation_id FROM messages WHERE id = :m", m=message_id
                )
            }
            delivered = swept.query(
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

            for when in ("old", "new"):
                assert exists(api, f"/messages/{sent[('persist', when)]}")
                assert exists(api, f"/conversations/{conversation[('persist', when)]}")

            dispatch = {"messages_source": "DISPATCH_SOURCE"}
            assert not exists(api, f"/messages/{sent[('dispatch', 'old')]}", **dispatch)
            assert exists(api, f"/messages/{sent[('dispatch', 'new')]}", **dispatch)

            left = swept.query(
                "SELECT body FROM callback_deliveries WHERE app_id = :a", a=apps["persist"]
            )
            assert left and all(sent[("persist", "old")] not in r["body"] for r in left), left
            assert any(sent[("persist", "new")] in r["body"] for r in left), left
            requests = swept.query(
                "SELECT body FROM inbound_requests WHERE app_id = :a", a=apps["persist"]
            )
            assert [r["body"] for r in requests] == ['{"n":"new"}'], requests
    finally:
        receiver.close()

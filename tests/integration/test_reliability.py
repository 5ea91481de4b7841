"""Reliability (issue 3, "Reliability tests"; DESIGN.md "Accepted means durable"): a server
killed with SIGKILL under load loses no accepted message; callbacks withheld by a receiver
that is down are delivered when it is back, with every attempt recorded; duplicate and
out-of-order delivery reports neither move a status backwards nor add callbacks; two
`chorus worker` processes on one PostgreSQL never dispatch a job twice.

Each test runs its own servers on fresh databases (SQLite, and PostgreSQL when
CHORUS_TEST_DATABASE_URL is set), with callback retries scaled by 0.01. Every wait is a
poll with a deadline."""

import json
import os
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from chorus.outbox.worker import LEASE
from chorus.wire.enums import WebhookTrigger
from tests.callbacks.receiver import Receiver
from tests.conftest import BACKENDS, Server, free_port, stop_server
from tests.integration.helpers import new_app
from tests.integration.reliability_helpers import (
    MESSAGE_TRIGGERS,
    GatedProxy,
    Instance,
    SendLoad,
    add_webhook,
    deliveries,
    delivery_reports,
    distinct_reports,
    inbox,
    instance,
    new_msisdn,
    open_jobs,
    poll,
    send,
    send_body,
    sms_app,
    start_worker,
)
from tests.integration.tcp_proxy import TcpProxy

RETRY_SCALE = "0.01"
RANK = {"QUEUED_ON_CHANNEL": 1, "DELIVERED": 2, "READ": 3}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module", params=BACKENDS)
def gated(request: pytest.FixtureRequest) -> Iterator[tuple[Instance, GatedProxy]]:
    """A server whose SMS connector goes through a `GatedProxy` to its own simulator."""
    port = free_port()
    proxy = GatedProxy(f"http://127.0.0.1:{port}")
    env = {
        "CHORUS_CALLBACK_RETRY_SCALE": RETRY_SCALE,
        "CHORUS_SMS_BASE_URL": f"{proxy.url}/simulator/sms",
    }
    try:
        with instance(request.param, env, port=port) as chorus:
            yield chorus, proxy
    finally:
        proxy.close()


def dlr(
    batch_id: str, number: str, message_id: str, status: str, code: int, at: datetime
) -> dict[str, Any]:
    """A native per-recipient delivery report (CHANNELS.md part 1 §1.7)."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    return {
        "type": "recipient_delivery_report_sms",
        "batch_id": batch_id,
        "recipient": number,
        "code": code,
        "status": status,
        "status_message": status,
        "at": stamp,
        "operator_status_at": stamp,
        "client_reference": message_id,
    }


def post_report(chorus: Instance, app_id: str, report: dict[str, Any]) -> None:
    response = httpx.post(f"{chorus.url}/inbound/sms/{app_id}", json=report, timeout=30)
    assert response.status_code == 200, response.text


def batch_for(chorus: Instance, number: str, message_id: str) -> dict[str, Any]:
    """The handset's copy of the batch that carried the message."""
    return poll(
        lambda: next(
            (
                m
                for m in inbox(chorus, number)
                if m["request"].get("client_reference") == message_id
            ),
            None,
        ),
        seconds=30,
        what=f"message {message_id} on handset {number}",
    )


def assert_never_backwards(reports: list[Any]) -> None:
    ranks = [RANK.get(r.status, 0) for r in reports]
    assert ranks == sorted(ranks), f"a status moved backwards: {[r.status for r in reports]}"


# --- 1. kill -9 under load ------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_send_accepted_before_a_kill_9_is_delivered_after_the_restart(
    backend: str, receiver: Receiver
) -> None:
    total, threads, kill_after = 300, 8, 100
    with instance(backend, {"CHORUS_CALLBACK_RETRY_SCALE": RETRY_SCALE}) as chorus:
        with chorus.api() as api:
            app_id = sms_app(api)
            add_webhook(api, app_id, receiver.url(), MESSAGE_TRIGGERS, secret="kill-9-secret")
        load = SendLoad(chorus, app_id, total=total, threads=threads)
        load.start()
        poll(
            lambda: load.accepted_count() >= kill_after or load.finished(),
            seconds=120,
            what=f"{kill_after} accepted sends",
            every=0.01,
        )
        assert load.accepted_count() >= kill_after, f"sends refused: {dict(load.refused)}"
        chorus.kill()
        load.join(seconds=60)
        accepted = list(load.accepted)
        assert len(accepted) >= kill_after
        assert len(accepted) + sum(load.refused.values()) == total

        chorus.start()  # same database, same port

        # Accepted means durable: every 200 is on disk after the kill.
        stored = {
            row["id"]
            for row in chorus.query(
                "SELECT id FROM messages WHERE app_id = :a AND direction = 'TO_CONTACT'",
                a=app_id,
            )
        }
        lost = set(accepted) - stored
        assert not lost, f"{len(lost)} accepted messages are not in the database: {sorted(lost)}"

        def undelivered() -> set[str]:
            delivered = {
                r.message_id for r in delivery_reports(receiver) if r.status == "DELIVERED"
            }
            return set(accepted) - delivered

        # Jobs the killed process had claimed are claimed again when their lease expires.
        deadline = LEASE.total_seconds() + 90
        try:
            poll(lambda: not undelivered(), seconds=deadline, what="every DELIVERED", every=0.5)
        except AssertionError:
            missing = sorted(undelivered())
            states = [
                chorus.query("SELECT id, status FROM messages WHERE id = :m", m=m)
                for m in missing[:5]
            ]
            jobs = chorus.query(
                "SELECT kind, status, attempts, locked_by, lease_until, last_error"
                " FROM outbox_jobs WHERE app_id = :a AND status IN ('running', 'dead')",
                a=app_id,
            )
            pytest.fail(
                f"{len(missing)} of {len(accepted)} accepted messages have no DELIVERED "
                f"callback within {deadline:g} s of the restart (refused sends: "
                f"{dict(load.refused)}); e.g. {states}; running/dead jobs: {jobs[:10]}"
            )
        for report in delivery_reports(receiver):
            assert report.status != "FAILED", report


# --- 2. a webhook receiver that is down for a while ---------------------------------------


def test_callbacks_withheld_by_a_receiver_that_is_down_are_delivered_when_it_is_back(
    gated: tuple[Instance, GatedProxy], receiver: Receiver
) -> None:
    chorus, _ = gated
    count = 5
    with chorus.api() as api:
        app_id = sms_app(api)
        webhook_id = add_webhook(
            api, app_id, receiver.url(), [WebhookTrigger.MESSAGE_DELIVERY.value], secret="s"
        )
        receiver.down()
        message_ids = [send(api, app_id, new_msisdn(), f"while down {i}") for i in range(count)]

    # Each message's first callback (its later ones queue behind it) fails at least twice.
    def failing_twice() -> bool:
        found = deliveries(chorus, webhook_id)
        return sum(1 for d in found if d["attempt_count"] >= 2) >= count

    poll(failing_twice, seconds=60, what="two failed attempts of each first callback")
    assert receiver.received() == []
    receiver.up()

    def all_delivered() -> list[dict[str, Any]] | None:
        found = deliveries(chorus, webhook_id)
        done = len(found) == 2 * count and all(d["status"] == "delivered" for d in found)
        return found if done else None

    found = poll(all_delivered, seconds=60, what="every callback delivered", every=0.2)
    retried = 0
    for delivery in found:
        attempts = delivery["attempts"]
        assert delivery["attempt_count"] == len(attempts), delivery
        *failed, success = attempts
        assert 200 <= success["status_code"] < 300, delivery
        assert delivery["delivered_time"], delivery
        for attempt in failed:
            assert attempt["status_code"] is None, attempt  # the port was closed
            assert attempt["error"], attempt
            assert attempt["attempt_time"] <= success["attempt_time"]
        retried += len(failed) >= 2
    assert retried >= count

    reports = delivery_reports(receiver)
    for message_id in message_ids:
        statuses = [r.status for r in distinct_reports(reports, message_id)]
        assert statuses == ["QUEUED_ON_CHANNEL", "DELIVERED"], (message_id, statuses)


# --- 3. duplicate and out-of-order delivery reports ---------------------------------------


def test_duplicate_and_out_of_order_reports_neither_move_a_status_back_nor_add_callbacks(
    gated: tuple[Instance, GatedProxy], receiver: Receiver
) -> None:
    chorus, _ = gated
    number = new_msisdn()
    with chorus.control() as control:
        response = control.patch(f"/handsets/sms/{number}", json={"auto_deliver": False})
        assert response.status_code == 200, response.text
    with chorus.api() as api:
        app_id = sms_app(api)
        add_webhook(api, app_id, receiver.url(), [WebhookTrigger.MESSAGE_DELIVERY.value])
        message_id = send(api, app_id, number, "reports in any order")
    batch_id = batch_for(chorus, number, message_id)["native_id"]
    poll(
        lambda: [r for r in delivery_reports(receiver) if r.status == "QUEUED_ON_CHANNEL"],
        seconds=30,
        what="QUEUED_ON_CHANNEL",
    )

    start = datetime.now(UTC)
    for offset, (status, code) in enumerate(
        [("Delivered", 0), ("Delivered", 0), ("Dispatched", 0), ("Failed", 402), ("Delivered", 0)]
    ):
        report = dlr(batch_id, number, message_id, status, code, start + timedelta(seconds=offset))
        post_report(chorus, app_id, report)

    poll(lambda: open_jobs(chorus, app_id) == 0, seconds=30, what="the app's callbacks sent")
    reports = distinct_reports(delivery_reports(receiver), message_id)
    statuses = [r.status for r in reports]
    assert statuses.count("DELIVERED") == 1, statuses
    assert "FAILED" not in statuses, [r for r in reports if r.status == "FAILED"]
    assert statuses == ["QUEUED_ON_CHANNEL", "DELIVERED"], statuses
    assert_never_backwards(reports)
    history = [
        row["status"]
        for row in chorus.query(
            "SELECT status FROM message_statuses WHERE message_id = :m ORDER BY id", m=message_id
        )
    ]
    assert history == ["QUEUED_ON_CHANNEL", "DELIVERED"], history


def test_a_report_that_overtakes_the_channels_acceptance_is_recorded(
    gated: tuple[Instance, GatedProxy], receiver: Receiver
) -> None:
    chorus, proxy = gated
    number = new_msisdn()
    with chorus.control() as control:
        response = control.patch(f"/handsets/sms/{number}", json={"auto_deliver": False})
        assert response.status_code == 200, response.text
    with chorus.api() as api:
        app_id = sms_app(api)
        add_webhook(api, app_id, receiver.url(), [WebhookTrigger.MESSAGE_DELIVERY.value])
        expired_before = proxy.expired
        proxy.close_gate()
        try:
            message_id = send(api, app_id, number, "the report comes first")
            # The channel has the batch; chorus is still waiting for its answer.
            batch_id = batch_for(chorus, number, message_id)["native_id"]
            poll(lambda: proxy.holding() >= 1, seconds=30, what="the channel's answer held")
            assert not chorus.query(
                "SELECT message_id FROM channel_message_refs WHERE native_id = :b", b=batch_id
            ), "the acceptance was recorded before the report"
            report = dlr(batch_id, number, message_id, "Delivered", 0, datetime.now(UTC))
            post_report(chorus, app_id, report)
            assert proxy.holding() >= 1 and proxy.expired == expired_before
        finally:
            proxy.open_gate()

    poll(
        lambda: chorus.query(
            "SELECT message_id FROM channel_message_refs WHERE native_id = :b", b=batch_id
        ),
        seconds=30,
        what="the channel's acceptance recorded",
    )
    poll(lambda: open_jobs(chorus, app_id) == 0, seconds=30, what="the app's callbacks sent")
    reports = distinct_reports(delivery_reports(receiver), message_id)
    assert [r.status for r in reports] == ["QUEUED_ON_CHANNEL", "DELIVERED"], reports
    history = [
        row["status"]
        for row in chorus.query(
            "SELECT status FROM message_statuses WHERE message_id = :m ORDER BY id", m=message_id
        )
    ]
    assert history == ["QUEUED_ON_CHANNEL", "DELIVERED"], history


# --- 4. two workers on one PostgreSQL -----------------------------------------------------


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="several worker processes need PostgreSQL")
def test_two_workers_on_one_postgresql_never_dispatch_a_job_twice() -> None:
    count, concurrency = 60, 4
    port = free_port()
    # Answers are held while the gate is closed, so each worker fills its few slots with
    # dispatch jobs in flight and the other one has to take the rest.
    proxy = GatedProxy(f"http://127.0.0.1:{port}", hold_cap=4.0)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with instance("postgresql", {"CHORUS_RUN_WORKERS": "false"}, port=port) as chorus:
            worker_env = {
                "CHORUS_PUBLIC_BASE_URL": chorus.url,
                "CHORUS_SMS_BASE_URL": f"{proxy.url}/simulator/sms",
                "CHORUS_WORKER_CONCURRENCY": str(concurrency),
                "CHORUS_CALLBACK_RETRY_SCALE": RETRY_SCALE,
            }
            for name in ("worker-a", "worker-b"):
                workers.append(start_worker(chorus.database_url, chorus.data_dir, worker_env, name))
            # A worker is named host:pid (outbox_jobs.locked_by).
            pids = [f":{w.pid}" for w in workers]

            number = new_msisdn()
            proxy.close_gate()
            with chorus.api() as api:
                app_id = sms_app(api)
                message_ids = [send(api, app_id, number, f"job {i}") for i in range(count)]

            seen: set[str] = set()

            def both_hold_dispatch_jobs() -> bool:
                for worker in workers:
                    assert worker.poll() is None, f"a worker exited with {worker.returncode}"
                rows = chorus.query(
                    "SELECT DISTINCT locked_by FROM outbox_jobs"
                    " WHERE kind = 'messages.dispatch' AND status = 'running'"
                )
                seen.update(row["locked_by"] for row in rows if row["locked_by"])
                return all(any(name.endswith(pid) for name in seen) for pid in pids)

            try:
                poll(both_hold_dispatch_jobs, seconds=60, what="both workers dispatching")
            finally:
                proxy.open_gate()

            def received() -> Counter[str]:
                return Counter(m["request"].get("client_reference") for m in inbox(chorus, number))

            poll(
                lambda: set(received()) >= set(message_ids),
                seconds=60,
                what=f"{count} messages on the handset",
                every=0.2,
            )
            poll(lambda: open_jobs(chorus, app_id) == 0, seconds=60, what="the outbox drained")
            got = received()
            duplicates = {ref: n for ref, n in got.items() if n > 1}
            assert not duplicates, f"dispatched more than once: {duplicates}"
            assert set(got) == set(message_ids)
            for worker in workers:
                stop_server(worker)
    finally:
        proxy.close()
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


# --- 5. a channel that sends its webhook slowly -----------------------------------------------


def test_a_channel_webhook_whose_body_is_slow_to_arrive_stalls_no_other_write(
    server: Server, api: httpx.Client
) -> None:
    """A sender that has sent its headers but not yet its body holds no database write: on
    SQLite the one writer connection would be everybody's wait (and another process's,
    behind the file lock)."""
    app_id = new_app(api)
    host, port = server.url.removeprefix("http://").split(":")
    body = json.dumps({"type": "mo_text", "from": "46701234567", "to": "46700000000"}).encode()
    with socket.create_connection((host, int(port)), timeout=30) as slow:
        slow.sendall(
            f"POST /inbound/sms/{app_id} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.5)  # the server has read the headers and is waiting for the rest
        # Generous: an unblocked write takes milliseconds; a stalled one waits for the pool.
        identity = {"channel": "SMS", "identity": new_msisdn()}
        created = api.post("/contacts", json={"channel_identities": [identity]}, timeout=20)
        assert created.status_code == 200, created.text
        slow.sendall(body[10:])
        assert slow.recv(64).startswith(b"HTTP/1.1 ")


# --- 6. a webhook receiver that never answers ---------------------------------------------


class Blackhole:
    """A webhook receiver that accepts connections and never answers: each attempt at it
    waits for the callback timeout. Counts the connections it holds at once."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self.most_at_once = 0
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._held = [c for c in self._held if not _closed(c)] + [connection]
                self.accepted += 1
                self.most_at_once = max(self.most_at_once, len(self._held))

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for connection in self._held:
                connection.close()


def _closed(connection: socket.socket) -> bool:
    """Whether the client hung up (it gave up waiting), or the server closed it as it
    stopped; reads the request, never answered."""
    try:
        connection.setblocking(False)
        return connection.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_webhook_that_never_answers_holds_up_neither_sends_nor_other_webhooks(
    backend: str, receiver: Receiver
) -> None:
    """Callbacks take at most half of the worker's 32 slots, and a receiver that keeps
    timing out rests (`kit/breaker.py`): another app's messages are dispatched and
    its callbacks delivered while callbacks to the silent one are still pending."""
    hole = Blackhole()
    try:
        with (
            instance(backend, {"CHORUS_CALLBACK_RETRY_SCALE": RETRY_SCALE}) as chorus,
            chorus.api() as api,
        ):
            silent = sms_app(api)
            add_webhook(api, silent, hole.url, MESSAGE_TRIGGERS, secret="silent")
            for index in range(40):
                send(api, silent, new_msisdn(), f"to a silent webhook {index}")
            poll(lambda: hole.accepted >= 16, seconds=60, what="attempts at the silent hook")

            app_id = sms_app(api)
            add_webhook(api, app_id, receiver.url(), MESSAGE_TRIGGERS, secret="heard")
            message_ids = [send(api, app_id, new_msisdn(), f"heard {i}") for i in range(3)]

            def delivered() -> bool:
                reports = delivery_reports(receiver)
                return all(
                    "DELIVERED" in {r.status for r in distinct_reports(reports, message_id)}
                    for message_id in message_ids
                )

            # Generous: this takes a callback timeout (10 s) or so; with the silent hook's
            # callbacks in every slot it would take their whole retry schedule.
            poll(delivered, seconds=90, what="the other app's DELIVERED callbacks")
            assert hole.most_at_once <= 16
    finally:
        hole.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_channel_api_that_never_answers_rests_and_is_not_called_meanwhile(
    backend: str,
) -> None:
    """Each attempt at an SMS API that accepts connections and never answers holds a
    dispatch slot for the connector's timeout. After five such attempts in a row its origin
    rests (`kit/breaker.py`): later attempts, of any app, fail at once without a request and
    are retried as any transient failure is; the messages wait, QUEUED."""
    hole = Blackhole()
    api_url = hole.url.removesuffix("/hook")
    env = {"CHORUS_SMS_BASE_URL": api_url, "CHORUS_CHANNEL_REST_SCALE": "100"}
    try:
        with instance(backend, env) as chorus, chorus.api() as api:

            def dispatch_errors(app_id: str) -> list[str]:
                rows = chorus.query(
                    "SELECT last_error FROM outbox_jobs"
                    " WHERE app_id = :a AND kind = 'messages.dispatch'",
                    a=app_id,
                )
                return [row["last_error"] or "" for row in rows]

            first = sms_app(api)
            for index in range(8):
                send(api, first, new_msisdn(), f"into the void {index}")
            poll(
                lambda: any("is resting" in e for e in dispatch_errors(first)),
                seconds=90,
                what="an attempt refused while the SMS API rests",
            )
            reached = hole.accepted
            assert reached >= 5

            other = sms_app(api)
            message_ids = [send(api, other, new_msisdn(), f"later {i}") for i in range(3)]
            errors = poll(
                lambda: (
                    (e := dispatch_errors(other))
                    and len(e) == 3
                    and all(f"{api_url} is resting" in error for error in e)
                    and e
                ),
                seconds=60,
                what="the other app's attempts refused while the SMS API rests",
            )
            assert "not attempted" in errors[0]
            assert hole.accepted == reached, "a resting channel API was called"
            for message_id in message_ids:
                message = api.get(f"/messages/{message_id}").json()
                assert message["app_message"] is not None or message
                statuses = chorus.query("SELECT status FROM messages WHERE id = :m", m=message_id)
                assert statuses == [{"status": "QUEUED"}]

            # The rest is written to the database (`rests.py`): a restarted server keeps it.
            poll(
                lambda: (
                    chorus.query("SELECT role, origin FROM resting_origins")
                    == [{"role": "channel_api", "origin": api_url}]
                ),
                seconds=30,
                what="the rest shared through the database",
            )
            chorus.stop()
            chorus.start()
            after_restart = sms_app(api)
            send(api, after_restart, new_msisdn(), "after the restart")
            poll(
                lambda: any(f"{api_url} is resting" in e for e in dispatch_errors(after_restart)),
                seconds=60,
                what="an attempt refused after the restart",
            )
            assert hole.accepted == reached, "a restarted server called a resting channel API"
    finally:
        hole.close()


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="the database server is PostgreSQL")
def test_a_database_that_goes_away_is_answered_503_and_its_return_resumes_everything(
    receiver: Receiver,
) -> None:
    """PostgreSQL through a proxy the test cuts: while it is away, API calls get 503
    UNAVAILABLE in the error envelope with Retry-After (nothing accepted, the connection kept);
    once it is back, the server answers again and messages accepted before and after are
    delivered, without a restart."""
    admin = os.environ["CHORUS_TEST_DATABASE_URL"]
    host, port = admin.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)
    proxy = TcpProxy(host, int(port))
    try:
        with (
            instance(
                "postgresql",
                {"CHORUS_CALLBACK_RETRY_SCALE": RETRY_SCALE},
                reach_database=lambda url: url.replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}"),
            ) as chorus,
            chorus.api() as api,
        ):
            app_id = sms_app(api)
            add_webhook(api, app_id, receiver.url(), MESSAGE_TRIGGERS, secret="s")
            before = send(api, app_id, new_msisdn(), "before the outage")

            proxy.cut()
            for answer in (
                api.get("/apps"),
                api.post("/messages:send", json=send_body(app_id, new_msisdn(), "refused")),
            ):
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"]["status"] == "UNAVAILABLE"
                assert answer.headers["retry-after"] == "2"
                assert answer.json()["error"]["details"] == [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retry_delay": "2s"}
                ]
            assert httpx.get(f"{chorus.url}/readyz").status_code == 503
            assert httpx.get(f"{chorus.url}/healthz").status_code == 200

            proxy.restore()
            poll(lambda: api.get("/apps").status_code == 200, seconds=30, what="the API back")
            after = send(api, app_id, new_msisdn(), "after the outage")
            poll(
                lambda: (
                    {before, after}
                    <= {r.message_id for r in delivery_reports(receiver) if r.status == "DELIVERED"}
                ),
                seconds=90,
                what="both messages DELIVERED",
            )
            assert chorus.process is not None and chorus.process.poll() is None
    finally:
        proxy.close()


# --- 9. a fixed number of database connections ----------------------------------------------


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="connection pools are PostgreSQL's")
def test_a_server_with_one_database_connection_serves_every_flow(receiver: Receiver) -> None:
    """A process keeps `CHORUS_DATABASE_POOL_SIZE` connections and never opens more, so
    nothing may hold a connection while it waits for another one, or for a party that needs
    one (a channel simulated by this same server): with every connection taken, that wait
    would only end at the pool's timeout. Given one connection, every flow still completes:
    concurrent sends, dispatch, the channel's reports, callbacks, a handset's reply and a
    channel profile (which asks the channel)."""
    with instance(
        "postgresql",
        {"CHORUS_DATABASE_POOL_SIZE": "1", "CHORUS_CALLBACK_RETRY_SCALE": RETRY_SCALE},
    ) as chorus:
        with chorus.api() as api:
            app_id = sms_app(api)
            add_webhook(api, app_id, receiver.url(), MESSAGE_TRIGGERS)
            messenger = api.post(
                "/apps",
                json={
                    "display_name": "messenger",
                    "channel_credentials": [
                        {
                            "channel": "MESSENGER",
                            "static_token": {"token": "page-token"},
                            "callback_secret": "messenger-secret",
                        }
                    ],
                },
            ).json()["id"]
        load = SendLoad(chorus, app_id, total=40, threads=8)
        load.start()
        load.join(seconds=120)
        assert len(load.accepted) == 40, f"sends refused: {dict(load.refused)}"

        def delivered() -> set[str]:
            return {r.message_id for r in delivery_reports(receiver) if r.status == "DELIVERED"}

        poll(lambda: delivered() >= set(load.accepted), seconds=120, what="40 DELIVERED")

        number, psid = new_msisdn(), "7" + new_msisdn()  # a PSID is digits
        with chorus.control() as control:
            for path, body in (
                (f"/handsets/sms/{number}/messages", {"app_id": app_id}),
                (f"/handsets/messenger/{psid}/messages", {"app_id": messenger}),
            ):
                wrote = control.post(path, json={**body, "text_message": {"text": "hi"}})
                assert wrote.status_code == 200 and wrote.json()["status_code"] == 200, wrote.text

        def replied() -> bool:
            return any(
                (r.json().get("message") or {}).get("contact_message") for r in receiver.received()
            )

        poll(replied, seconds=60, what="the reply as MESSAGE_INBOUND")
        with chorus.api() as api:
            profile = api.post(
                "/contacts:getChannelProfile",
                json={
                    "app_id": messenger,
                    "channel": "MESSENGER",
                    "recipient": {
                        "identified_by": {
                            "channel_identities": [{"channel": "MESSENGER", "identity": psid}]
                        }
                    },
                },
            )
        assert profile.status_code == 200, profile.text

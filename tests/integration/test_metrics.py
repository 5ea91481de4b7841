"""`GET /metrics` (Prometheus text) against a real server on both databases: the outbox
backlog and its lag, read from the database, and the process's own figures."""

import re

import httpx
import pytest

from tests.callbacks.receiver import Receiver
from tests.conftest import BACKENDS, free_port
from tests.integration.reliability_helpers import (
    MESSAGE_TRIGGERS,
    add_webhook,
    delivery_reports,
    instance,
    new_msisdn,
    poll,
    send,
    sms_app,
    start_worker,
)


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition, or None when absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and (match.group(1) or "") == wanted:
            return float(match.group(2))
    return None


@pytest.mark.parametrize("backend", BACKENDS)
def test_metrics_show_the_backlog_and_how_long_it_has_waited(backend: str) -> None:
    # No workers in the serving process: what is sent stays queued, as when workers lag.
    with instance(backend, {"CHORUS_RUN_WORKERS": "false"}) as chorus, chorus.api() as api:
        app_id = sms_app(api)
        for index in range(3):
            send(api, app_id, new_msisdn(), f"queued {index}")

        def scrape() -> str:
            response = httpx.get(f"{chorus.url}/metrics")  # no credentials
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/plain")
            return response.text

        text = poll(
            lambda: (
                (t := scrape())
                and (sample(t, "chorus_outbox_lag_seconds", kind="messages.dispatch") or 0) > 0
                and t
            ),
            seconds=30,
            what="a dispatch backlog that has waited",
        )
        assert sample(text, "chorus_outbox_jobs", kind="messages.dispatch", status="pending") == 3
        assert (
            sample(text, "chorus_outbox_jobs", kind="messages.dispatch", status="running") is None
        )
        assert (sample(text, "process_resident_memory_bytes") or 0) > 0
        assert app_id not in text  # no project data


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_process_serves_its_probes_and_metrics(backend: str) -> None:
    """`chorus worker --metrics-port`: liveness, readiness and the metrics of the backlog it
    drains, on a port of its own (a worker serves no API); SIGTERM stops both."""
    with instance(backend, {"CHORUS_RUN_WORKERS": "false"}) as chorus, chorus.api() as api:
        app_id = sms_app(api)
        for index in range(3):
            send(api, app_id, new_msisdn(), f"for the worker {index}")
        probes = f"http://127.0.0.1:{free_port()}"
        worker = start_worker(
            chorus.database_url,
            chorus.data_dir,
            {
                "CHORUS_PORT": str(chorus.port),  # the simulated channels are served there
                "CHORUS_METRICS_PORT": probes.rpartition(":")[2],
            },
            "worker-with-probes",
        )
        try:

            def answers(path: str) -> httpx.Response | None:
                assert worker.poll() is None, f"the worker exited with {worker.returncode}"
                try:
                    return httpx.get(f"{probes}{path}")
                except httpx.TransportError:
                    return None

            ready = poll(lambda: answers("/readyz"), seconds=30, what="the worker's probes")
            assert ready.status_code == 200, ready.text
            assert httpx.get(f"{probes}/healthz").json() == {"status": "ok"}
            api_path = f"/v1/projects/{chorus.credentials.project_id}/apps"
            assert httpx.get(f"{probes}{api_path}").status_code == 404  # no API here
            assert httpx.get(f"{probes}/docs").status_code == 404

            def drained() -> str | None:
                text = httpx.get(f"{probes}/metrics").text
                pending = sample(
                    text, "chorus_outbox_jobs", kind="messages.dispatch", status="pending"
                )
                return text if pending is None else None

            text = poll(drained, seconds=60, what="the worker draining the backlog")
            assert (sample(text, "process_resident_memory_bytes") or 0) > 0
            worker.terminate()
            assert worker.wait(timeout=30) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


@pytest.mark.parametrize("backend", BACKENDS)
def test_metrics_count_requests_channel_sends_and_callbacks(backend: str) -> None:
    """What the process did, by route template (no ids), job kind, channel and outcome."""
    receiver = Receiver()
    receiver.fail_next = 1  # one callback is not accepted at first: its job is retried
    try:
        with (
            instance(backend, {"CHORUS_CALLBACK_RETRY_SCALE": "0.01"}) as chorus,
            chorus.api() as api,
        ):
            app_id = sms_app(api)
            add_webhook(api, app_id, receiver.url(), MESSAGE_TRIGGERS, secret="s")
            for index in range(3):
                send(api, app_id, new_msisdn(), f"counted {index}")
            assert api.get("/apps/no-such-app").status_code == 404
            poll(
                lambda: sum(r.status == "DELIVERED" for r in delivery_reports(receiver)) >= 3,
                seconds=60,
                what="three DELIVERED callbacks",
            )

            def settled() -> str | None:
                # The callbacks' jobs are counted once their outcomes are recorded, a moment
                # after the receiver has answered.
                text = httpx.get(f"{chorus.url}/metrics").text
                done = sample(
                    text, "chorus_jobs_total", kind="callbacks.deliver", outcome="completed"
                )
                return text if done == len(receiver.received()) - 1 else None

            text = poll(settled, seconds=30, what="every callback job's outcome counted")
        send_route = "/v1/projects/{project_id}/messages:send"
        assert (
            sample(
                text, "chorus_http_requests_total", method="POST", route=send_route, status="200"
            )
            == 3
        )
        assert (
            sample(
                text,
                "chorus_http_requests_total",
                method="GET",
                route="/v1/projects/{project_id}/apps/{app_id}",
                status="404",
            )
            == 1
        )
        assert (
            sample(
                text,
                "chorus_http_request_duration_seconds_count",
                method="POST",
                route=send_route,
            )
            == 3
        )
        assert (
            sample(text, "chorus_channel_send_attempts_total", channel="SMS", outcome="accepted")
            == 3
        )
        assert (sample(text, "chorus_callback_attempts_total", outcome="delivered") or 0) >= 6
        dispatch = {"kind": "messages.dispatch"}
        assert sample(text, "chorus_jobs_total", outcome="completed", **dispatch) == 3
        assert sample(text, "chorus_job_duration_seconds_count", **dispatch) == 3
        assert (sample(text, "chorus_job_duration_seconds_sum", **dispatch) or 0) > 0
        deliver = {"kind": "callbacks.deliver"}
        assert sample(text, "chorus_jobs_total", outcome="retried", **deliver) == 1
        assert sample(text, "chorus_jobs_total", outcome="failed", **deliver) is None
        assert app_id not in text and chorus.credentials.project_id not in text
    finally:
        receiver.close()

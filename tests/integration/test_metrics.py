"""`GET /metrics` (Prometheus text) against a real server on both databases: the outbox
backlog and its lag, read from the database, and the process's own figures."""

import re

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.integration.reliability_helpers import instance, new_msisdn, poll, send, sms_app


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

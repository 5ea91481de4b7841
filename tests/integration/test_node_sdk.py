"""The official Node.js SDK (@sinch/sdk-core 1.4.0) against a running chorus server.

Runs tests/node/management.mjs, which drives apps, webhooks, contacts and conversations
through ``sinchClient.conversation.*`` and asserts the lifecycle of API.md Part A.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Credentials, chorus
from tests.integration.consent_helpers import consent_app, identities, msisdn, payloads
from tests.integration.helpers import wait_for

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "management.mjs"
NODE_TIMEOUT_S = 300
NPM_TIMEOUT_S = 600


def _missing_tool(tool: str) -> None:
    message = f"`{tool}` is not on PATH: the Node.js SDK tests need Node.js 18+ and npm"
    if os.environ.get("CI"):
        pytest.fail(message + " (required when CI is set)")
    pytest.skip(message)


def _text(output: str | bytes | None) -> str:
    # TimeoutExpired carries bytes even when the process ran with text=True.
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


@pytest.fixture(scope="module")
def node_sdk() -> str:
    """Path of `node`, with tests/node/node_modules installed from package-lock.json."""
    node = shutil.which("node")
    if node is None:
        _missing_tool("node")
    if not (NODE_DIR / "node_modules" / "@sinch" / "sdk-core").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            _missing_tool("npm")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"npm ci in {NODE_DIR} failed with exit code {result.returncode}\n"
                f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
            )
    return node


def run_script(node: str, script: str, url: str, caller: Any, **extra: str) -> str:
    """Run tests/node/<script> against chorus at `url` as `caller` (anything with
    `project_id`, `key_id`, `key_secret`); extra keyword arguments become `CHORUS_<NAME>`
    variables. Returns its standard output, which must end in "all checks passed"."""
    env = {
        **os.environ,
        "CHORUS_URL": url,
        "CHORUS_PROJECT_ID": caller.project_id,
        "CHORUS_KEY_ID": caller.key_id,
        "CHORUS_KEY_SECRET": caller.key_secret,
        **{f"CHORUS_{name.upper()}": value for name, value in extra.items()},
    }
    try:
        result = subprocess.run(
            [node, script],
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"node {script} did not finish within {NODE_TIMEOUT_S}s\n"
            f"--- stdout ---\n{_text(exc.stdout)}\n--- stderr ---\n{_text(exc.stderr)}"
        )
    assert result.returncode == 0, (
        f"node {script} exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    assert "all checks passed" in result.stdout, result.stdout
    return result.stdout


def test_node_sdk_management_lifecycle(server, node_sdk: str) -> None:
    run_script(node_sdk, SCRIPT.name, server.url, server)


def test_node_sdk_transcodes_for_every_seed_channel(server, node_sdk: str, api) -> None:
    app = api.post("/apps", json={"display_name": "transcode", "channel_credentials": []}).json()
    run_script(node_sdk, "transcode.mjs", server.url, server, app_id=app["id"])


def test_node_sdk_manages_templates_v1_and_v2(server, node_sdk: str) -> None:
    """tests/node/templates.mjs: templatesV1 / templatesV2 with conversationTemplatesHostname
    pointed at chorus (API.md Part B §7.1)."""
    run_script(node_sdk, "templates.mjs", server.url, server)


def test_node_sdk_capability_consents_and_project_settings(server, node_sdk: str) -> None:
    """tests/node/consents.mjs in a project of its own (settings are per project): an SMS app
    whose OPT_OUT_ALL list the script pages through, then the capability_notification of
    the lookup it made."""
    created = Credentials(
        **json.loads(chorus("project", "create", "--name", "node", "--json", env=server.env))
    )
    with server.client(created) as api:
        app_id = consent_app(api, "SMS")
        numbers = [msisdn() for _ in range(12)]
        for number in numbers:
            response = api.post(
                "/optouts:register",
                json={"app_id": app_id, "recipient": identities(("SMS", number))},
            )
            assert response.status_code == 200, response.text

            def on_list(n: str = number) -> bool:
                listed = api.get(f"/apps/{app_id}/consents/OPT_OUT_ALL", params={"page_size": 50})
                return n in [i["identity"] for i in listed.json()["identities"]]

            wait_for(on_list, what=f"{number} on the list")
    stdout = run_script(
        node_sdk,
        "consents.mjs",
        server.url,
        created,
        app_id=app_id,
        opted_out=",".join(numbers),
    )
    request_id = next(
        line.split("=", 1)[1]
        for line in stdout.splitlines()
        if line.startswith("CAPABILITY_REQUEST_ID=")
    )
    notification = wait_for(
        lambda: next(
            (
                p
                for p in payloads(server, app_id, "capability_notification")
                if p["request_id"] == request_id
            ),
            None,
        ),
        what="the capability_notification of the Node lookup",
    )
    assert notification == {
        "request_id": request_id,
        "contact_id": "",
        "channel": "SMS",
        "identity": numbers[0],
        "capability_status": "CAPABILITY_FULL",
    }


def test_node_sdk_injects_history_lists_recent_and_asks_channel_profiles(
    server, node_sdk: str
) -> None:
    """tests/node/conversations.mjs: injectMessage, injectEvent, listRecent paged with `for
    await`, contact.getChannelProfile of a Messenger user who wrote to the Page, and the
    events API there (composing on and off reach the Page as sender actions), and
    sendTemplateMessage of a v2 template, filled in on an SMS handset."""
    run_script(node_sdk, "conversations.mjs", server.url, server)

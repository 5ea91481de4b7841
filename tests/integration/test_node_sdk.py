"""The official Node.js SDK (@sinch/sdk-core 1.4.0) against a running chorus server.

Runs tests/node/management.mjs, which drives apps, webhooks, contacts and conversations
through ``sinchClient.conversation.*`` and asserts the lifecycle of API.md Part A.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

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


def test_node_sdk_management_lifecycle(server, node_sdk: str) -> None:
    env = {
        **os.environ,
        "CHORUS_URL": server.url,
        "CHORUS_PROJECT_ID": server.project_id,
        "CHORUS_KEY_ID": server.key_id,
        "CHORUS_KEY_SECRET": server.key_secret,
    }
    try:
        result = subprocess.run(
            [node_sdk, str(SCRIPT)],
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"node {SCRIPT.name} did not finish within {NODE_TIMEOUT_S}s\n"
            f"--- stdout ---\n{_text(exc.stdout)}\n--- stderr ---\n{_text(exc.stderr)}"
        )
    assert result.returncode == 0, (
        f"node {SCRIPT.name} exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    assert "all checks passed" in result.stdout, result.stdout


def test_node_sdk_transcodes_for_every_seed_channel(server, node_sdk: str, api) -> None:
    app = api.post("/apps", json={"display_name": "transcode", "channel_credentials": []}).json()
    env = {
        **os.environ,
        "CHORUS_URL": server.url,
        "CHORUS_PROJECT_ID": server.project_id,
        "CHORUS_KEY_ID": server.key_id,
        "CHORUS_KEY_SECRET": server.key_secret,
        "CHORUS_APP_ID": app["id"],
    }
    result = subprocess.run(
        [node_sdk, "transcode.mjs"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "all checks passed" in result.stdout, result.stdout


def test_node_sdk_manages_templates_v1_and_v2(server, node_sdk: str) -> None:
    """tests/node/templates.mjs: templatesV1 / templatesV2 with conversationTemplatesHostname
    pointed at chorus (API.md Part B §7.1)."""
    env = {
        **os.environ,
        "CHORUS_URL": server.url,
        "CHORUS_PROJECT_ID": server.project_id,
        "CHORUS_KEY_ID": server.key_id,
        "CHORUS_KEY_SECRET": server.key_secret,
    }
    result = subprocess.run(
        [node_sdk, "templates.mjs"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "all checks passed" in result.stdout, result.stdout

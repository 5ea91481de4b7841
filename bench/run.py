"""The chorus benchmark (README, "Benchmark").

Starts chorus (SQLite in a temporary directory unless --database-url is given) and a webhook
receiver, then measures:
1. end to end: N messages sent, from the first send to the N-th DELIVERED callback received
   at the webhook (through the dispatch workers, the simulated SMS channel, its delivery
   reports and the signed callbacks), with `chorus serve` as it runs by default, and the CPU
   time chorus used per message; then one message alone, 30 times: each sent once the one
   before has reached the webhook, send → DELIVERED callback (p50 and max);
2. accepted sends per second on `messages:send` from concurrent clients for a fixed time,
   with p50 and p99 latency, and `GET /healthz` under the same load tool (the ratio shows
   what the send path costs over the framework's floor) — once with the workers in the same
   process (`chorus serve`) and once for an API process alone (`CHORUS_RUN_WORKERS=false`, the
   scale-out topology where workers run as separate `chorus worker` processes); the accepted
   messages wait, durably, in the outbox; and how many messages reached the webhook meanwhile;
3. with `--worker-processes N`: end to end again, with an API-only `chorus serve` and N
   `chorus worker` processes (the scale-out topology; on SQLite they share the file's lock).

The load tool is `wrk` when installed (`apt-get install wrk`), else a Python asyncio client
(which itself uses a good share of the 2 cores, so it reports lower figures).

    .venv/bin/python bench/run.py [--seconds 10] [--connections 16] [--messages 5000]
                                  [--database-url postgresql://...] [--worker-processes N]
"""

import argparse
import asyncio
import base64
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PROJECT, KEY, SECRET = "bench", "bench-key", "bench-secret"
WARM_UP_SECONDS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def bench_database(server_url: str | None) -> Iterator[str | None]:
    """A new, empty PostgreSQL database on the server of `server_url`, dropped afterwards,
    so that no run measures an earlier run's backlog (each load phase leaves thousands of
    accepted messages in the outbox). None for SQLite, which lives in the data directory."""
    if server_url is None:
        yield None
        return
    name = f"chorus_bench_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(server_url)
    admin = urlunsplit(parts._replace(scheme="postgresql"))

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def wait_ready(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def start_chorus(
    database_url: str | None, data_dir: Path, port: int, *, workers: bool = True
) -> subprocess.Popen[bytes]:
    env = {
        "CHORUS_RUN_WORKERS": "true" if workers else "false",
        **os.environ,
        "CHORUS_PORT": str(port),
        "CHORUS_DATA_DIR": str(data_dir),
        "CHORUS_BOOTSTRAP_PROJECT_ID": PROJECT,
        "CHORUS_BOOTSTRAP_KEY_ID": KEY,
        "CHORUS_BOOTSTRAP_KEY_SECRET": SECRET,
        # Capacity is what is measured: lift the per-project request rate (default 800/s).
        "CHORUS_PROJECT_REQUEST_RATE": "1000000",
    }
    if database_url:
        env["CHORUS_DATABASE_URL"] = database_url
    log = open(data_dir / "chorus.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "chorus", "serve"], env=env, stdout=log, stderr=log
    )
    wait_ready(f"http://127.0.0.1:{port}/readyz")
    return process


def start_workers(
    database_url: str | None, data_dir: Path, port: int, count: int
) -> list[subprocess.Popen[bytes]]:
    """`chorus worker` processes on the serving process's database. They reach the simulated
    channels at the serving process's port."""
    env = {**os.environ, "CHORUS_DATA_DIR": str(data_dir), "CHORUS_PORT": str(port)}
    if database_url:
        env["CHORUS_DATABASE_URL"] = database_url
    log = open(data_dir / "workers.log", "ab")  # noqa: SIM115
    return [
        subprocess.Popen(
            [sys.executable, "-m", "chorus", "worker"], env=env, stdout=log, stderr=log
        )
        for _ in range(count)
    ]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


def start_receiver(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.receiver:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    wait_ready(f"http://127.0.0.1:{port}/stats")
    return process


def set_up(base: str, receiver: str) -> str:
    api = httpx.Client(base_url=f"{base}/v1/projects/{PROJECT}", auth=(KEY, SECRET), timeout=30)
    app = api.post(
        "/apps",
        json={
            "display_name": "bench",
            "channel_credentials": [
                {
                    "channel": "SMS",
                    "static_bearer": {"claimed_identity": "benchplan", "token": "bench-token"},
                }
            ],
            "rate_limits": {"outbound": 100000},
        },
    ).json()["id"]
    api.post(
        "/webhooks",
        json={
            "app_id": app,
            "target": f"{receiver}/hook",
            "triggers": ["MESSAGE_DELIVERY"],
            "secret": "s",
        },
    ).raise_for_status()
    return app


def send_body(app_id: str, index: int = 0) -> dict:
    return {
        "app_id": app_id,
        "recipient": {
            "identified_by": {
                "channel_identities": [{"channel": "SMS", "identity": f"4670{index % 1000:07d}"}]
            }
        },
        "message": {"text_message": {"text": "Your code is 1234"}},
    }


# --- load with wrk ---------------------------------------------------------------------


def wrk(url: str, seconds: int, connections: int, body: dict | None = None) -> dict[str, float]:
    script = None
    if body is not None:
        auth = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script.write(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Basic {auth}"\n'
            f"wrk.body = '{json.dumps(body)}'\n"
        )
        script.close()
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", script.name]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = {}
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif parts[:1] in (["50%"], ["99%"]):
            result[parts[0]] = _millis(parts[1])
        elif line.strip().startswith("Non-2xx"):
            result["errors"] = float(parts[-1])
    return result


def _millis(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


# --- load with Python ------------------------------------------------------------------


async def python_load(
    url: str, seconds: int, connections: int, body: dict | None
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(
        auth=(KEY, SECRET), timeout=30, limits=httpx.Limits(max_connections=connections)
    ) as client:

        async def one_client() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await (client.post(url, json=body) if body else client.get(url))
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code >= 300

        started = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "50%": statistics.median(latencies),
        "99%": latencies[int(len(latencies) * 0.99) - 1],
        "errors": errors,
    }


def load(url: str, seconds: int, connections: int, body: dict | None = None) -> dict[str, float]:
    if shutil.which("wrk"):
        return wrk(url, seconds, connections, body)
    return asyncio.run(python_load(url, seconds, connections, body))


# --- end to end ------------------------------------------------------------------------


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float | None:
    """CPU time (user + system) the processes have used so far, from /proc (Linux); None
    where it cannot be read."""
    total = 0.0
    for process in processes:
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def end_to_end(
    base: str,
    receiver: str,
    app_id: str,
    count: int,
    connections: int,
    servers: list[subprocess.Popen[bytes]],
) -> dict[str, float]:
    cpu_before = cpu_seconds(servers)
    async with httpx.AsyncClient() as plain:
        before = (await plain.get(f"{receiver}/stats")).json()["delivered"]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)
    async with httpx.AsyncClient(
        base_url=f"{base}/v1/projects/{PROJECT}", auth=(KEY, SECRET), timeout=60
    ) as client:

        async def sender() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                response = await client.post("/messages:send", json=send_body(app_id, index))
                response.raise_for_status()

        started = time.time()
        await asyncio.gather(*(sender() for _ in range(connections)))
        sent = time.time()
    deadline = time.monotonic() + max(120.0, count / 20)
    while time.monotonic() < deadline:
        async with httpx.AsyncClient() as plain:
            stats = (await plain.get(f"{receiver}/stats")).json()
        if stats["delivered"] - before >= count:
            cpu_after = cpu_seconds(servers)
            result = {
                "messages": count,
                "seconds": stats["last"] - started,
                "send_seconds": sent - started,
            }
            if cpu_before is not None and cpu_after is not None:
                result["cpu_ms_per_message"] = (cpu_after - cpu_before) * 1000 / count
            return result
        await asyncio.sleep(0.2)
    raise RuntimeError(f"only {stats['delivered'] - before} of {count} DELIVERED callbacks arrived")


def one_at_a_time(base: str, receiver: str, app_id: str, count: int = 30) -> dict[str, float]:
    """Latency of one message alone: each sent when the one before has reached the webhook,
    from the send to its DELIVERED callback (the first five, warming up, not counted)."""
    latencies: list[float] = []
    with (
        httpx.Client(base_url=f"{base}/v1/projects/{PROJECT}", auth=(KEY, SECRET)) as api,
        httpx.Client() as plain,
    ):
        for index in range(count + 5):
            before = plain.get(f"{receiver}/stats").json()["delivered"]
            started = time.time()
            api.post("/messages:send", json=send_body(app_id, index)).raise_for_status()
            deadline = time.monotonic() + 30
            while (stats := plain.get(f"{receiver}/stats").json())["delivered"] == before:
                if time.monotonic() > deadline:
                    raise RuntimeError("a single message's DELIVERED callback never came")
                time.sleep(0.002)
            latencies.append((stats["last"] - started) * 1000)
    counted = latencies[5:]
    return {"p50": statistics.median(counted), "max": max(counted)}


def delivered(receiver: str) -> int:
    return httpx.get(f"{receiver}/stats").json()["delivered"]


def report_load(
    title: str, base: str, receiver: str, app_id: str, args: argparse.Namespace
) -> None:
    url = f"{base}/v1/projects/{PROJECT}/messages:send"
    load(url, WARM_UP_SECONDS, args.connections, send_body(app_id))  # caches, pools, statements
    before = delivered(receiver)
    sends = load(url, args.seconds, args.connections, send_body(app_id))
    drained = (delivered(receiver) - before) / args.seconds
    health = load(f"{base}/healthz", args.seconds, args.connections)
    print(f"{title}:")
    print(
        f"  messages:send  {sends['rps']:8.0f} accepted/s   p50 {sends['50%']:6.1f} ms"
        f"   p99 {sends['99%']:6.1f} ms   non-2xx {sends.get('errors', 0):.0f}"
    )
    print(
        f"  GET /healthz   {health['rps']:8.0f} requests/s  p50 {health['50%']:6.1f} ms"
        f"   p99 {health['99%']:6.1f} ms"
    )
    print(f"  send / healthz {sends['rps'] / health['rps']:8.2f}")
    print(f"  delivered      {drained:8.0f} messages/s to the webhook meanwhile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=0,
        help="also measure end to end with the workers in N `chorus worker` processes "
        "beside an API-only `chorus serve`",
    )
    args = parser.parse_args()
    with bench_database(args.database_url) as database_url:
        run_bench(args, database_url)


def run_bench(args: argparse.Namespace, database_url: str | None) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="chorus-bench-"))
    port, receiver_port = free_port(), free_port()
    base, receiver_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{receiver_port}"
    chorus = start_chorus(database_url, data_dir, port)
    receiver = start_receiver(receiver_port)
    try:
        app_id = set_up(base, receiver_url)
        tool = "wrk" if shutil.which("wrk") else "python"
        print(
            f"chorus bench: {database_url or 'SQLite'}; load tool {tool}; "
            f"{args.connections} connections"
        )
        e2e = asyncio.run(
            end_to_end(base, receiver_url, app_id, args.messages, args.connections, [chorus])
        )
        alone = one_at_a_time(base, receiver_url, app_id)
        scaled = None
        if args.worker_processes:
            stop([chorus])
            chorus = start_chorus(database_url, data_dir, port, workers=False)
            workers = start_workers(database_url, data_dir, port, args.worker_processes)
            try:
                scaled = asyncio.run(
                    end_to_end(
                        base,
                        receiver_url,
                        app_id,
                        args.messages,
                        args.connections,
                        [chorus, *workers],
                    )
                )
            finally:
                stop(workers)
            stop([chorus])
            chorus = start_chorus(database_url, data_dir, port)
        report_load("chorus serve (API + workers)", base, receiver_url, app_id, args)
        stop([chorus])
        chorus = start_chorus(database_url, data_dir, port, workers=False)
        report_load("API process alone", base, receiver_url, app_id, args)
        report_end_to_end("end to end", e2e)
        print(
            f"one alone      p50 {alone['p50']:6.0f} ms   max {alone['max']:6.0f} ms"
            "  (send → DELIVERED callback, one message at a time)"
        )
        if scaled is not None:
            print(f"  the same, workers in {args.worker_processes} `chorus worker` processes:")
            report_end_to_end("", scaled)
    finally:
        stop([chorus, receiver])
        shutil.rmtree(data_dir, ignore_errors=True)


def report_end_to_end(title: str, e2e: dict[str, float]) -> None:
    cpu = e2e.get("cpu_ms_per_message")
    print(
        f"{title:<14} {e2e['messages'] / e2e['seconds']:8.0f} messages/s  "
        f"({e2e['messages']:.0f} messages, send → DELIVERED callback in {e2e['seconds']:.1f} s; "
        f"sending took {e2e['send_seconds']:.1f} s"
        + (f"; chorus used {cpu:.1f} ms of CPU a message)" if cpu is not None else ")")
    )


if __name__ == "__main__":
    main()

"""A minimal webhook receiver for the benchmark: counts DELIVERED reports.

Run as `python -m uvicorn bench.receiver:app --port P`; `GET /stats` answers
{"delivered": N, "first": t, "last": t} (Unix seconds of the first and last DELIVERED).
"""

import json
import time

delivered: set[str] = set()
times: list[float] = []


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] == "POST":
        report = json.loads(body).get("message_delivery_report") or {}
        if report.get("status") == "DELIVERED" and report["message_id"] not in delivered:
            delivered.add(report["message_id"])
            times.append(time.time())
        payload = b"{}"
    else:
        stats = {
            "delivered": len(delivered),
            "first": min(times, default=0),
            "last": max(times, default=0),
        }
        payload = json.dumps(stats).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})

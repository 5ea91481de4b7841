"""ASGI plumbing for the wire quirks of the SDKs (API.md §1.1, §1.5)."""

from starlette.types import ASGIApp, Receive, Scope, Send


class WireCompatibility:
    """- Query strings are RFC 3986-decoded only: a raw `+` stays a plus (the Node SDK does
      not encode `+46701234567`), so it is escaped before Starlette's form-style parser.
    - A trailing slash is ignored (`/apps/` is `/apps`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            path: str = scope["path"]
            if b"+" in query or (len(path) > 1 and path.endswith("/")):
                scope = dict(scope)
                scope["query_string"] = query.replace(b"+", b"%2B")
                if len(path) > 1 and path.endswith("/"):
                    scope["path"] = path.rstrip("/")
                    scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)

"""ASGI plumbing for the wire quirks of the SDKs (API.md §1.1, §1.5)."""

from starlette.types import ASGIApp, Receive, Scope, Send


class WireCompatibility:
    """- Query strings are RFC 3986-decoded only: a raw `+` stays a plus (the Node SDK does
      not encode `+46701234567`), so it is escaped before Starlette's form-style parser.
    - A trailing slash is ignored (`/apps/` is `/apps`).
    - The seed's `/v1beta/...` is the same API as `/v1/...` (API.md §1.1)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            path: str = scope["path"]
            trailing = len(path) > 1 and path.endswith("/")
            beta = path.startswith("/v1beta/")
            if b"+" in query or trailing or beta:
                scope = dict(scope)
                scope["query_string"] = query.replace(b"+", b"%2B")
                if trailing:
                    path = path.rstrip("/")
                if beta:
                    path = "/v1/" + path[len("/v1beta/") :]
                scope["path"] = path
                scope["raw_path"] = path.encode()
        await self.app(scope, receive, send)

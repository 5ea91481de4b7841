"""Request counting (`kit/counters.py`): labels are route templates, with their prefix."""

import asyncio

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from chorus.kit.counters import HTTP_REQUESTS, HttpMetrics


def count(method: str, route: str, status: str) -> float:
    return HTTP_REQUESTS.labels(method, route, status)._value.get()


class Client:
    """Requests straight into the ASGI app (no server), one event loop each."""

    def __init__(self, app: FastAPI) -> None:
        self.transport = httpx.ASGITransport(app, raise_app_exceptions=False)

    def get(self, path: str) -> httpx.Response:
        async def one() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://t") as c:
                return await c.get(path)

        return asyncio.run(one())


@pytest.fixture
def client() -> Client:
    api = APIRouter()

    @api.get("/projects/{project_id}/things/{thing_id}")
    async def thing(project_id: str, thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @api.get("/projects/{project_id}/boom")
    async def boom(project_id: str) -> None:
        raise RuntimeError("boom")

    app = FastAPI()
    app.include_router(api, prefix="/v9")
    app.include_router(api, prefix="/ext/v9")

    @app.get("/plain")
    async def plain() -> dict[str, str]:
        return {}

    app.add_middleware(HttpMetrics)
    return Client(app)


def test_requests_are_counted_by_route_template_with_its_prefix(client: Client) -> None:
    template = "/v9/projects/{project_id}/things/{thing_id}"
    before = count("GET", template, "200")
    assert client.get("/v9/projects/p1/things/t1").status_code == 200
    assert client.get("/v9/projects/p2/things/t2").status_code == 200
    assert count("GET", template, "200") == before + 2
    other = "/ext/v9/projects/{project_id}/things/{thing_id}"
    before_other = count("GET", other, "200")
    client.get("/ext/v9/projects/p1/things/t1")
    assert count("GET", other, "200") == before_other + 1
    before_plain = count("GET", "/plain", "200")
    client.get("/plain")
    assert count("GET", "/plain", "200") == before_plain + 1


def test_unknown_paths_and_failures_are_counted_without_their_ids(client: Client) -> None:
    before = count("GET", "unmatched", "404")
    client.get("/v9/projects/p1/secret-looking-id")
    assert count("GET", "unmatched", "404") == before + 1
    boom = "/v9/projects/{project_id}/boom"
    before_boom = count("GET", boom, "500")
    assert client.get("/v9/projects/p1/boom").status_code == 500
    assert count("GET", boom, "500") == before_boom + 1

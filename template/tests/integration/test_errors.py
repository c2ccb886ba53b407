import logging

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import BaseModel


class Payload(BaseModel):
    secret: str
    count: int


@pytest.fixture
def routes(app: FastAPI) -> FastAPI:
    async def crash() -> None:
        raise RuntimeError("password=hunter2 leaked into an exception")

    async def echo(payload: Payload) -> Payload:
        return payload

    app.add_api_route("/test/crash", crash)
    app.add_api_route("/test/echo", echo, methods=["POST"])
    return app


@pytest.mark.usefixtures("routes")
async def test_a_crash_is_a_generic_500_with_the_request_id(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.get("/test/crash")
    assert response.status_code == 500
    body = response.json()
    request_id = response.headers["X-Request-ID"]
    assert body == {"detail": "Internal Server Error", "request_id": request_id}
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert any(request_id in record.getMessage() for record in caplog.records)


@pytest.mark.usefixtures("routes")
async def test_a_bad_body_is_a_422_that_does_not_echo_the_input(client: AsyncClient) -> None:
    response = await client.post("/test/echo", json={"secret": "s3cr3t-value", "count": "many"})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [error["loc"] for error in errors] == [["body", "count"]]
    assert "s3cr3t-value" not in response.text
    assert "many" not in response.text


async def test_unknown_path_is_a_json_404(client: AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_wrong_method_is_a_json_405(client: AsyncClient) -> None:
    response = await client.post("/health/live")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


async def test_a_405_lists_every_method_of_the_path(client: AsyncClient) -> None:
    response = await client.delete("/api/v1/users")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    item = await client.put("/api/v1/items/6f1d2c1e-0000-4000-8000-000000000000")
    assert item.headers["Allow"] == "DELETE, GET, HEAD, PATCH"
    # A concrete path comes before the template it also matches (/users/{user_id}).
    me = await client.options("/api/v1/users/me")
    assert me.headers["Allow"] == "DELETE, GET, HEAD, PATCH"
    # Outside the API's schema, the router's own answer stands.
    docs = await client.post("/docs")
    assert docs.status_code == 405
    assert "GET" in docs.headers["Allow"].split(", ")

"""The API docs work without internet: every script, style and icon comes from the service."""

import re

import pytest
from httpx import AsyncClient

# src="..." and href="..." of tags, url: '...' of Swagger UI's script, spec-url of ReDoc's.
ASSET = re.compile(
    r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']"""
)


def referenced_urls(html: str) -> list[str]:
    return [first or second for first, second in ASSET.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_reference_only_the_service_itself(client: AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = referenced_urls(response.text)
    assert urls
    assert [url for url in urls if not url.startswith("/")] == []
    assert "fonts.googleapis.com" not in response.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_every_asset_of_the_docs_is_served(client: AsyncClient, page: str) -> None:
    html = (await client.get(page)).text
    assets = [url for url in referenced_urls(html) if not url.endswith("openapi.json")]
    assert assets
    for url in assets:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 1000, url


async def test_the_oauth2_redirect_page_is_served(client: AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "oauth2" in response.text.lower()

"""A newcomer's first look, in a real browser: the rendered service's Swagger UI, offline.

Renders the default answers, serves them on the embedded database, creates an account
with the CLI, then drives headless Chromium (Debian's, never a downloaded one) through
"Authorize" with the password flow and a scope, and "Try it out" on GET /users/me. Every
request that would leave the service is refused and recorded. The screenshot of the
authorized call lands in artifacts/ (git-ignored; the template's CI uploads it).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect, sync_playwright

from tests.support import ROOT, clean_env, free_port, run, wait_for_ready

pytestmark = pytest.mark.browser

# Debian's package; elsewhere (GitHub's runners) point CHROMIUM_PATH at a local Chrome.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking ones, Chromium keeps calling home, which a closed
# network refuses slowly; the profile is a fresh folder per run.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "artifacts"
SCREENSHOT = ARTIFACTS / "swagger-authorized.png"
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"  # noqa: S105 (a throwaway account)
SCOPE = "items:read"


@dataclass(frozen=True)
class Service:
    url: str
    project: Path


@pytest.fixture(scope="module")
def service(copie_session: Any) -> Iterator[Service]:
    result = copie_session.copy(extra_answers={})
    assert result.exit_code == 0, repr(result.exception)
    project = Path(result.project_dir)
    slug = result.answers["project_slug"]
    run(["uv", "sync", "--locked"], cwd=project)
    local = clean_env(DATABASE_URL=None)
    port = free_port()
    server = subprocess.Popen(
        ["uv", "run", "--locked", slug, "serve", "--port", str(port)],
        cwd=project,
        env=local,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for_ready(f"{url}/health/ready", server) == 200
        create = [slug, "users", "create", "--email", EMAIL, "--password", PASSWORD]
        run(["uv", "run", "--locked", *create, "--scope", SCOPE], cwd=project, env=local)
        yield Service(url, project)
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
        print(output[-3000:])


def authorize(page: Page) -> None:
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    dialog.locator("#oauth_username").fill(EMAIL)
    dialog.locator("#oauth_password").fill(PASSWORD)
    dialog.locator(f"label[for='{SCOPE}-password-checkbox-OAuth2PasswordBearer']").click()
    dialog.locator(".auth-btn-wrapper button.authorize").click()
    expect(dialog.get_by_role("heading", name="Authorized")).to_be_visible()
    dialog.locator("button.close-modal").click()


@contextmanager
def offline_browser(service: Service, profile: Path) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A page whose requests outside the service are refused; (page, requested, refused)."""
    requested: list[str] = []
    refused: list[str] = []

    def only_the_service(route: Route) -> None:
        if route.request.url.startswith(f"{service.url}/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            browser.route("**/*", only_the_service)
            browser.on("request", lambda request: requested.append(request.url))
            yield browser.new_page(), requested, refused
        finally:
            browser.close()


def test_swagger_ui_authorizes_and_calls_users_me_offline(service: Service, tmp_path: Path) -> None:
    with offline_browser(service, tmp_path / "profile") as (page, requested, refused):
        page.goto(f"{service.url}/docs")
        authorize(page)
        me = page.locator(".opblock-get").filter(
            has=page.locator(".opblock-summary-path[data-path='/api/v1/users/me']")
        )
        me.locator(".opblock-summary").click()
        me.locator("button.try-out__btn").click()
        me.locator("button.execute").click()
        answer = me.locator(".live-responses-table tr.response")
        expect(answer.locator(".response-col_status")).to_have_text("200")
        expect(answer.locator(".response-col_description")).to_contain_text(EMAIL)
        me.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    assert refused == []
    assert f"{service.url}/static-offline-docs/swagger-ui-bundle.js" in requested
    assert f"{service.url}/api/v1/auth/token" in requested
    assert f"{service.url}/api/v1/users/me" in requested
    assert SCREENSHOT.stat().st_size > 10_000


# ReDoc's bundle always asks its vendor's CDN for a small logo, an image that hides
# itself when it fails to load (and a docs CSP of img-src 'self' blocks it in the
# browser): the one request outside the service that ReDoc makes, and no script or style.
REDOC_VENDOR_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_redoc_renders_the_api_offline(service: Service, tmp_path: Path) -> None:
    with offline_browser(service, tmp_path / "profile") as (page, requested, refused):
        page.goto(f"{service.url}/redoc")
        expect(page.get_by_role("heading", name="My API (0.1.0)", level=1)).to_be_visible()
        expect(page.get_by_text("/api/v1/users/me").first).to_be_attached()
        expect(page.get_by_alt_text("redocly logo")).to_have_count(0)
    assert set(refused) <= {REDOC_VENDOR_LOGO}
    assert f"{service.url}/static-offline-docs/redoc.standalone.js" in requested

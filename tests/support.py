"""Helpers of the meta-tests: the variants, running commands inside a render, and
waiting for a rendered service to be ready."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

ROOT = Path(__file__).resolve().parents[1]

# A rendered project's own pytest resets its `pytest-of-<user>` folder to mode 0700. Were
# that the folder this pytest renders into, it would lock the embedded server's system
# user (as root) out of the binaries in the render's .venv: the two get separate roots.
# One per process of this pytest, too: a rendered suite starting in another worker reset
# the shared folder while an embedded server of this one was starting (CI: pg_hba.conf,
# Permission denied).
RENDERED_PYTEST_TEMPROOT = (
    Path(tempfile.gettempdir()) / f"copier-fastapi-rendered-pytest-{os.getpid()}"
)


def load_questions() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    return {name: spec for name, spec in config.items() if not name.startswith("_")}


@dataclass(frozen=True)
class Variant:
    """A named set of answers; the deep ones together reach every question."""

    name: str
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return str(self.answers.get("database", "postgresql"))


# The longest names the validators let through (Kubernetes names derive from the slug).
LONG_NAMES = {
    "project_name": "An Extremely Long Service Name For Line Length",
    "project_slug": "an-extremely-long-service-name-for-lines",
    "package_name": "a_thirty_character_package_nam",
}

DEEP_VARIANTS = [
    # Default answers, plus the Kubernetes manifests (off by default).
    Variant("postgresql_rls", {"kubernetes": True}),
    Variant(
        "postgresql_plain",
        {
            "project_name": "Ledger Service",
            "package_name": "ledger_core",
            "description": 'A ledger with "quotes" and ünïcode',
            "author_name": "Ada Lovelace",
            "author_email": "ada@example.org",
            "python_version": "3.12",
            "rls": False,
            "auth_scopes": {"reports:read": "Read reports", "audit": "Export the audit log"},
            "default_user_scopes": ["items:read", "reports:read"],
            "access_token_minutes": 5,
            "refresh_token_days": 30,
            "docker": False,
            "license": "Apache-2.0",
        },
    ),
    Variant(
        "sqlite",
        {
            "project_slug": "tiny-notes",
            "database": "sqlite",
            "python_version": "3.12",
            "github_actions": False,
            "license": "Proprietary",
        },
    ),
]


def clean_env(**overrides: str | None) -> dict[str, str]:
    """The environment for commands inside a render: not this project's venv or pytest."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
        and not key.startswith(("PYTEST_", "COV_CORE_", "COVERAGE_"))
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    RENDERED_PYTEST_TEMPROOT.mkdir(exist_ok=True)
    env["PYTEST_DEBUG_TEMPROOT"] = str(RENDERED_PYTEST_TEMPROOT)
    return env


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, fail the test with what it printed."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(command)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}",
            pytrace=False,
        )
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_ready(url: str, process: subprocess.Popen[Any], timeout: float = 90) -> int:
    """The status of `url` once it answers, or -1 if the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URL)
                return int(response.status)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    return -1


# Resources the generator adds (generate=resource) in the deep tests: every field type
# and flag in one; a minimal one with a long, two-word name.
EVERY_TYPE = {
    "resource_singular": "invoice",
    "resource_fields": {
        "number": "str(40) unique",
        "amount": "decimal(12, 2)",
        "notes": "text optional",
        "quantity": "int",
        "paid": "bool",
        "due": "date optional",
        "sent_at": "datetime optional",
        "customer_ref": "uuid optional",
        "status": "enum(draft, sent, paid)",
    },
}
MINIMAL = {
    "resource_singular": "purchase_order_line",
    "resource_fields": {"title": "str(200)"},
}
# Their operations, as the fuzzer and bench name them.
RESOURCE_ENDPOINTS = {
    f"{method} /api/v1/{path}{one}"
    for path in ("invoices", "purchase-order-lines")
    for method, one in (
        ("GET", ""),
        ("POST", ""),
        ("GET", "/{id}"),
        ("PATCH", "/{id}"),
        ("DELETE", "/{id}"),
    )
}


def add_resource(service: Path, answers: dict[str, Any]) -> None:
    """The resource generator, run in a rendered service as its README says."""
    data = {"generate": "resource", **answers}
    run_copy(str(ROOT), service, data=data, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)

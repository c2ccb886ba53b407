"""Clients generated from a rendered service's OpenAPI document, as its users would make
them: a TypeScript one (@hey-api/openapi-ts, through npx) and a Python one
(openapi-python-client, a development dependency here), each type-checked strictly with
code that calls it by its method names; then the Python one signs up, logs in, adds an
item and lists the items on the service, running.

The SQLite variant: it starts without a database server. The document is written by the
app factory, without a server. npx downloads its packages from the npm registry on first
use. The whole file takes 25 to 50 s here (it prints each step's time); budget: 3 min.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import DEEP_VARIANTS, clean_env, free_port, run, wait_for_ready

pytestmark = pytest.mark.clients

SQLITE = next(variant for variant in DEEP_VARIANTS if variant.name == "sqlite")
# @hey-api/openapi-ts 0.80 is the newest that runs on Node 20 (later ones need 22.18).
OPENAPI_TS = ["-p", "typescript@5", "-p", "@hey-api/openapi-ts@0.80.0"]
NPM_QUIET = {
    "npm_config_update_notifier": "false",
    "npm_config_fund": "false",
    "npm_config_audit": "false",
}
PACKAGE = "service_client"

WRITE_DOCUMENT = """
import json, pathlib, sys
from {package}.main import create_app
pathlib.Path(sys.argv[1]).write_text(json.dumps(create_app().openapi(), indent=1))
"""

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "target": "ES2022",
        "module": "ESNext",
        "moduleResolution": "Bundler",
        "lib": ["ES2022", "DOM", "DOM.Iterable"],
    },
    "include": ["client/**/*.ts", "usage.ts"],
}

# Compiles only if the generated functions have these names and these shapes.
TS_USAGE = """\
import { client } from './client/client.gen';
import { createItem, listItems, login, register } from './client';

export async function scenario(baseUrl: string): Promise<string[]> {
  client.setConfig({ baseUrl });
  const account = { email: 'ts@example.com', password: 'correct horse battery staple' };
  await register({ body: account, throwOnError: true });
  const tokens = await login({
    body: { username: account.email, password: account.password },
    throwOnError: true,
  });
  const auth = tokens.data.access_token;
  await createItem({ auth, body: { title: 'from TypeScript' }, throwOnError: true });
  const page = await listItems({ auth, query: { limit: 10 }, throwOnError: true });
  return page.data.items.map((item) => item.title);
}
"""

# The generator's output, no formatting afterwards (its default runs ruff on it).
PYTHON_CLIENT_CONFIG = "post_hooks: []\n"

# mypy --strict on the client and on code that calls it. The generator's own fixed
# `client.py` (the same for every document) forwards `*args: object` to httpx's
# `__exit__`, which strict and plain mypy both refuse as arg-type: excused there only.
MYPY_CONFIG = f"""\
[mypy]
strict = True

[mypy-{PACKAGE}.client]
disable_error_code = arg-type
"""

PYTHON_USAGE = f'''\
"""Sign up, log in, add an item and list the items, through the generated client."""

import json
import sys

from {PACKAGE} import AuthenticatedClient, Client
from {PACKAGE}.api.auth import login
from {PACKAGE}.api.items import create_item, list_items
from {PACKAGE}.api.users import register
from {PACKAGE}.models import (
    ItemCreate,
    ItemRead,
    LoginForm,
    PageItemRead,
    TokenPair,
    UserCreate,
    UserRead,
)


def main(base_url: str) -> None:
    email, password = "python@example.com", "correct horse battery staple"
    with Client(base_url=base_url, raise_on_unexpected_status=True) as anonymous:
        user = register.sync(client=anonymous, body=UserCreate(email=email, password=password))
        assert isinstance(user, UserRead), user
        tokens = login.sync(client=anonymous, body=LoginForm(username=email, password=password))
        assert isinstance(tokens, TokenPair), tokens
    with AuthenticatedClient(
        base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True
    ) as caller:
        item = create_item.sync(client=caller, body=ItemCreate(title="from Python"))
        assert isinstance(item, ItemRead), item
        page = list_items.sync(client=caller, limit=10)
        assert isinstance(page, PageItemRead), page
    listed = [{{"id": str(entry.id), "title": entry.title}} for entry in page.items]
    created = {{"id": str(item.id), "title": item.title}}
    print(json.dumps({{"scope": tokens.scope, "created": created, "listed": listed}}))


if __name__ == "__main__":
    main(sys.argv[1])
'''


@dataclass(frozen=True)
class Rendered:
    path: Path
    slug: str
    document: Path


def timed(step: str, started: float) -> None:
    print(f"{step}: {time.perf_counter() - started:.1f} s")


@pytest.fixture(scope="module")
def rendered(copie_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The SQLite variant, installed, and its OpenAPI document in a file."""
    started = time.perf_counter()
    result = copie_session.copy(extra_answers=SQLITE.answers)
    assert result.exit_code == 0, repr(result.exception)
    path = Path(result.project_dir)
    run(["uv", "sync", "--locked"], cwd=path)
    document = tmp_path_factory.mktemp("document") / "openapi.json"
    script = WRITE_DOCUMENT.format(package=result.answers["package_name"])
    run(
        ["uv", "run", "--locked", "python", "-c", script, str(document)],
        cwd=path,
        env=clean_env(DATABASE_URL=None),
    )
    timed("render, install, write openapi.json", started)
    return Rendered(path, result.answers["project_slug"], document)


def test_the_typescript_client_compiles_strictly(rendered: Rendered, tmp_path: Path) -> None:
    (tmp_path / "openapi.json").write_bytes(rendered.document.read_bytes())
    (tmp_path / "tsconfig.json").write_text(json.dumps(TSCONFIG, indent=2))
    (tmp_path / "usage.ts").write_text(TS_USAGE)
    env = clean_env(**NPM_QUIET)
    started = time.perf_counter()
    generate = ["openapi-ts", "-i", "openapi.json", "-o", "client", "-c", "@hey-api/client-fetch"]
    run(["npx", "--yes", *OPENAPI_TS, *generate], cwd=tmp_path, env=env, timeout=300)
    timed("openapi-ts", started)
    sdk = (tmp_path / "client/sdk.gen.ts").read_text()
    for name in ("register", "login", "createItem", "listItems", "readUser", "live"):
        assert f"export const {name} = " in sdk
    started = time.perf_counter()
    run(["npx", "--yes", "-p", "typescript@5", "tsc", "-p", "tsconfig.json"], cwd=tmp_path, env=env)
    timed("tsc --strict", started)


@pytest.fixture(scope="module")
def python_client(rendered: Rendered, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the generated package and code that uses it (usage.py)."""
    folder = tmp_path_factory.mktemp("python-client")
    config = folder / "generator.yaml"
    config.write_text(PYTHON_CLIENT_CONFIG)
    started = time.perf_counter()
    run(
        [sys.executable, "-m", "openapi_python_client", "generate",
         "--path", str(rendered.document), "--meta", "none", "--config", str(config),
         "--output-path", str(folder / PACKAGE), "--fail-on-warning"],
        cwd=folder,
    )  # fmt: skip
    timed("openapi-python-client", started)
    (folder / "usage.py").write_text(PYTHON_USAGE)
    return folder


def test_the_python_client_passes_mypy_strict(python_client: Path) -> None:
    (python_client / "mypy.ini").write_text(MYPY_CONFIG)
    started = time.perf_counter()
    output = run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", PACKAGE, "usage.py"],
        cwd=python_client,
    ).stdout
    timed("mypy --strict", started)
    assert "Success: no issues found" in output


@pytest.fixture
def serving(rendered: Rendered, tmp_path: Path) -> Iterator[str]:
    """The rendered service, running on its local SQLite database: its base URL."""
    port = free_port()
    log = tmp_path / "serve.log"
    started = time.perf_counter()
    with log.open("w") as output:
        server = subprocess.Popen(
            ["uv", "run", "--locked", rendered.slug, "serve", "--port", str(port)],
            cwd=rendered.path,
            env=clean_env(DATABASE_URL=None),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            assert wait_for_ready(f"{url}/health/ready", server) == 200, log.read_text()
            timed("serve until ready", started)
            yield url
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
            print(log.read_text()[-3000:])


def test_the_python_client_drives_the_running_service(python_client: Path, serving: str) -> None:
    started = time.perf_counter()
    output = run([sys.executable, "usage.py", serving], cwd=python_client).stdout
    timed("register, login, create and list through the client", started)
    outcome = json.loads(output)
    assert outcome["scope"].split() == ["items:read", "items:write"]
    assert outcome["created"]["title"] == "from Python"
    assert outcome["created"] in outcome["listed"]

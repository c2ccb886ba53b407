"""Coming from pip or Poetry: two legacy FastAPI services moved to uv with migrate-to-uv.

The README's "Coming from pip or Poetry" promises that `uvx migrate-to-uv` turns such a
service into a uv project that keeps every pinned version, installs with
`uv sync --locked` and passes its own tests with `uv run pytest`. Each promise is checked
here on two projects the tests write: a pip one (`requirements.txt` and
`requirements-dev.txt`, exact pins) and a Poetry one (exact pins, two dependency groups).
The converter is the `migrate-to-uv` of this repository's lock (a development
dependency), run on the interpreter running these tests: nothing downloads a Python.
"""

from __future__ import annotations

import platform
import re
import shutil
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, clean_env, run

pytestmark = pytest.mark.legacy

# The legacy service: a couple of routes and a pydantic model, the same in both projects.
APP = '''\
"""A small inventory service, as it ran before the move to uv."""

from fastapi import FastAPI, HTTPException, status
from pydantic import BaseModel, Field

app = FastAPI(title="Legacy inventory")


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    price: float = Field(gt=0)


class Item(ItemIn):
    id: int


ITEMS: dict[int, Item] = {}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/items", status_code=status.HTTP_201_CREATED)
def create_item(body: ItemIn) -> Item:
    item = Item(id=len(ITEMS) + 1, **body.model_dump())
    ITEMS[item.id] = item
    return item


@app.get("/items/{item_id}")
def read_item(item_id: int) -> Item:
    if item_id not in ITEMS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Item not found")
    return ITEMS[item_id]
'''

APP_TESTS = """\
from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_health() -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_an_item_is_created_and_read_back() -> None:
    created = client.post("/items", json={"name": "lamp", "price": 12.5})
    assert created.status_code == 201
    item = created.json()
    assert item["name"] == "lamp"
    assert item["price"] == 12.5
    read = client.get(f"/items/{item['id']}")
    assert read.status_code == 200
    assert read.json() == item


def test_a_missing_item_is_404() -> None:
    response = client.get("/items/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "Item not found"}


def test_a_bad_body_is_422() -> None:
    response = client.post("/items", json={"name": "", "price": -1})
    assert response.status_code == 422
    fields = {error["loc"][-1] for error in response.json()["detail"]}
    assert fields == {"name", "price"}
"""

# The Poetry service also reads its settings with pydantic-settings.
SETTINGS = '''\
"""Settings from the environment."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INVENTORY_")

    page_size: int = 20
'''

SETTINGS_TESTS = """\
import pytest

from app.settings import Settings


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().page_size == 20
    monkeypatch.setenv("INVENTORY_PAGE_SIZE", "50")
    assert Settings().page_size == 50
"""

# Exact pins, older than the newest releases: a converter that re-resolved them to the
# newest would fail the version checks, not pass them by chance.
PIP_DEPENDENCIES = {
    "fastapi": "0.115.12",
    "starlette": "0.46.2",
    "uvicorn": "0.34.2",
    "pydantic": "2.11.3",
}
PIP_DEV = {"pytest": "8.3.5", "httpx": "0.28.1"}

POETRY_DEPENDENCIES = {
    "fastapi": "0.116.1",
    "uvicorn": "0.35.0",
    "pydantic": "2.11.7",
    "pydantic-settings": "2.10.1",
}
POETRY_DEV = {"pytest": "8.4.1", "httpx": "0.28.1"}
POETRY_LINT = {"ruff": "0.12.4"}


def pins(versions: dict[str, str]) -> list[str]:
    return [f"{name}=={version}" for name, version in versions.items()]


def write_service(project: Path, *, with_settings: bool) -> None:
    """The service's code and its own tests, as they are in both projects."""
    (project / "app").mkdir()
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "main.py").write_text(APP)
    (project / "tests").mkdir()
    (project / "tests" / "test_app.py").write_text(APP_TESTS)
    if with_settings:
        (project / "app" / "settings.py").write_text(SETTINGS)
        (project / "tests" / "test_settings.py").write_text(SETTINGS_TESTS)


def write_pip_project(project: Path) -> None:
    """`pip install -r requirements-dev.txt`, pytest configured in `pytest.ini`."""
    write_service(project, with_settings=False)
    (project / "requirements.txt").write_text(
        "# Production pins (pip freeze, trimmed).\n" + "\n".join(pins(PIP_DEPENDENCIES)) + "\n"
    )
    # `-r` lines are skipped by the converter (it reads both default files by itself).
    (project / "requirements-dev.txt").write_text(
        "-r requirements.txt\n" + "\n".join(pins(PIP_DEV)) + "  # TestClient needs it\n"
    )
    (project / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    # migrate-to-uv 0.12.0 writes `name = ""` for a project without one, which uv refuses
    # (fixed upstream after 0.12.0, osprey-oss/migrate-to-uv#922): the README's one step
    # before the converter gives it a name and the supported Pythons.
    (project / "pyproject.toml").write_text(
        '[project]\nname = "legacy-shop"\nrequires-python = ">=3.12"\n'
    )


def write_poetry_project(project: Path) -> None:
    """A Poetry 1.8 application (`package-mode = false`) with bare Poetry pins, a dev and
    a lint group, a `poetry.toml` and its pytest settings in `pyproject.toml`."""
    write_service(project, with_settings=True)

    def table(versions: dict[str, str]) -> str:
        return "".join(f'{name} = "{version}"\n' for name, version in versions.items())

    (project / "pyproject.toml").write_text(
        "[tool.poetry]\n"
        'name = "legacy-inventory"\n'
        'version = "1.4.0"\n'
        'description = "Inventory API"\n'
        'authors = ["Ops Team <ops@example.org>"]\n'
        "package-mode = false\n\n"
        "[tool.poetry.dependencies]\n"
        'python = "^3.12"\n'
        f"{table(POETRY_DEPENDENCIES)}\n"
        "[tool.poetry.group.dev.dependencies]\n"
        f"{table(POETRY_DEV)}\n"
        "[tool.poetry.group.lint.dependencies]\n"
        f"{table(POETRY_LINT)}\n"
        "[tool.pytest.ini_options]\n"
        'pythonpath = ["."]\n\n'
        "[build-system]\n"
        'requires = ["poetry-core>=1.0.0"]\n'
        'build-backend = "poetry.core.masonry.api"\n'
    )
    (project / "poetry.toml").write_text("[virtualenvs]\nin-project = true\n")


@dataclass(frozen=True)
class Legacy:
    """A legacy project, what the converter should make of it, and what stays."""

    manager: str
    write: Callable[[Path], None]
    dependencies: dict[str, str]
    groups: dict[str, dict[str, str]]
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    tests: int


LEGACY = [
    Legacy(
        "pip",
        write_pip_project,
        PIP_DEPENDENCIES,
        {"dev": PIP_DEV},
        removed=("requirements.txt", "requirements-dev.txt"),
        kept=("pytest.ini", "app/main.py", "tests/test_app.py"),
        tests=4,
    ),
    Legacy(
        "Poetry",
        write_poetry_project,
        POETRY_DEPENDENCIES,
        {"dev": POETRY_DEV, "lint": POETRY_LINT},
        removed=("poetry.toml",),
        kept=("app/main.py", "app/settings.py", "tests/test_app.py"),
        tests=5,
    ),
]


def env() -> dict[str, str]:
    """Not this repository's venv or pytest; the interpreter running these tests, never
    a downloaded one."""
    return clean_env(UV_PYTHON=sys.executable, UV_PYTHON_DOWNLOADS="never")


def migrate_to_uv() -> str:
    path = shutil.which("migrate-to-uv")
    assert path is not None, "migrate-to-uv is missing: uv sync --locked installs it"
    return path


@dataclass(frozen=True)
class Migrated:
    legacy: Legacy
    path: Path
    output: str

    def pyproject(self) -> dict[str, Any]:
        return tomllib.loads((self.path / "pyproject.toml").read_text())

    def locked_versions(self) -> dict[str, str]:
        lock = tomllib.loads((self.path / "uv.lock").read_text())
        return {package["name"]: package["version"] for package in lock["package"]}


@pytest.fixture(scope="module", params=LEGACY, ids=lambda legacy: legacy.manager)
def migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    """The legacy project written, then `migrate-to-uv` run in it as the README says."""
    legacy: Legacy = request.param
    project = tmp_path_factory.mktemp(legacy.manager.lower())
    legacy.write(project)
    result = run([migrate_to_uv()], cwd=project, env=env(), timeout=300)
    return Migrated(legacy, project, result.stdout + result.stderr)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_converter_reports_the_manager_it_migrated_from(migrated: Migrated) -> None:
    manager = migrated.legacy.manager
    assert f"Successfully migrated project from {manager} to uv!" in migrated.output
    # Nothing it could not carry over, and nothing uv's lock had to guess (a missing
    # `requires-python`): not one warning.
    assert "warning:" not in migrated.output, migrated.output


def test_pyproject_has_the_project_table_and_the_groups(migrated: Migrated) -> None:
    pyproject = migrated.pyproject()
    project = pyproject["project"]
    assert project["dependencies"] == pins(migrated.legacy.dependencies)
    assert pyproject["dependency-groups"] == {
        group: pins(versions) for group, versions in migrated.legacy.groups.items()
    }
    # A service, not a library: uv installs its dependencies, never the project itself.
    assert pyproject["tool"]["uv"]["package"] is False
    assert "poetry" not in pyproject["tool"]


def test_poetry_metadata_and_settings_carry_over(tmp_path: Path) -> None:
    """What Poetry knew beside the dependencies: the Python range (caret to PEP 440), the
    project's metadata, every group installed by default as Poetry did, and the other
    tools' settings left alone."""
    write_poetry_project(tmp_path)
    run([migrate_to_uv(), "--skip-lock"], cwd=tmp_path, env=env(), timeout=300)
    pyproject = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert project["name"] == "legacy-inventory"
    assert project["version"] == "1.4.0"
    assert project["requires-python"] == ">=3.12,<4"
    assert project["authors"] == [{"name": "Ops Team", "email": "ops@example.org"}]
    assert pyproject["tool"]["uv"]["default-groups"] == "all"
    assert pyproject["tool"]["pytest"]["ini_options"] == {"pythonpath": ["."]}
    assert pyproject["build-system"]["build-backend"] == "uv_build"


def test_every_pinned_version_is_kept_in_uv_lock(migrated: Migrated) -> None:
    locked = migrated.locked_versions()
    pinned = dict(migrated.legacy.dependencies)
    for versions in migrated.legacy.groups.values():
        pinned.update(versions)
    assert {normalized(name): version for name, version in pinned.items()} == {
        normalized(name): locked.get(normalized(name)) for name in pinned
    }


def test_the_legacy_files_go_and_the_code_stays(migrated: Migrated) -> None:
    """migrate-to-uv deletes what the old manager read (requirements files; `poetry.lock`
    and `poetry.toml`) unless told `--keep-current-data`; code and tests are untouched."""
    for name in migrated.legacy.removed:
        assert not (migrated.path / name).exists(), name
    for name in migrated.legacy.kept:
        assert (migrated.path / name).is_file(), name
    assert (migrated.path / "app" / "main.py").read_text() == APP
    assert (migrated.path / "uv.lock").is_file()


def test_the_lock_installs_and_the_legacy_tests_pass(migrated: Migrated) -> None:
    run(["uv", "sync", "--locked"], cwd=migrated.path, env=env(), timeout=300)
    result = run(["uv", "run", "pytest"], cwd=migrated.path, env=env(), timeout=300)
    # On the interpreter running these tests: uv downloaded none.
    assert f"Python {platform.python_version()}" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b{migrated.legacy.tests} passed\b", summary), summary
    assert not re.search(r"\b(failed|error|errors|skipped)\b", summary), summary


def test_the_readme_gives_the_commands_run_here() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Coming from pip or Poetry", 1)[1].split("\n## ", 1)[0]
    for command in ("uvx migrate-to-uv", "uv sync --locked", "uv run pytest"):
        assert command in section, command

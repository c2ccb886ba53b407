"""`copier update`: a project rendered from one release, updated to the next.

The releases are two tags of a throwaway git copy of this working tree, so that these
tests depend on no real tag: v1.0.0 is the working tree as it is, v2.0.0 adds what a
typical release brings (a changed line in a rendered module and in the README, a new
dependency with its re-locked uv.lock, a renamed question with its answers migration).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from extensions.migrate_answers import main as migrate_answers
from extensions.migrate_answers import migrate
from tests.support import ROOT, clean_env, run

pytestmark = pytest.mark.update

COPIER = str(Path(sys.executable).with_name("copier"))
OLD, NEW = "v1.0.0", "v2.0.0"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Update Test",
    "GIT_AUTHOR_EMAIL": "update-test@example.com",
    "GIT_COMMITTER_NAME": "Update Test",
    "GIT_COMMITTER_EMAIL": "update-test@example.com",
}

# What v2.0.0 changes, and what the tests look for.
HEALTH = "src/my_api/health/routes.py"
HEALTH_V2_DOCSTRING = '"""Liveness and readiness probes (changed by template v2.0.0)."""'
README_V2_LINE = "Rendered from copier-fastapi; v2.0.0 added this line."
NEW_DEPENDENCY = "anyio"  # declared by v2.0.0; already in the lock through starlette
# What v2.0.0 changes in the resource generator's routes.
RESOURCE_ROUTES_V2 = "(changed by template v2.0.0)"
# A development dependency of v2.0.0 whose uv.lock entry lands right beside the user's
# new one (cachetools): merged as text, the two locks would conflict there.
NEW_DEV_DEPENDENCY = "cachecontrol"


def env(**overrides: str | None) -> dict[str, str]:
    return clean_env(**IDENTITY, **overrides)


def git(cwd: Path, *args: str) -> str:
    return run(["git", *args], cwd=cwd, env=env()).stdout


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "--all")
    git(cwd, "commit", "--quiet", "--no-verify", "--message", message)


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text that must be there: a template that changed shape fails loudly."""
    text = path.read_text()
    assert text.count(old) == count, f"{old!r} found {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new))


def working_tree_files() -> list[str]:
    """Tracked and new files of this repository, as they are on disk (edits included)."""
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT
    ).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of the template with the tags v1.0.0 (this tree) and v2.0.0."""
    source = tmp_path_factory.mktemp("template") / "copier-fastapi"
    for name in working_tree_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    git(source, "init", "--quiet", "--initial-branch=main")
    commit_all(source, "v1")
    git(source, "tag", OLD)

    package = source / "template/src/{{ package_name }}"
    health = package / "health/routes.py"
    first_line = health.read_text().splitlines()[0]
    edit(health, first_line, HEALTH_V2_DOCSTRING)
    edit(
        source / "template/README.md.jinja",
        "# {{ project_name | markdown_text }}\n",
        f"# {{{{ project_name | markdown_text }}}}\n\n{README_V2_LINE}\n",
    )
    edit(
        source / "template/pyproject.toml.jinja",
        '    "argon2-cffi',
        f'    "{NEW_DEPENDENCY}>=4.0",\n    "argon2-cffi',
    )
    edit(
        source / "template/pyproject.toml.jinja",
        '    "coverage[toml]',
        f'    "{NEW_DEV_DEPENDENCY}>=0.14",\n    "coverage[toml]',
    )
    edit(
        source / "resource/src/{{ package_name }}/{{ resource_plural }}/routes.py.jinja",
        '"""CRUD of the caller\'s {{ r.many }}.',
        f'"""CRUD of the caller\'s {{{{ r.many }}}} {RESOURCE_ROUTES_V2}.',
    )
    # A renamed question, and the migration that carries the old answer over.
    for path in [source / "copier.yml", *source.glob("template/**/*.jinja")]:
        if "author_name" in path.read_text():
            path.write_text(path.read_text().replace("author_name", "maintainer_name"))
    edit(
        source / "copier.yml",
        "_migrations:\n",
        "_migrations:\n"
        '  - version: "2.0.0"\n'
        "    when: \"{{ _stage == 'before' }}\"\n"
        '    command: ["{{ _copier_python }}",'
        ' "{{ _copier_conf.src_path }}/extensions/migrate_answers.py",'
        ' "{{ _copier_conf.answers_file }}", rename, author_name, maintainer_name]\n',
    )
    run([sys.executable, "scripts/refresh_locks.py"], cwd=source, env=env())
    commit_all(source, "v2")
    git(source, "tag", NEW)
    return source


@dataclass
class Project:
    path: Path

    def copier(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([COPIER, *args], cwd=self.path.parent, env=env())

    def update(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`copier update` as the README says, from inside the project, timed."""
        started = time.perf_counter()
        result = run([COPIER, "update", "--trust", "--defaults", *args], cwd=self.path, env=env())
        print(f"copier update {' '.join(args)}: {time.perf_counter() - started:.1f} s")
        return result

    def uv(self, *args: str, **overrides: str | None) -> subprocess.CompletedProcess[str]:
        return run(["uv", *args], cwd=self.path, env=env(**overrides))

    def read(self, name: str) -> str:
        return (self.path / name).read_text()

    def changed_files(self) -> set[str]:
        status = git(self.path, "status", "--porcelain", "--untracked-files=all")
        return {line[3:] for line in status.splitlines()}


def render(template: Path, destination: Path, *answers: str) -> Project:
    """`copier copy` at the old tag, committed as a user would."""
    project = Project(destination)
    data = [option for answer in answers for option in ("--data", answer)]
    project.copier(
        "copy", "--trust", "--defaults", "--vcs-ref", OLD, *data, str(template), str(destination)
    )
    commit_all(destination, "Rendered from copier-fastapi v1.0.0")
    return project


CONFLICT_MARKERS = re.compile(r"^(<{7} |>{7} |={7}$)", re.MULTILINE)


def conflicts(project: Project) -> dict[str, list[str]]:
    """Everything Copier may leave behind when a change does not apply (it exits 0)."""
    marked = [
        str(path.relative_to(project.path))
        for path in project.path.rglob("*")
        if path.is_file()
        and not {".git", ".venv", ".data"} & set(path.relative_to(project.path).parts)
        and CONFLICT_MARKERS.search(path.read_text(errors="replace"))
    ]
    rejected = [str(path.relative_to(project.path)) for path in project.path.rglob("*.rej")]
    unmerged = sorted(
        {line.split("\t")[1] for line in git(project.path, "ls-files", "-u").splitlines()}
    )
    return {"markers": sorted(marked), "rejects": rejected, "unmerged": unmerged}


NO_CONFLICTS: dict[str, list[str]] = {"markers": [], "rejects": [], "unmerged": []}

# The user's own route module, wired into the app, with its test (the 100% gate holds).
USER_ROUTE = '''"""The deployed version: a route of the project's own."""

from fastapi import APIRouter

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/version")
async def version() -> dict[str, str]:
    """The version deployed (every route has a docstring: the project's tests say so)."""
    return {"version": "1.2.3"}
'''
USER_ROUTE_TEST = """from httpx import AsyncClient


async def test_version(client: AsyncClient) -> None:
    response = await client.get("/health/version")
    assert response.json() == {"version": "1.2.3"}
"""
USER_ITEMS_DOCSTRING = '"""Items routes, as our team documents them."""'
USER_README = "\n## Our deployment\n\nStaging runs from the `main` branch.\n"


def test_user_edits_survive_and_the_template_changes_arrive(template: Path, tmp_path: Path) -> None:
    project = render(template, tmp_path / "my-api", "author_name=Grace Hopper")
    path = project.path
    secrets_before = project.read(".env") + "EXTRA_LOCAL_SETTING=mine\n"
    (path / ".env").write_text(secrets_before)
    # Typical edits: a new route module and its test, a changed line of a rendered route
    # module, a new dependency, the README.
    (path / "src/my_api/health/version.py").write_text(USER_ROUTE)
    (path / "tests/integration/test_version.py").write_text(USER_ROUTE_TEST)
    main = path / "src/my_api/main.py"
    edit(
        main,
        "from .health.routes import router as health_router\n",
        "from .health.routes import router as health_router\n"
        "from .health.version import router as version_router\n",
    )
    edit(
        main,
        "    app.include_router(health_router)\n",
        "    app.include_router(health_router)\n    app.include_router(version_router)\n",
    )
    items = path / "src/my_api/items/routes.py"
    edit(items, items.read_text().splitlines()[0], USER_ITEMS_DOCSTRING)
    project.uv("add", "--quiet", "cachetools>=5")
    with (path / "README.md").open("a") as readme:
        readme.write(USER_README)
    commit_all(path, "Our changes")

    project.update("--vcs-ref", NEW)

    assert conflicts(project) == NO_CONFLICTS
    # Ours, kept.
    assert project.read("src/my_api/health/version.py") == USER_ROUTE
    assert "app.include_router(version_router)" in project.read("src/my_api/main.py")
    assert project.read("src/my_api/items/routes.py").startswith(USER_ITEMS_DOCSTRING)
    assert project.read("README.md").endswith(USER_README)
    assert '"cachetools>=5"' in project.read("pyproject.toml")
    assert project.read(".env") == secrets_before
    # The template's, arrived, also in files we changed elsewhere.
    assert project.read(HEALTH).startswith(HEALTH_V2_DOCSTRING + "\n")
    assert README_V2_LINE in project.read("README.md")
    assert f'"{NEW_DEPENDENCY}>=4.0"' in project.read("pyproject.toml")
    assert project.changed_files() == {
        ".copier-answers.yml",
        HEALTH,
        "README.md",
        "pyproject.toml",
        "uv.lock",
    }
    # One lock, consistent with the merged pyproject.toml, never merged by hand.
    project.uv("lock", "--check")
    lock = project.read("uv.lock")
    assert 'name = "cachetools"' in lock
    assert f'name = "{NEW_DEV_DEPENDENCY}"' in lock
    assert re.search(
        rf'\[package.metadata\]\nrequires-dist = \[\n(.*\n)*?.*"{NEW_DEPENDENCY}"', lock
    )
    # Where it came from, without secrets; the renamed answer carried over.
    answers = yaml.safe_load(project.read(".copier-answers.yml"))
    assert answers["_commit"] == NEW
    assert answers["_src_path"] == str(template)
    assert answers["maintainer_name"] == "Grace Hopper"
    assert "author_name" not in answers
    assert 'authors = [{ name = "Grace Hopper"' in project.read("pyproject.toml")
    secret = re.search(r"^SECRET_KEY=(.+)$", secrets_before, re.MULTILINE)
    assert secret is not None
    assert secret.group(1) not in project.read(".copier-answers.yml")
    assert "copier update" in project.read("README.md")

    project.uv("sync", "--locked", "--quiet")
    output = project.uv("run", "--locked", "pytest", "-p", "no:cacheprovider", DATABASE_URL=None)
    assert "Required test coverage of 100% reached" in output.stdout
    assert not re.search(r"\d+ (failed|error)", output.stdout)


def test_a_conflicting_edit_is_marked_in_that_file_alone(template: Path, tmp_path: Path) -> None:
    project = render(template, tmp_path / "my-api")
    ours = '"""Health probes, the way our platform team wants them."""'
    health = project.path / HEALTH
    edit(health, health.read_text().splitlines()[0], ours)
    with (project.path / "README.md").open("a") as readme:
        readme.write(USER_README)
    commit_all(project.path, "Our changes")
    rest_before = health.read_text().split("\n", 1)[1]

    project.update("--vcs-ref", NEW)

    assert conflicts(project) == {"markers": [HEALTH], "rejects": [], "unmerged": [HEALTH]}
    merged = health.read_text()
    assert re.search(
        rf"^<<<<<<< before updating\n{re.escape(ours)}\n=======\n"
        rf"{re.escape(HEALTH_V2_DOCSTRING)}\n>>>>>>> after updating\n",
        merged,
    )
    assert merged.endswith(rest_before)
    # Nothing else lost: our README edit and the template's changes elsewhere.
    readme = project.read("README.md")
    assert readme.endswith(USER_README)
    assert README_V2_LINE in readme
    project.uv("lock", "--check")


SEED_ITEMS = """
INSERT INTO item (id, owner_id, title, created_at, updated_at)
SELECT gen_random_uuid(), u.id, u.email || ' #' || n, now(), now()
FROM "user" u, generate_series(1, CASE WHEN u.email LIKE 'alice%' THEN 3 ELSE 2 END) n
"""

# Run inside the project: what the embedded database holds, as a superuser and as the
# service's role (with Alice's id as the RLS context, then with none).
INSPECT = """
import asyncio, json, sys
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from my_api.settings import get_settings
from my_api.db.embedded import start_embedded_postgres
from my_api.db.engine import DATABASE_NAME, database_urls

async def main() -> None:
    settings = get_settings()
    admin = create_async_engine(
        start_embedded_postgres(settings.data_dir / "postgres", DATABASE_NAME)
    )
    report = {}
    async with admin.begin() as connection:
        if sys.argv[1:] == ["seed"]:
            await connection.execute(text(SEED_ITEMS))
        report["items"] = dict((await connection.execute(text(
            'SELECT u.email, count(i.id) FROM "user" u LEFT JOIN item i ON i.owner_id = u.id '
            "GROUP BY u.email"))).all())
        report["item_table"] = list((await connection.execute(text(
            "SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) "
            "FROM pg_class WHERE relname = 'item'"))).one())
        alice = str(await connection.scalar(text(
            "SELECT id FROM \\"user\\" WHERE email = 'alice@example.com'")))
    await admin.dispose()
    app = create_async_engine((await asyncio.to_thread(database_urls, settings)).app)
    async with app.begin() as connection:
        report["role"] = await connection.scalar(text("SELECT current_user"))
        await connection.execute(text("SELECT set_config('app.user_id', :id, true)"), {"id": alice})
        report["alice_sees"] = await connection.scalar(text("SELECT count(*) FROM item"))
    async with app.begin() as connection:
        report["nobody_sees"] = await connection.scalar(text("SELECT count(*) FROM item"))
    await app.dispose()
    print(json.dumps(report))

asyncio.run(main())
"""


def report(output: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The inspection's JSON: its last line (the embedded server may print before it)."""
    parsed: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return parsed


def test_turning_row_level_security_on_keeps_the_rows(template: Path, tmp_path: Path) -> None:
    project = render(template, tmp_path / "my-api", "rls=false")
    script = tmp_path / "inspect_database.py"  # outside the project: its tree stays clean
    script.write_text(f"SEED_ITEMS = {SEED_ITEMS!r}\n{INSPECT}")
    secrets_before = project.read(".env")
    project.uv("sync", "--locked", "--quiet")
    local = {"DATABASE_URL": None, "MIGRATION_DATABASE_URL": None}
    project.uv("run", "--locked", "my-api", "db", "upgrade", **local)
    for email in ("alice@example.com", "bob@example.com"):
        project.uv(
            "run", "--locked", "my-api", "users", "create", "--email", email,
            "--password", "correct horse battery staple", **local,
        )  # fmt: skip
    before = report(project.uv("run", "--locked", "python", str(script), "seed", **local))
    assert before["items"] == {"alice@example.com": 3, "bob@example.com": 2}
    assert before["item_table"][:2] == [False, False]
    assert before["alice_sees"] == 5  # no RLS: the service's queries alone filter

    project.update("--vcs-ref", NEW, "--data", "rls=true")

    assert conflicts(project) == NO_CONFLICTS
    assert yaml.safe_load(project.read(".copier-answers.yml"))["rls"] is True
    assert project.read(".env") == secrets_before
    project.uv("sync", "--locked", "--quiet")
    project.uv("run", "--locked", "my-api", "db", "upgrade", **local)
    after = report(project.uv("run", "--locked", "python", str(script), **local))
    assert after["items"] == before["items"]  # every row kept
    assert after["item_table"] == [True, True, "app_owner"]
    assert after["role"] == "app_user"
    assert after["alice_sees"] == 3
    assert after["nobody_sees"] == 0
    output = project.uv(
        "run", "--locked", "pytest", "tests/rls", "-p", "no:cacheprovider", "--no-cov", **local
    ).stdout
    assert re.search(r"\d+ passed", output)
    assert not re.search(r"\d+ (failed|error|skipped)", output)


def test_answers_migration_renames_and_removes(tmp_path: Path) -> None:
    answers = {"_commit": "v1.0.0", "author_name": "Ada", "docker": True}
    assert migrate(answers, "rename", ["author_name", "maintainer_name"]) == [
        "answer author_name is now maintainer_name"
    ]
    assert answers == {"_commit": "v1.0.0", "maintainer_name": "Ada", "docker": True}
    assert migrate(answers, "rename", ["author_name", "maintainer_name"]) == []  # idempotent
    assert migrate(answers, "remove", ["docker"]) == ["answer docker removed"]
    assert migrate(answers, "remove", ["docker"]) == []
    # A rename never overwrites an answer already given under the new name.
    both = {"author_name": "old", "maintainer_name": "new"}
    migrate(both, "rename", ["author_name", "maintainer_name"])
    assert both == {"maintainer_name": "new"}

    answers_file = tmp_path / ".copier-answers.yml"
    answers_file.write_text("_commit: v1.0.0\nauthor_name: Ada\nlicense: MIT\n")
    assert migrate_answers([str(answers_file), "rename", "author_name", "maintainer_name"]) == 0
    assert migrate_answers([str(answers_file), "remove", "license"]) == 0
    assert yaml.safe_load(answers_file.read_text()) == {
        "_commit": "v1.0.0",
        "maintainer_name": "Ada",
    }
    with pytest.raises(SystemExit):
        migrate_answers([str(answers_file), "rename", "only_one_name"])


INVOICES = "src/my_api/invoices"
USER_SERVICE_LINE = "# Our team's note: invoices are archived yearly."


def test_a_generated_resource_keeps_its_edits_and_takes_a_new_release(
    template: Path, tmp_path: Path
) -> None:
    """The resource generator at one release, an edit of what it wrote, then an update
    of the resource alone (its own answers file) and of the service beside it."""
    project = render(template, tmp_path / "my-api")
    resource = [
        *("--data", "generate=resource", "--data", "resource_singular=invoice"),
        *("--data", 'resource_fields={number: str(40) unique, amount: "decimal(12, 2)"}'),
    ]
    project.copier(
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        OLD,
        *resource,
        str(template),
        str(project.path),
    )
    commit_all(project.path, "Invoices, from the generator")
    service = project.path / INVOICES / "service.py"
    edit(service, "\n\nimport uuid\n", f"\n\n{USER_SERVICE_LINE}\nimport uuid\n")
    commit_all(project.path, "Our note")

    project.update("--vcs-ref", NEW, "--answers-file", ".copier-answers.resource-invoices.yml")

    assert conflicts(project) == NO_CONFLICTS
    assert USER_SERVICE_LINE in project.read(f"{INVOICES}/service.py")
    assert RESOURCE_ROUTES_V2 in project.read(f"{INVOICES}/routes.py")
    answers = yaml.safe_load(project.read(".copier-answers.resource-invoices.yml"))
    assert (answers["_commit"], answers["resource_singular"]) == (NEW, "invoice")
    assert project.changed_files() == {
        ".copier-answers.resource-invoices.yml",
        f"{INVOICES}/routes.py",
    }
    commit_all(project.path, "Invoices from v2.0.0")

    project.update("--vcs-ref", NEW)

    assert conflicts(project) == NO_CONFLICTS
    assert project.read(HEALTH).startswith(HEALTH_V2_DOCSTRING + "\n")
    # The service's update leaves the resource and its wiring as they were.
    assert USER_SERVICE_LINE in project.read(f"{INVOICES}/service.py")
    assert "invoices_router" in project.read("src/my_api/main.py")
    assert "invoices" not in " ".join(project.changed_files())
    project.uv("sync", "--locked", "--quiet")
    tests = ["tests/integration/test_invoices_api.py", "tests/integration/test_migrations.py"]
    output = project.uv("run", "--locked", "pytest", "--no-cov", *tests, DATABASE_URL=None)
    assert re.search(r"\d+ passed", output.stdout), output.stdout[-2000:]

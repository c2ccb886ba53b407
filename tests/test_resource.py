"""The resource generator (`generate=resource`): run in a rendered service, it adds an
owned resource with its own answers file; bad answers are refused and write nothing."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

from tests.support import DEEP_VARIANTS, ROOT, Variant, clean_env, run

# Every field type, each flag; and a one-field resource with a long two-word name.
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


def render_service(destination: Path, answers: dict[str, Any]) -> None:
    run_copy(str(ROOT), destination, data=answers, defaults=True, unsafe=True, vcs_ref="HEAD")
    run(["git", "init", "--quiet"], cwd=destination)
    run(["git", "add", "--all"], cwd=destination)
    run(["git", "commit", "--quiet", "--message", "rendered"], cwd=destination)


def add_resource(service: Path, answers: dict[str, Any]) -> None:
    data = {"generate": "resource", **answers}
    run_copy(str(ROOT), service, data=data, defaults=True, unsafe=True, vcs_ref="HEAD")


def git_status(service: Path) -> str:
    return run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=service).stdout


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default service, rendered and committed, not installed."""
    path = tmp_path_factory.mktemp("service") / "my-api"
    render_service(path, {})
    (path / "src" / "my_api" / "reports").mkdir()
    (path / "src" / "my_api" / "reports" / "__init__.py").write_text('"""Hand-written."""\n')
    run(["git", "add", "--all"], cwd=path)
    run(["git", "commit", "--quiet", "--message", "a feature of our own"], cwd=path)
    return path


@pytest.mark.render
@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"resource_singular": "item"}, "'item' is taken by the service itself"),
        ({"resource_singular": "report"}, "src/my_api/reports already exists"),
        ({"resource_singular": "Invoice"}, "lowercase words joined by single underscores"),
        ({"resource_singular": "class"}, "is a Python keyword"),
        (
            {"resource_singular": "invoice", "resource_plural": "invoice"},
            "resource_plural must differ",
        ),
        ({"resource_fields": {"total": "money"}}, "unknown type 'money'"),
        ({"resource_fields": {"owner_id": "uuid"}}, "already has a column"),
        ({"resource_fields": {"created_at": "datetime"}}, "already has a column"),
        ({"resource_fields": {"title": "str"}}, "needs its maximum length"),
        ({"resource_fields": {"title": "str(200) required"}}, "unknown flag 'required'"),
        ({"resource_fields": {"state": "enum(Open, closed)"}}, "enum values are lowercase"),
        ({"resource_fields": {"price": "decimal(2, 5)"}}, "precision is 1 to 38"),
        ({"resource_fields": []}, "must be a YAML mapping"),
        ({"resource_down_revision": "9999"}, "no migration under migrations/versions/"),
        ({"package_name": "other_api"}, "no src/other_api/main.py here"),
    ],
)
def test_a_bad_answer_is_refused_with_its_reason_and_writes_nothing(
    service: Path, answers: dict[str, Any], message: str
) -> None:
    data = {"resource_singular": "invoice", "resource_fields": {"title": "str(200)"}, **answers}
    with pytest.raises(ValueError, match=re.escape(message)):
        add_resource(service, data)
    assert git_status(service) == ""


@pytest.mark.render
def test_the_answers_file_is_the_resources_own(service: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    run(["git", "clone", "--quiet", str(service), str(copy)], cwd=tmp_path)
    add_resource(copy, MINIMAL)
    answers = (copy / ".copier-answers.resource-purchase_order_lines.yml").read_text()
    assert "resource_singular: purchase_order_line" in answers
    assert "generate: resource" in answers
    # The service's own answers file is untouched: `copier update` of the service still works.
    assert "generate" not in (copy / ".copier-answers.yml").read_text()
    routes = copy / "src" / "my_api" / "purchase_order_lines" / "routes.py"
    assert 'APIRouter(prefix="/purchase-order-lines"' in routes.read_text()
    # A second copy over it (Copier's recopy) does not wire it in twice.
    add_resource(copy, MINIMAL)
    main = (copy / "src" / "my_api" / "main.py").read_text()
    assert main.count("purchase_order_lines_router, prefix") == 1


def by_variant(variants: list[Variant]) -> list[Any]:
    group = pytest.mark.xdist_group
    return [pytest.param(v, id=v.name, marks=group(f"resource-{v.name}")) for v in variants]


@pytest.mark.deep
@pytest.mark.parametrize("variant", by_variant(DEEP_VARIANTS))
def test_two_generated_resources_pass_every_check_of_the_service(
    variant: Variant, tmp_path: Path
) -> None:
    """Each deep variant plus two resources: one with every field type and flag, one
    minimal. The service's own checks all pass, its suite at 100% coverage: the
    generated tests cover the generated code. With SQLite and embedded PostgreSQL this
    needs no server; DATABASE_URL, when set, is used as by the rendered suite."""
    path = tmp_path / "service"
    render_service(path, variant.answers)
    for answers in (EVERY_TYPE, MINIMAL):
        add_resource(path, answers)
    run(["uv", "sync", "--locked"], cwd=path)
    uv = ["uv", "run", "--locked"]
    run([*uv, "ruff", "check", "--no-fix", "."], cwd=path)
    run([*uv, "ruff", "format", "--check", "."], cwd=path)
    assert "Success" in run([*uv, "mypy", "--strict", "."], cwd=path).stdout
    assert "Contracts: 2 kept, 0 broken." in run([*uv, "lint-imports"], cwd=path).stdout
    started = time.perf_counter()
    suite = run_suite(path)
    print(f"{variant.name}: {passed(suite)} passed in {time.perf_counter() - started:.0f} s")
    assert "Required test coverage of 100% reached" in suite
    for module in ("test_invoices_api.py", "test_purchase_order_lines_api.py"):
        assert f"tests/integration/{module}::" in suite
    if variant.answers.get("rls", variant.database == "postgresql"):
        assert "tests/rls/test_invoices_isolation.py" in suite


def run_suite(path: Path) -> str:
    """The service's suite (its migration tests run `alembic upgrade head` and `alembic
    check`), verbose enough to name each test module."""
    env = clean_env()
    if "sqlite" in (path / ".copier-answers.yml").read_text():
        env.pop("DATABASE_URL", None)
    result = subprocess.run(
        ["uv", "run", "pytest", "-p", "no:randomly", "-rA", "-q"],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result.stdout


def passed(output: str) -> int:
    match = re.search(r"(\d+) passed", output)
    assert match is not None, output[-2000:]
    return int(match.group(1))

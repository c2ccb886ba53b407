"""The resource generator (`generate=resource`): run in a rendered service, it adds an
owned resource with its own answers file; bad answers are refused and write nothing.

What it writes is checked in the deep tests (tests/test_deep.py: their projects carry
two generated resources) and its updates in tests/test_update.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

from tests.support import MINIMAL, ROOT, add_resource, run

pytestmark = pytest.mark.render


def render_service(destination: Path, answers: dict[str, Any]) -> None:
    run_copy(str(ROOT), destination, data=answers, defaults=True, unsafe=True, vcs_ref="HEAD")
    run(["git", "init", "--quiet"], cwd=destination)
    run(["git", "add", "--all"], cwd=destination)
    commit(destination, "rendered")


def commit(path: Path, message: str) -> None:
    identity = ["-c", "user.name=Meta Test", "-c", "user.email=meta-test@example.com"]
    run(["git", *identity, "commit", "--quiet", "--message", message], cwd=path)


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
    commit(path, "a feature of our own")
    return path


def test_an_empty_folder_is_not_a_service(tmp_path: Path) -> None:
    data = {"package_name": "my_api", "resource_singular": "invoice"}
    with pytest.raises(ValueError, match=re.escape("no src/my_api/main.py here")):
        add_resource(tmp_path, data)
    assert list(tmp_path.iterdir()) == []


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
        ({"resource_fields": {"price": "money"}}, "unknown type 'money'"),
        ({"resource_fields": {"json": "int"}}, "have that name already"),
        ({"resource_fields": {"datetime": "datetime"}}, "have that name already"),
        ({"resource_fields": {"title": "str(20) unique unique"}}, "a flag given twice"),
        ({"resource_fields": {"create": "enum(a, b)"}}, "is another class's name"),
        ({"resource_fields": {"kind": "enum(only) unique"}}, "an enum of one value"),
        (
            {
                "resource_singular": "a_long_name_for_a_resource",
                "resource_fields": {"x" * 40: "int unique"},
            },
            "over PostgreSQL's 63 characters",
        ),
        ({"resource_fields": {"owner_id": "uuid"}}, "have that name already"),
        ({"resource_fields": {"created_at": "datetime"}}, "have that name already"),
        ({"resource_fields": {"title": "str"}}, "needs its maximum length"),
        ({"resource_fields": {"title": "str(200) required"}}, "unknown flag 'required'"),
        ({"resource_fields": {"state": "enum(Open, closed)"}}, "enum values are lowercase"),
        ({"resource_fields": {"price": "decimal(2, 5)"}}, "precision is 1 to 38"),
        # What `--data 'resource_fields={price: decimal(12, 2)}'` gives YAML: the flow
        # mapping ends the value at the comma.
        ({"resource_fields": {"price": "decimal(12", "2)": None}}, "is cut at a comma"),
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


def test_the_answers_file_is_the_resources_own(service: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    run(["git", "clone", "--quiet", str(service), str(copy)], cwd=tmp_path)
    add_resource(copy, MINIMAL)
    answers = (copy / ".copier-answers.resource-purchase_order_lines.yml").read_text()
    assert "resource_singular: purchase_order_line" in answers
    assert "generate: resource" in answers
    # The service's own answers file is untouched: `copier update` of the service still works.
    assert "generate: service" in (copy / ".copier-answers.yml").read_text()
    changed = run(["git", "status", "--porcelain"], cwd=copy).stdout
    assert ".copier-answers.yml" not in changed.split()
    routes = copy / "src" / "my_api" / "purchase_order_lines" / "routes.py"
    assert 'APIRouter(prefix="/purchase-order-lines"' in routes.read_text()
    # The same resource again is refused: it is updated, not copied twice.
    run(["git", "add", "--all"], cwd=copy)
    commit(copy, "purchase order lines")
    with pytest.raises(ValueError, match="was generated here already"):
        add_resource(copy, MINIMAL)
    assert git_status(copy) == ""
    main = (copy / "src" / "my_api" / "main.py").read_text()
    assert main.count("purchase_order_lines_router, prefix") == 1

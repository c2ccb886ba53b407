"""Join a generated resource to the service's shared files, once, at `copier copy`.

    python wire_resource.py PACKAGE PLURAL CLASS ONE MANY UNIQUE_FIELD_COUNT

(CLASS, ONE and MANY as extensions/resource.py names them: Invoice, invoice, invoices.)

Run by Copier as a task in the service's folder. It adds what a new feature needs in
the shared files (the README's "Adding an owned resource" lists them):

- `src/<package>/models.py`: the model, where Alembic looks;
- `src/<package>/auth/scopes.py`: `<plural>:read` and `<plural>:write`, in the scope
  table and among the scopes a new account holds;
- `src/<package>/feature_errors.py`: the resource's exceptions and their responses;
- `src/<package>/main.py`: the router;
- `pyproject.toml`: the package in the import layers, beside `items`.

These files are the service's, not the resource's (Copier writes whole files), so they
are edited here, once; after that they belong to the service, and `copier update` of the
service merges them as any edit of yours. The lines go in at the end of their block and
the service's own ruff (beside Copier: the generator's command installs it) sorts and
formats them. A file without the block to add to is named, with what to add by hand, and
the script exits 1.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

LINE_LENGTH = 100  # the service's (ruff)


def add_import(source: str, module: str, names: str) -> str:
    """Add `from <module> import <names>` after the file's last relative import."""
    imports = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.ImportFrom) and node.level == 1
    ]
    if not imports:
        raise LookupError("no relative import to place it beside")
    lines = source.splitlines(keepends=True)
    end = imports[-1].end_lineno or imports[-1].lineno
    return "".join([*lines[:end], f"from {module} import {names}\n", *lines[end:]])


def add_to_literal(source: str, variable: str, entries: list[str]) -> str:
    """Add entries (source text) at the end of the literal assigned to `variable`."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == variable for t in targets):
                lines = source.splitlines(keepends=True)
                end = (node.end_lineno or node.lineno) - 1
                block = "".join(f"    {entry},\n" for entry in entries)
                before, closing = lines[end][:-2], lines[end][-2:]  # "...)" and ")\n"
                if not before.strip():  # the bracket on a line of its own
                    return "".join([*lines[:end], block, *lines[end:]])
                comma = "" if before.rstrip().endswith(("(", "[", "{", ",")) else ","
                lines[end] = f"{before.rstrip()}{comma}\n{block}{closing}"
                return "".join(lines)
    raise LookupError(f"no {variable} to add to")


def add_router(source: str, plural: str) -> str:
    """Include the router after the last router the app serves under API_PREFIX."""
    includes = list(
        re.finditer(r"^( +)app\.include_router\(\w+, prefix=API_PREFIX.*\n", source, re.M)
    )
    if not includes:
        raise LookupError("no app.include_router(..., prefix=API_PREFIX, ...) line")
    last = includes[-1]
    arguments = f"{plural}_router, prefix=API_PREFIX, responses=UNAVAILABLE"
    line = f"{last.group(1)}app.include_router({arguments})\n"
    return source[: last.end()] + line + source[last.end() :]


def add_layer(source: str, plural: str) -> str:
    """Put the package in the import layer of `items` (or of `accounts`)."""
    for feature in ("items", "accounts"):
        pattern = rf'^(\s*"[^"\n]*\b{feature}\b[^"\n]*)(",?\s*)$'
        if match := re.search(pattern, source, re.MULTILINE):
            layer = f"{match.group(1)} | {plural}{match.group(2)}"
            return source[: match.start()] + layer + source[match.end() :]
    raise LookupError("no import layer with items or accounts")


def edits(
    package: str, plural: str, cls: str, one: str, many: str, unique: bool
) -> dict[str, Callable[[str], str]]:
    """Each shared file, and how it changes."""
    errors = [f"{cls}NotFoundError", *([f"{cls}ConflictError"] if unique else [])]
    responses = [
        f'{errors[0]}: ErrorResponse(status.HTTP_404_NOT_FOUND, "{one.capitalize()} not found")',
        *(
            [f"{errors[1]}: ErrorResponse(status.HTTP_409_CONFLICT, {errors[1]}.detail)"]
            if unique
            else []
        ),
    ]
    write = f'"{plural}:write": "Create, change and delete your {many}"'
    if len(write) + 5 > LINE_LENGTH:  # as the scope table's entry, indented, with its comma
        write = f'"{plural}:write": "Change your {many}"'
    scopes = [f'"{plural}:read": "Read your {many}"', write]
    src = f"src/{package}"

    def models(text: str) -> str:
        return add_to_literal(add_import(text, f".{plural}.models", cls), "__all__", [f'"{cls}"'])

    def scope_table(text: str) -> str:
        text = add_to_literal(text, "SCOPES", scopes)
        return add_to_literal(
            text, "DEFAULT_USER_SCOPES", [f'"{plural}:read"', f'"{plural}:write"']
        )

    def feature_errors(text: str) -> str:
        text = add_import(text, f".{plural}.service", ", ".join(errors))
        return add_to_literal(text, "FEATURE_ERRORS", responses)

    def main(text: str) -> str:
        text = add_import(text, f".{plural}.routes", f"router as {plural}_router")
        return add_router(text, plural)

    return {
        f"{src}/models.py": models,
        f"{src}/auth/scopes.py": scope_table,
        f"{src}/feature_errors.py": feature_errors,
        f"{src}/main.py": main,
        "pyproject.toml": lambda text: add_layer(text, plural),
    }


def wire(project: Path, changes: dict[str, Callable[[str], str]]) -> list[str]:
    """Edit the shared files; what could not be done, for the user."""
    left: list[str] = []
    for name, edit in changes.items():
        path = project / name
        try:
            path.write_text(edit(path.read_text()))
        except (OSError, LookupError, SyntaxError, IndexError) as exc:
            left.append(f"{name}: {exc}")
    python = [name for name in changes if name.endswith(".py")]
    ruff = [sys.executable, "-m", "ruff"]
    fix = ["check", "--select=I,RUF022", "--fix", "--quiet"]
    subprocess.run([*ruff, *fix, *python], cwd=project, check=False)
    subprocess.run([*ruff, "format", "--quiet", *python], cwd=project, check=False)
    return left


def already_wired(project: Path, package: str, plural: str) -> bool:
    """A copy over a resource generated before (Copier's recopy) changes nothing here."""
    main_module = project / "src" / package / "main.py"
    return main_module.is_file() and f"from .{plural}.routes import" in main_module.read_text()


def main(argv: list[str]) -> int:
    package, plural, cls, one, many, unique_count = argv
    project = Path.cwd()
    if already_wired(project, package, plural):
        return 0
    changes = edits(package, plural, cls, one, many, int(unique_count) > 0)
    left = wire(project, changes)
    for problem in left:
        print(
            f"add {plural} by hand to {problem} (the README's 'Adding an owned resource' says how)",
            file=sys.stderr,
        )
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

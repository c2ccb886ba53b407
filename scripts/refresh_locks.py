"""Refresh the rendered projects' uv.lock files kept in locks/, one per database.

    uv run python scripts/refresh_locks.py            # re-lock after a dependency change
    uv run python scripts/refresh_locks.py --upgrade  # also move to the newest releases

Each variant is rendered from the working tree, locked with uv, and its lock stored with
the project's name replaced by a placeholder that uv.lock.jinja puts back at render time.
"""

import argparse
import importlib.util
import subprocess
import tempfile
from pathlib import Path
from types import ModuleType

from copier import run_copy

ROOT = Path(__file__).resolve().parents[1]
DATABASES = ("postgresql", "sqlite")


def extensions() -> ModuleType:
    """The template's own extensions module, loaded from its file."""
    spec = importlib.util.spec_from_file_location("context", ROOT / "extensions/context.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lock_variant(database: str, placeholder: str, *, upgrade: bool) -> str:
    with tempfile.TemporaryDirectory(prefix="lock-") as folder:
        project = Path(folder) / placeholder
        run_copy(
            str(ROOT),
            project,
            data={"project_name": placeholder, "database": database},
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )
        lock_file = project / "uv.lock"
        if not lock_file.read_text().strip():
            lock_file.unlink()  # the first lock of a new variant: nothing to start from
        command = ["uv", "lock", "--quiet", *(["--upgrade"] if upgrade else [])]
        subprocess.run(command, cwd=project, check=True)
        return lock_file.read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="upgrade every locked package")
    args = parser.parse_args()
    context = extensions()
    placeholder = context.LOCK_PLACEHOLDER
    for database in DATABASES:
        locked = lock_variant(database, placeholder, upgrade=args.upgrade)
        lock = context.lock_for_project(locked, placeholder)
        target = ROOT / "locks" / f"{database}.lock"
        changed = not target.exists() or target.read_text() != lock
        target.write_text(lock)
        print(f"{target.relative_to(ROOT)}: {'updated' if changed else 'unchanged'}")


if __name__ == "__main__":
    main()

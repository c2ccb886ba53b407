"""Fixtures shared by every meta-test."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import Variant


@pytest.fixture(scope="session", autouse=True)
def _no_user_copier_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    # A developer's ~/.config/copier defaults must not leak into the renders.
    settings = tmp_path_factory.mktemp("copier-settings") / "settings.yml"
    settings.write_text("{}\n")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)


# Modules whose tests run longest (minutes: they run rendered suites), handed out first:
# under `-n`, workers take tests in collection order, and a long test taken last would
# leave the other workers idle until it ends.
LONGEST_FIRST = ("tests/test_deep.py", "tests/test_update.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def render_of(copie_session: Any) -> Callable[[Variant], Path]:
    """Each variant rendered once per test process (a render takes seconds), for the
    tests that only read it; a test that changes its render makes its own with `copie`."""
    renders: dict[str, Path] = {}

    def render(variant: Variant) -> Path:
        if variant.name not in renders:
            result = copie_session.copy(extra_answers=variant.answers)
            assert result.exit_code == 0, repr(result.exception)
            renders[variant.name] = Path(result.project_dir)
        return renders[variant.name]

    return render

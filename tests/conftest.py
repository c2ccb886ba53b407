"""Fixtures shared by every meta-test."""

import os

import pytest


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

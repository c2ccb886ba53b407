"""Fixtures shared by every meta-test."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _no_user_copier_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    # A developer's ~/.config/copier defaults must not leak into the renders.
    settings = tmp_path_factory.mktemp("copier-settings") / "settings.yml"
    settings.write_text("{}\n")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)

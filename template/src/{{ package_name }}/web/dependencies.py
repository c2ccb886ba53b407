"""Dependencies every feature's routes share that are not a feature's own."""

from typing import Annotated

from fastapi import Depends, Request

from ..settings import Settings


async def app_settings(request: Request) -> Settings:
    """The settings the running app was created with (tests create apps with their own).

    async: FastAPI runs a plain `def` dependency in the thread pool, a hop per request."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]

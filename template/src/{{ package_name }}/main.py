"""The application factory: `create_app()` for uvicorn (`--factory`), tests and workers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from .auth.errors import OAuth2Error, oauth2_error_response
from .auth.routes import router as auth_router
from .core.config import API_PREFIX, Settings, get_settings
from .core.db import create_sessionmaker
from .core.engine import create_engine, database_url
from .core.errors import install_error_handlers
from .core.logging import configure_logging
from .core.request_id import RequestIdMiddleware
from .health.routes import router as health_router
from .items.routes import router as items_router
from .users.routes import router as users_router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Starting an embedded server blocks for a second: keep it off the event loop.
    url = await anyio.to_thread.run_sync(database_url, settings)
    engine = create_engine(url, settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    try:
        yield
    finally:
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title=settings.project_name,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.settings = settings
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    app.add_exception_handler(OAuth2Error, oauth2_error_response)
    app.include_router(health_router)
    app.include_router(auth_router, prefix=API_PREFIX)
    app.include_router(users_router, prefix=API_PREFIX)
    app.include_router(items_router, prefix=API_PREFIX)
    return app

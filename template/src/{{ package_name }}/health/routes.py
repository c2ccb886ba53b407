"""Liveness (the process answers) and readiness (it can reach its database)."""

import asyncio
import logging

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..core.config import SettingsDep
from ..core.db import SessionDep
from ..core.errors import ErrorBody
from .schemas import HealthStatus

router = APIRouter(prefix="/health", tags=["health"])
logger = logging.getLogger(__name__)


@router.get("/live")
async def live() -> HealthStatus:
    return HealthStatus()


@router.get(
    "/ready",
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": ErrorBody}},
)
async def ready(session: SessionDep, settings: SettingsDep) -> HealthStatus:
    try:
        async with asyncio.timeout(settings.health_timeout_seconds):
            await session.scalar(text("SELECT 1"))
    except (OSError, SQLAlchemyError, TimeoutError) as exc:
        logger.warning("readiness check failed: %s", type(exc).__name__)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unavailable") from exc
    return HealthStatus()

"""Liveness (the process answers) and readiness (it can reach its database)."""

import asyncio
import logging

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..db.session import SessionDep
from ..web.dependencies import SettingsDep
from ..web.errors import ErrorBody
from .schemas import HealthStatus

router = APIRouter(prefix="/health", tags=["health"])
logger = logging.getLogger(__name__)


@router.get("/live")
async def live() -> HealthStatus:
    """Liveness: the process answers.

    Always 200 `{"status": "ok"}` while the process serves; it checks nothing else, the
    database least of all: a failed liveness probe restarts the process, which cures no
    database outage. Probes, as Kubernetes uses them:
    https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/
    """
    return HealthStatus()


@router.get(
    "/ready",
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": ErrorBody}},
)
async def ready(session: SessionDep, settings: SettingsDep) -> HealthStatus:
    """Readiness: the database answers a `SELECT 1`.

    200 `{"status": "ok"}`; 503 when the database cannot be reached, fails, or takes
    longer than HEALTH_TIMEOUT_SECONDS, so that a load balancer or Kubernetes sends no
    traffic here meanwhile. Unauthenticated; it logs the failure's class, never its text.
    """
    try:
        async with asyncio.timeout(settings.health_timeout_seconds):
            await session.scalar(text("SELECT 1"))
    except (OSError, SQLAlchemyError, TimeoutError) as exc:
        logger.warning("readiness check failed: %s", type(exc).__name__)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unavailable") from exc
    return HealthStatus()

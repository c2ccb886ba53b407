"""The operator CLI, installed as the project's script: `uv run <project> --help`."""

from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from alembic import command
from alembic.config import Config

from .core.config import get_settings
from .core.engine import database_url
from .core.logging import configure_logging

app = typer.Typer(help="Run and operate the service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")

ALEMBIC_INI = Path("alembic.ini")


def alembic_config() -> Config:
    if not ALEMBIC_INI.is_file():
        raise typer.BadParameter(f"{ALEMBIC_INI} not found: run this from the project directory")
    settings = get_settings()
    configure_logging(settings.log_level)
    config = Config(str(ALEMBIC_INI))
    # One logging setup for the whole process: ours, not alembic.ini's.
    config.attributes["configure_logger"] = False
    # Resolve the URL here so that an embedded server is started once, by this process.
    config.attributes["database_url"] = database_url(settings)
    return config


@db_app.command()
def upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    command.upgrade(alembic_config(), revision)


@db_app.command()
def downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (default: one step)."""
    command.downgrade(alembic_config(), revision)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
) -> None:
    """Serve the API with uvicorn."""
    if not get_settings().database_url:
        # The local default database is brought up to date, so a fresh checkout just runs.
        typer.echo("DATABASE_URL is unset: using the local database; applying migrations")
        command.upgrade(alembic_config(), "head")
    uvicorn.run(
        f"{__package__}.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
    )

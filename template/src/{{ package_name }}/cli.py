"""The operator CLI, installed as the project's script: `uv run <project> --help`."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from .auth.errors import OAuth2Error
from .auth.service import grant_scopes
from .core.config import Settings, get_settings
from .core.db import create_sessionmaker
from .core.engine import create_engine, database_url
from .core.logging import configure_logging
from .core.scopes import SCOPES
from .core.security import create_access_token
from .users import service as users
from .users.schemas import UserCreate, known_scopes

app = typer.Typer(help="Run and operate the service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Access tokens for local testing.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(token_app, name="token")

ALEMBIC_INI = Path("alembic.ini")


def load_settings() -> Settings:
    """The settings, or a clear message and exit code 2 (e.g. a weak production SECRET_KEY)."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        messages = "; ".join(str(error["msg"]) for error in exc.errors())
        typer.echo(f"Invalid settings: {messages}", err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level)
    return settings


def alembic_config() -> Config:
    if not ALEMBIC_INI.is_file():
        raise typer.BadParameter(f"{ALEMBIC_INI} not found: run this from the project directory")
    settings = load_settings()
    config = Config(str(ALEMBIC_INI))
    # One logging setup for the whole process: ours, not alembic.ini's.
    config.attributes["configure_logger"] = False
    # Resolve the URL here so that an embedded server is started once, by this process.
    config.attributes["database_url"] = database_url(settings)
    return config


def with_session[T](work: Callable[[AsyncSession, Settings], Awaitable[T]]) -> T:
    """Run `work` with a database session, from synchronous CLI code."""
    settings = load_settings()
    url = database_url(settings)

    async def main() -> T:
        engine = create_engine(url, settings)
        try:
            async with create_sessionmaker(engine)() as session:
                return await work(session, settings)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def checked_scopes(scopes: list[str]) -> list[str]:
    try:
        return known_scopes(scopes)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{exc}; known: {', '.join(SCOPES)}", param_hint="--scope"
        ) from exc


@db_app.command()
def upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    command.upgrade(alembic_config(), revision)


@db_app.command()
def downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (default: one step)."""
    command.downgrade(alembic_config(), revision)


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="Login email")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted when omitted"
        ),
    ],
    scope: Annotated[
        list[str] | None, typer.Option(help="A scope to grant (repeat); default: the usual ones")
    ] = None,
    full_name: Annotated[str | None, typer.Option(help="Display name")] = None,
) -> None:
    """Create an account, e.g. the first administrator."""
    try:
        data = UserCreate(email=email, password=password, full_name=full_name)
    except ValidationError as exc:
        messages = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(messages) from exc
    scopes = checked_scopes(scope) if scope else None

    async def create(session: AsyncSession, _settings: Settings) -> str:
        try:
            user = await users.create_user(session, data, scopes)
        except users.EmailTakenError as exc:
            raise typer.BadParameter(
                f"{email} is already registered", param_hint="--email"
            ) from exc
        return f"created {user.email} ({user.id}) with scopes: {' '.join(user.scopes)}"

    typer.echo(with_session(create))


@users_app.command("list")
def list_users(
    limit: Annotated[int, typer.Option(min=1, help="How many")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="How many to skip")] = 0,
) -> None:
    """List accounts: id, email, active, scopes."""

    async def rows(session: AsyncSession, _settings: Settings) -> list[str]:
        found, total = await users.list_users(session, limit, offset)
        lines = [
            f"{user.id}  {user.email}  {'active' if user.is_active else 'inactive'}  "
            f"{' '.join(user.scopes)}"
            for user in found
        ]
        return [*lines, f"{len(found)} of {total} users"]

    for line in with_session(rows):
        typer.echo(line)


@token_app.command("mint")
def mint_token(
    email: Annotated[str, typer.Option(help="Whose token")],
    scope: Annotated[
        list[str] | None, typer.Option(help="A scope (repeat); default: all held")
    ] = None,
) -> None:
    """Print an access token for an account, without its password (not in production)."""

    async def mint(session: AsyncSession, settings: Settings) -> str:
        if settings.environment == "production":
            raise typer.BadParameter("token mint is for local testing; refused in production")
        user = await users.get_user_by_email(session, email)
        if user is None:
            raise typer.BadParameter(f"no account for {email}", param_hint="--email")
        try:
            scopes = grant_scopes(checked_scopes(scope or []), user.scopes)
        except OAuth2Error as exc:
            raise typer.BadParameter(exc.description, param_hint="--scope") from exc
        return create_access_token(settings, user.id, scopes)

    typer.echo(with_session(mint))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
) -> None:
    """Serve the API with uvicorn."""
    if not load_settings().database_url:
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

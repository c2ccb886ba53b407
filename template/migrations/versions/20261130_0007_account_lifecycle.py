"""Account lifecycle: credentials versions, verified emails, single-use account tokens,
and a notification on every change that revokes tokens.

Its parent is 0005, not 0006: like 0005, it stays apart from the Row-Level Security
branch, which 0008 joins (see 0005's docstring for why).

`account_changed` is PostgreSQL's LISTEN/NOTIFY channel that each process of the service
listens on (users/revocation.py): an account deactivated, demoted, deleted or given a new
password, by the service, the CLI or plain SQL, drops out of every process's view of
accounts at once.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The payload is the account's id; "*" after a TRUNCATE: every account.
NOTIFY_FUNCTION = """
CREATE FUNCTION account_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('account_changed', '*');
    ELSE
        PERFORM pg_notify('account_changed', OLD.id::text);
    END IF;
    RETURN NULL;
END
$$
"""
TRIGGERS = {
    "user_account_changed": (
        'AFTER UPDATE OF is_active, scopes, credentials_version OR DELETE ON "user" FOR EACH ROW'
    ),
    "user_accounts_truncated": 'AFTER TRUNCATE ON "user" FOR EACH STATEMENT',
}


def on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("credentials_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True)))
    op.create_table(
        "account_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_digest"),
    )
    op.create_index(op.f("ix_account_token_user_id"), "account_token", ["user_id"])
    if on_postgresql():
        op.execute(NOTIFY_FUNCTION)
        for name, when in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION account_changed_notify()")


def downgrade() -> None:
    if on_postgresql():
        for name in TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON "user"')
        op.execute("DROP FUNCTION IF EXISTS account_changed_notify()")
    op.drop_index(op.f("ix_account_token_user_id"), table_name="account_token")
    op.drop_table("account_token")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("email_verified_at")
        batch.drop_column("credentials_version")

"""Login throttling: attempts per account and per client address, shared by every worker.

Its parent is 0003, not 0004: with Row-Level Security, 0004 and this revision are two
branches that 0006 joins, so that a project turning RLS on later (which adds 0004 to a
database already at this revision) still gets 0004 applied by `db upgrade`.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(op.f("ix_login_throttle_window_started"), "login_throttle", ["window_started"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_throttle_window_started"), table_name="login_throttle")
    op.drop_table("login_throttle")

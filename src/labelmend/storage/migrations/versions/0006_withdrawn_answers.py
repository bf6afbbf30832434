"""Answers withdrawn in the annotation tool are kept, marked with when a pull found them gone.

An answer deleted in Label Studio after a pull recorded it used to count as a vote for
good. ``withdrawn_at`` marks it instead of deleting it: the answer stays in the store
(who said what, and when it was withdrawn), and no longer counts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        batch.drop_column("withdrawn_at")

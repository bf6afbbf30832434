"""Score runs computed from Parquet shards: no stored prediction run, a source and files.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("score_runs") as batch:
        batch.alter_column("prediction_run_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("source", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("score_files", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("score_runs") as batch:
        batch.drop_column("score_files")
        batch.drop_column("source")
        batch.alter_column("prediction_run_id", existing_type=sa.Integer(), nullable=False)

"""Feature sets for ``labelmend fit`` (stored in blocks or referenced) and run provenance.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feature_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        sa.Column("n_features", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=True),
        sa.Column("id_column", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_feature_sets_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_sets")),
        sa.UniqueConstraint(
            "dataset_id",
            "name",
            "file_hash",
            name=op.f("uq_feature_sets_dataset_id_name_file_hash"),
        ),
    )
    op.create_table(
        "feature_blocks",
        sa.Column("feature_set_id", sa.Integer(), nullable=False),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("sample_ids", sa.LargeBinary(), nullable=False),
        sa.Column("features", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feature_set_id"],
            ["feature_sets.id"],
            name=op.f("fk_feature_blocks_feature_set_id_feature_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feature_set_id", "block", name=op.f("pk_feature_blocks")),
    )
    with op.batch_alter_table("prediction_runs") as batch:
        batch.add_column(sa.Column("provenance", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prediction_runs") as batch:
        batch.drop_column("provenance")
    op.drop_table("feature_blocks")
    op.drop_table("feature_sets")

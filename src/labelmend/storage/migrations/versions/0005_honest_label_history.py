"""Label history holds expert decisions only, each with the probability it is wrong.

The sources ``import`` and ``model`` were declared but never written (an imported label is
the sample's ``given_label``; no command lets a model set a label), so the check allows
``annotation`` and ``manual`` only, and ``old_label`` (always the label replaced) is not
null. ``p_wrong`` stores the deciding aggregation's uncertainty; rows written before stay
NULL, counted as 0 as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    odd = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM label_history "
            "WHERE source NOT IN ('annotation', 'manual') OR old_label IS NULL"
        )
    )
    if odd:
        raise RuntimeError(
            f"label_history holds {odd} row(s) with source 'import' or 'model' or no "
            "old_label; no labelmend command writes them. Delete or fix them, then migrate."
        )
    with op.batch_alter_table("label_history") as batch:
        batch.drop_constraint(op.f("ck_label_history_source"), type_="check")
        batch.create_check_constraint(
            op.f("ck_label_history_source"), "source IN ('annotation', 'manual')"
        )
        batch.alter_column("old_label", existing_type=sa.Integer(), nullable=False)
        batch.add_column(sa.Column("p_wrong", sa.Float(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_label_history_p_wrong"), "p_wrong >= 0 AND p_wrong <= 1"
        )


def downgrade() -> None:
    with op.batch_alter_table("label_history") as batch:
        batch.drop_constraint(op.f("ck_label_history_p_wrong"), type_="check")
        batch.drop_column("p_wrong")
        batch.alter_column("old_label", existing_type=sa.Integer(), nullable=True)
        batch.drop_constraint(op.f("ck_label_history_source"), type_="check")
        batch.create_check_constraint(
            op.f("ck_label_history_source"),
            "source IN ('import', 'annotation', 'manual', 'model')",
        )

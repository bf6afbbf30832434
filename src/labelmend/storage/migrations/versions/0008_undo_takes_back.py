"""``label undo`` takes a decision back instead of adding one.

An undo is recorded as its own row (source ``undo``) naming the decision it takes back
(``undoes``, unique: a decision is taken back once); the decision that counts is a
sample's newest one not taken back. No row changes: undos recorded before this revision
were written as decisions (source ``manual``, external_ref ``undo:ID``) and stay decisions,
which a new ``label undo`` takes back like any other.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDO_ROW = "(source = 'undo' AND undoes IS NOT NULL) OR (source <> 'undo' AND undoes IS NULL)"


def upgrade() -> None:
    with op.batch_alter_table("label_history") as batch:
        batch.add_column(sa.Column("undoes", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_label_history_undoes_label_history"),
            "label_history",
            ["undoes"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint(op.f("uq_label_history_undoes"), ["undoes"])
        batch.drop_constraint(op.f("ck_label_history_source"), type_="check")
        batch.create_check_constraint(
            op.f("ck_label_history_source"), "source IN ('annotation', 'manual', 'undo')"
        )
        batch.create_check_constraint(op.f("ck_label_history_undo"), UNDO_ROW)


def downgrade() -> None:
    undos = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM label_history WHERE undoes IS NOT NULL")
    )
    if undos:
        raise RuntimeError(
            f"label_history holds {undos} undo row(s); the previous schema cannot say which "
            "decision an undo took back. Keep this revision."
        )
    with op.batch_alter_table("label_history") as batch:
        batch.drop_constraint(op.f("ck_label_history_undo"), type_="check")
        batch.drop_constraint(op.f("ck_label_history_source"), type_="check")
        batch.create_check_constraint(
            op.f("ck_label_history_source"), "source IN ('annotation', 'manual')"
        )
        batch.drop_constraint(op.f("uq_label_history_undoes"), type_="unique")
        batch.drop_constraint(op.f("fk_label_history_undoes_label_history"), type_="foreignkey")
        batch.drop_column("undoes")

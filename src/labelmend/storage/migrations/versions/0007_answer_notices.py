"""What a pull said about an answer is kept, so that it is said once.

Every pull listed the same old rejected answers (a class outside the dataset's, an empty
answer, a skip) again, as new. ``answer_notices`` keeps each one with when it was first
reported; later pulls count it as still rejected.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(length=50), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sample_id", sa.String(length=255), nullable=True),
        sa.Column("annotator", sa.String(length=200), nullable=True),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('rejected', 'not_applied')", name=op.f("ck_answer_notices_kind")
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_answer_notices_queue_id_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_notices")),
        sa.UniqueConstraint(
            "queue_id",
            "tool",
            "external_id",
            "kind",
            name=op.f("uq_answer_notices_queue_id_tool_external_id_kind"),
        ),
    )


def downgrade() -> None:
    op.drop_table("answer_notices")

"""Initial schema: datasets, samples, label history, predictions, scores, queues, annotations.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:59:25.620999
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("name", name=op.f("uq_datasets_name")),
    )
    op.create_table(
        "prediction_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_prediction_runs_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_runs")),
        sa.UniqueConstraint(
            "dataset_id",
            "model",
            "file_hash",
            name=op.f("uq_prediction_runs_dataset_id_model_file_hash"),
        ),
    )
    op.create_table(
        "samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("given_label", sa.Integer(), nullable=False),
        sa.Column("current_label", sa.Integer(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_samples_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_samples")),
        sa.UniqueConstraint(
            "dataset_id", "external_id", name=op.f("uq_samples_dataset_id_external_id")
        ),
    )
    op.create_table(
        "label_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("old_label", sa.Integer(), nullable=True),
        sa.Column("new_label", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "source IN ('import', 'annotation', 'manual', 'model')",
            name=op.f("ck_label_history_source"),
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["samples.id"],
            name=op.f("fk_label_history_sample_id_samples"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_history")),
    )
    op.create_index(
        op.f("ix_label_history_sample_id"), "label_history", ["sample_id"], unique=False
    )
    op.create_table(
        "prediction_blocks",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("sample_ids", sa.LargeBinary(), nullable=False),
        sa.Column("probs", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["prediction_runs.id"],
            name=op.f("fk_prediction_blocks_run_id_prediction_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "block", name=op.f("pk_prediction_blocks")),
    )
    op.create_table(
        "score_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("prediction_run_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=50), nullable=False),
        sa.Column("difficulty", sa.String(length=50), nullable=False),
        sa.Column("estimated_errors", sa.Float(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_score_runs_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prediction_run_id"],
            ["prediction_runs.id"],
            name=op.f("fk_score_runs_prediction_run_id_prediction_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_runs")),
    )
    op.create_table(
        "queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("score_run_id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=50), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_queues_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["score_run_id"],
            ["score_runs.id"],
            name=op.f("fk_queues_score_run_id_score_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("dataset_id", "name", name=op.f("uq_queues_dataset_id_name")),
    )
    op.create_table(
        "scores",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Integer(), nullable=False),
        sa.Column("suggested_label", sa.Integer(), nullable=False),
        sa.Column("p_error", sa.Float(), nullable=False),
        sa.Column("correctness", sa.Float(), nullable=False),
        sa.Column("difficulty", sa.Float(), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["score_runs.id"],
            name=op.f("fk_scores_run_id_score_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["samples.id"],
            name=op.f("fk_scores_sample_id_samples"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "sample_id", name=op.f("pk_scores")),
    )
    op.create_index(op.f("ix_scores_run_id_rank"), "scores", ["run_id", "rank"], unique=False)
    op.create_table(
        "queue_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("external_task_id", sa.String(length=255), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'annotated', 'resolved', 'skipped')",
            name=op.f("ck_queue_items_status"),
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_queue_items_queue_id_queues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["samples.id"],
            name=op.f("fk_queue_items_sample_id_samples"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_items")),
        sa.UniqueConstraint("queue_id", "position", name=op.f("uq_queue_items_queue_id_position")),
        sa.UniqueConstraint(
            "queue_id", "sample_id", name=op.f("uq_queue_items_queue_id_sample_id")
        ),
    )
    op.create_index(
        op.f("ix_queue_items_external_task_id"), "queue_items", ["external_task_id"], unique=False
    )
    op.create_index(op.f("ix_queue_items_sample_id"), "queue_items", ["sample_id"], unique=False)
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("queue_item_id", sa.Integer(), nullable=True),
        sa.Column("annotator", sa.String(length=200), nullable=False),
        sa.Column("label", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(length=50), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["queue_item_id"],
            ["queue_items.id"],
            name=op.f("fk_annotations_queue_item_id_queue_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["samples.id"],
            name=op.f("fk_annotations_sample_id_samples"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
        sa.UniqueConstraint("tool", "external_id", name=op.f("uq_annotations_tool_external_id")),
    )
    op.create_index(
        op.f("ix_annotations_queue_item_id"), "annotations", ["queue_item_id"], unique=False
    )
    op.create_index(op.f("ix_annotations_sample_id"), "annotations", ["sample_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_annotations_sample_id"), table_name="annotations")
    op.drop_index(op.f("ix_annotations_queue_item_id"), table_name="annotations")
    op.drop_table("annotations")
    op.drop_index(op.f("ix_queue_items_sample_id"), table_name="queue_items")
    op.drop_index(op.f("ix_queue_items_external_task_id"), table_name="queue_items")
    op.drop_table("queue_items")
    op.drop_index(op.f("ix_scores_run_id_rank"), table_name="scores")
    op.drop_table("scores")
    op.drop_table("queues")
    op.drop_table("score_runs")
    op.drop_table("prediction_blocks")
    op.drop_index(op.f("ix_label_history_sample_id"), table_name="label_history")
    op.drop_table("label_history")
    op.drop_table("samples")
    op.drop_table("prediction_runs")
    op.drop_table("datasets")

"""The relabelling store's tables, as typed SQLAlchemy 2.0 models.

Labels are stored as class indices into the owning dataset's ordered ``classes``.
The schema changes only through the Alembic migrations in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Where an expert's decision came from: answers to a queue, or a decision by hand. The
#: label a sample was imported with is its ``given_label``, not a history row.
LABEL_SOURCES = ("annotation", "manual")
#: A queue item's life: pending -> sent -> annotated -> resolved; skipped when every
#: expert who opened its task skipped it (an answer later makes it annotated).
QUEUE_STATUSES = ("pending", "sent", "annotated", "resolved", "skipped")
#: Samples per stored block of predicted probabilities.
PREDICTION_BLOCK_ROWS = 65_536
#: Bytes of feature values per stored block: rows per block = this // (8 D), at least 1.
FEATURE_BLOCK_BYTES = 1 << 24
#: Statuses of items still waiting for a decision.
OPEN_STATUSES = ("pending", "sent", "annotated")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond: rows written in the same second keep their order
    (SQLite's own clock counts whole seconds)."""
    return datetime.now(UTC)


def timestamp() -> Any:
    """A row's time: :func:`utcnow` from the ORM, the server's clock for bulk inserts."""
    return mapped_column(DateTime(timezone=True), default=utcnow, server_default=func.now())


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name every constraint."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Dataset(Base):
    """A labelled dataset: a name and its ordered class names."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    classes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = timestamp()


class Sample(Base):
    """One sample: its external id, the label it came with and the label it has now."""

    __tablename__ = "samples"
    __table_args__ = (UniqueConstraint("dataset_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    given_label: Mapped[int] = mapped_column(Integer)
    current_label: Mapped[int] = mapped_column(Integer)
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON, nullable=True)


class LabelChange(Base):
    """Append-only label history: one row per expert decision, a change of the sample's
    current label or a confirmation of it (``old_label == new_label``).

    ``p_wrong`` is the probability that the decided label is wrong, as the aggregation
    that decided it estimates it (0 for a trusted expert or a clear plurality); None on
    rows written before it was stored, counted as 0.
    """

    __tablename__ = "label_history"
    __table_args__ = (
        CheckConstraint(_in("source", LABEL_SOURCES), name="source"),
        CheckConstraint("p_wrong >= 0 AND p_wrong <= 1", name="p_wrong"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), index=True)
    old_label: Mapped[int] = mapped_column(Integer)
    new_label: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    p_wrong: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = timestamp()

    @property
    def changed(self) -> bool:
        """False for a confirmation: the decision kept the label."""
        return self.old_label != self.new_label


class PredictionRun(Base):
    """A model's predicted probabilities for every sample of a dataset, imported once."""

    __tablename__ = "prediction_runs"
    __table_args__ = (UniqueConstraint("dataset_id", "model", "file_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the imported file, or of the provenance of a run made by ``labelmend fit``.
    file_hash: Mapped[str] = mapped_column(String(64))
    n_samples: Mapped[int] = mapped_column(Integer)
    #: For a fitted run: model, model file hash, folds, seed, feature set, label snapshot.
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = timestamp()


class PredictionBlock(Base):
    """A block of a run's probabilities: up to :data:`PREDICTION_BLOCK_ROWS` samples.

    ``sample_ids`` holds the samples' primary keys (little-endian int64) and ``probs``
    their (rows, K) probabilities in class order (little-endian float64). Probabilities
    are only ever read whole, for scoring, so blocks make a million-row import take
    seconds instead of a minute.
    """

    __tablename__ = "prediction_blocks"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("prediction_runs.id", ondelete="CASCADE"), primary_key=True
    )
    block: Mapped[int] = mapped_column(Integer, primary_key=True)
    n_rows: Mapped[int] = mapped_column(Integer)
    sample_ids: Mapped[bytes] = mapped_column(LargeBinary)
    probs: Mapped[bytes] = mapped_column(LargeBinary)


class FeatureSet(Base):
    """An (N, D) feature matrix for a dataset's samples, stored in blocks or referenced.

    A set imported with ``--reference`` keeps its values in the Parquet file ``source``
    (checked against ``file_hash`` when read); otherwise they live in
    :class:`FeatureBlock` rows.
    """

    __tablename__ = "feature_sets"
    __table_args__ = (UniqueConstraint("dataset_id", "name", "file_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    file_hash: Mapped[str] = mapped_column(String(64))
    n_samples: Mapped[int] = mapped_column(Integer)
    n_features: Mapped[int] = mapped_column(Integer)
    #: A referenced Parquet file and its id column; None when the values are stored.
    source: Mapped[str | None] = mapped_column(String(1000))
    id_column: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = timestamp()


class FeatureBlock(Base):
    """A block of a feature set: ``n_rows`` samples' primary keys and (rows, D) values.

    ``sample_ids`` little-endian int64, ``features`` little-endian float64 in row order;
    a block holds at most :data:`FEATURE_BLOCK_BYTES` of values.
    """

    __tablename__ = "feature_blocks"

    feature_set_id: Mapped[int] = mapped_column(
        ForeignKey("feature_sets.id", ondelete="CASCADE"), primary_key=True
    )
    block: Mapped[int] = mapped_column(Integer, primary_key=True)
    n_rows: Mapped[int] = mapped_column(Integer)
    sample_ids: Mapped[bytes] = mapped_column(LargeBinary)
    features: Mapped[bytes] = mapped_column(LargeBinary)


class ScoreRun(Base):
    """A scoring of a prediction run's probabilities against the labels of that moment."""

    __tablename__ = "score_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    #: None for a run scored from Parquet shards (see ``source``).
    prediction_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("prediction_runs.id", ondelete="CASCADE")
    )
    method: Mapped[str] = mapped_column(String(50))
    difficulty: Mapped[str] = mapped_column(String(50))
    estimated_errors: Mapped[float] = mapped_column(Float)
    #: Where a sharded run's probabilities came from; its per-sample score files.
    source: Mapped[str | None] = mapped_column(String(1000))
    score_files: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = timestamp()

    prediction_run: Mapped[PredictionRun | None] = relationship()


class Score(Base):
    """One sample's scores in a run; ``label`` is the label that was scored."""

    __tablename__ = "scores"
    __table_args__ = (Index(None, "run_id", "rank"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("score_runs.id", ondelete="CASCADE"), primary_key=True
    )
    sample_id: Mapped[int] = mapped_column(
        ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[int] = mapped_column(Integer)
    suggested_label: Mapped[int] = mapped_column(Integer)
    p_error: Mapped[float] = mapped_column(Float)
    correctness: Mapped[float] = mapped_column(Float)
    difficulty: Mapped[float] = mapped_column(Float)
    priority: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))


class Queue(Base):
    """A named relabel queue, drawn from one score run."""

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    score_run_id: Mapped[int] = mapped_column(ForeignKey("score_runs.id", ondelete="CASCADE"))
    strategy: Mapped[str] = mapped_column(String(50))
    #: ``tool:project`` the queue was pushed to, e.g. ``label-studio:12``.
    external_project: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = timestamp()


class QueueItem(Base):
    """A sample waiting in a queue; ``external_task_id`` is its task in an annotation tool."""

    __tablename__ = "queue_items"
    __table_args__ = (
        UniqueConstraint("queue_id", "position"),
        UniqueConstraint("queue_id", "sample_id"),
        CheckConstraint(_in("status", QUEUE_STATUSES), name="status"),
        Index(None, "external_task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    external_task_id: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = timestamp()


class Annotation(Base):
    """One annotator's answer for a sample; ``(tool, external_id)`` makes re-imports idempotent."""

    __tablename__ = "annotations"
    __table_args__ = (UniqueConstraint("tool", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), index=True)
    queue_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("queue_items.id", ondelete="SET NULL"), index=True
    )
    annotator: Mapped[str] = mapped_column(String(200))
    label: Mapped[int] = mapped_column(Integer)
    tool: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = timestamp()

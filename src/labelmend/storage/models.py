"""The relabelling store's rows as typed SQLAlchemy 2.0 ORM classes.

Each class is mapped onto its table in :mod:`labelmend.storage.schema`, the one schema
definition (columns, keys, constraints and their documentation live there); the
annotations below only type the attributes. The writing commands use these classes;
``labelmend status`` reads the tables without the ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from labelmend.storage import schema


class Base(DeclarativeBase):
    """Declarative base over :data:`labelmend.storage.schema.metadata`."""

    metadata = schema.metadata


class Dataset(Base):
    """A labelled dataset: a name and its ordered class names."""

    __table__ = schema.datasets

    id: Mapped[int]
    name: Mapped[str]
    classes: Mapped[list[str]]
    created_at: Mapped[datetime]


class Sample(Base):
    """One sample: its external id, the label it came with and the label it has now."""

    __table__ = schema.samples

    id: Mapped[int]
    dataset_id: Mapped[int]
    external_id: Mapped[str]
    given_label: Mapped[int]
    current_label: Mapped[int]
    meta: Mapped[dict[str, Any] | None]


class LabelChange(Base):
    """One row of the append-only label history: an expert's decision (a change or a
    confirmation), or an undo (source ``undo``) taking the decision ``undoes`` back."""

    __table__ = schema.label_history

    id: Mapped[int]
    sample_id: Mapped[int]
    old_label: Mapped[int]
    new_label: Mapped[int]
    source: Mapped[str]
    p_wrong: Mapped[float | None]
    actor: Mapped[str | None]
    reason: Mapped[str | None]
    external_ref: Mapped[str | None]
    created_at: Mapped[datetime]
    undoes: Mapped[int | None]

    @property
    def changed(self) -> bool:
        """False for a confirmation: the decision kept the label."""
        return self.old_label != self.new_label


class PredictionRun(Base):
    """A model's predicted probabilities for every sample of a dataset, imported once."""

    __table__ = schema.prediction_runs

    id: Mapped[int]
    dataset_id: Mapped[int]
    model: Mapped[str]
    file_hash: Mapped[str]
    n_samples: Mapped[int]
    provenance: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class PredictionBlock(Base):
    """A block of a run's probabilities (see :data:`labelmend.storage.schema.prediction_blocks`)."""

    __table__ = schema.prediction_blocks

    run_id: Mapped[int]
    block: Mapped[int]
    n_rows: Mapped[int]
    sample_ids: Mapped[bytes]
    probs: Mapped[bytes]


class FeatureSet(Base):
    """An (N, D) feature matrix for a dataset's samples, stored in blocks or referenced."""

    __table__ = schema.feature_sets

    id: Mapped[int]
    dataset_id: Mapped[int]
    name: Mapped[str]
    file_hash: Mapped[str]
    n_samples: Mapped[int]
    n_features: Mapped[int]
    source: Mapped[str | None]
    id_column: Mapped[str | None]
    created_at: Mapped[datetime]


class FeatureBlock(Base):
    """A block of a feature set's values (see :data:`labelmend.storage.schema.feature_blocks`)."""

    __table__ = schema.feature_blocks

    feature_set_id: Mapped[int]
    block: Mapped[int]
    n_rows: Mapped[int]
    sample_ids: Mapped[bytes]
    features: Mapped[bytes]


class ScoreRun(Base):
    """A scoring of a prediction run's probabilities against the labels of that moment."""

    __table__ = schema.score_runs

    id: Mapped[int]
    dataset_id: Mapped[int]
    prediction_run_id: Mapped[int | None]
    method: Mapped[str]
    difficulty: Mapped[str]
    estimated_errors: Mapped[float]
    source: Mapped[str | None]
    score_files: Mapped[list[str] | None]
    created_at: Mapped[datetime]

    prediction_run: Mapped[PredictionRun | None] = relationship()


class Score(Base):
    """One sample's scores in a run; ``label`` is the label that was scored."""

    __table__ = schema.scores

    run_id: Mapped[int]
    sample_id: Mapped[int]
    label: Mapped[int]
    suggested_label: Mapped[int]
    p_error: Mapped[float]
    correctness: Mapped[float]
    difficulty: Mapped[float]
    priority: Mapped[float]
    rank: Mapped[int]
    reason: Mapped[str]


class Queue(Base):
    """A named relabel queue, drawn from one score run."""

    __table__ = schema.queues

    id: Mapped[int]
    dataset_id: Mapped[int]
    name: Mapped[str]
    score_run_id: Mapped[int]
    strategy: Mapped[str]
    external_project: Mapped[str | None]
    created_at: Mapped[datetime]


class QueueItem(Base):
    """A sample waiting in a queue; ``external_task_id`` is its task in an annotation tool."""

    __table__ = schema.queue_items

    id: Mapped[int]
    queue_id: Mapped[int]
    sample_id: Mapped[int]
    position: Mapped[int]
    status: Mapped[str]
    external_task_id: Mapped[str | None]
    updated_at: Mapped[datetime]


class Annotation(Base):
    """One annotator's answer for a sample; ``(tool, external_id)`` makes re-imports idempotent.
    ``withdrawn_at`` is set once the answer is gone from its tool (it no longer counts)."""

    __table__ = schema.annotations

    id: Mapped[int]
    sample_id: Mapped[int]
    queue_item_id: Mapped[int | None]
    annotator: Mapped[str]
    label: Mapped[int]
    tool: Mapped[str]
    external_id: Mapped[str | None]
    created_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]


class AnswerNotice(Base):
    """What a pull or an import said about one answer of a queue, so that it is said once."""

    __table__ = schema.answer_notices

    id: Mapped[int]
    queue_id: Mapped[int]
    tool: Mapped[str]
    external_id: Mapped[str]
    kind: Mapped[str]
    sample_id: Mapped[str | None]
    annotator: Mapped[str | None]
    problem: Mapped[str]
    reported_at: Mapped[datetime | None]

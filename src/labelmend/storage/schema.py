"""The relabelling store's tables, in SQLAlchemy Core: the one schema definition.

The ORM classes of :mod:`labelmend.storage.models` are mapped onto these tables; reads
that need no ORM (:mod:`labelmend.storage.reads`, behind ``labelmend status``) use them
directly, which spares importing and configuring the ORM. Labels are stored as class
indices into the owning dataset's ordered ``classes``. The schema changes only through
the Alembic migrations in ``migrations/versions``.

>>> [table.name for table in metadata.sorted_tables][:3]
['datasets', 'feature_sets', 'prediction_runs']
>>> scores.c.p_error.type
Float()
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.types import TypeDecorator

#: Where an expert's decision came from: answers to a queue, or a decision by hand; and
#: ``undo``, the row ``label undo`` writes when it takes a decision back (not a decision).
#: The label a sample was imported with is its ``given_label``, not a history row.
LABEL_SOURCES = ("annotation", "manual", "undo")
#: A queue item's life: pending -> sent -> annotated -> resolved; skipped when every
#: expert who opened its task skipped it (an answer later makes it annotated).
QUEUE_STATUSES = ("pending", "sent", "annotated", "resolved", "skipped")
#: Samples per stored block of predicted probabilities.
PREDICTION_BLOCK_ROWS = 65_536
#: Bytes of feature values per stored block: rows per block = this // (8 D), at least 1.
FEATURE_BLOCK_BYTES = 1 << 24
#: Statuses of items still waiting for a decision: the items a queue calls ``open``.
OPEN_STATUSES = ("pending", "sent", "annotated")
#: The names of a queue's item counts, in the order every command prints them: all its
#: items, the open ones (:data:`OPEN_STATUSES`), then one count per status
#: (:data:`QUEUE_STATUSES`). docs/store.md, "Names of queue counts", defines each.
QUEUE_COUNTS = ("items", "open", *QUEUE_STATUSES)
#: What a pull or an import says about one answer, once: ``rejected`` (unusable, not
#: stored), ``not_applied`` (stored, but its sample was decided before it came).
NOTICE_KINDS = ("rejected", "not_applied")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Every table, with a naming convention so that migrations name every constraint.
metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond: rows written in the same second keep their order
    (SQLite's own clock counts whole seconds)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A time stored in UTC and read back as an aware UTC datetime on every backend.

    SQLite keeps no offset (its text holds the UTC time) and PostgreSQL answers in the
    session's time zone: both are read as UTC, so that every reader prints
    ``2026-01-31T09:30:00+00:00`` whatever the database. A naive time written is UTC.

    >>> UTCDateTime().process_result_value(datetime(2026, 1, 31, 9, 30), None).isoformat()
    '2026-01-31T09:30:00+00:00'
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _as_utc(value)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _timestamp(name: str) -> Column[datetime]:
    """A row's time: :func:`utcnow` from SQLAlchemy, the server's clock for bulk inserts."""
    return Column(name, UTCDateTime(), nullable=False, default=utcnow, server_default=func.now())


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _parent(
    name: str, table: str, *, primary_key: bool = False, index: bool = False
) -> Column[int]:
    """A non-null foreign key to ``table``'s id whose rows go when their parent goes."""
    fk = ForeignKey(f"{table}.id", ondelete="CASCADE")
    return Column(name, fk, nullable=False, primary_key=primary_key, index=index)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


#: An undo row names the decision it takes back; a decision names none.
UNDO_ROW = "(source = 'undo' AND undoes IS NOT NULL) OR (source <> 'undo' AND undoes IS NULL)"


#: A labelled dataset: a name and its ordered class names.
datasets = Table(
    "datasets",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("classes", JSON, nullable=False),
    _timestamp("created_at"),
)

#: One sample: its external id, the label it came with and the label it has now.
samples = Table(
    "samples",
    metadata,
    _id(),
    _parent("dataset_id", "datasets"),
    Column("external_id", String(255), nullable=False),
    Column("given_label", Integer, nullable=False),
    Column("current_label", Integer, nullable=False),
    Column("metadata", JSON, key="meta"),
    UniqueConstraint("dataset_id", "external_id"),
)

#: Append-only label history: one row per expert decision, a change of the sample's
#: current label or a confirmation of it (``old_label == new_label``), and one row per
#: undo (source ``undo``, ``undoes`` the id of the decision it took back; ``new_label``
#: the label it put back). The decision that counts is a sample's newest *standing* one:
#: not an undo, and taken back by none. ``p_wrong`` is the probability that the decided
#: label is wrong, as the aggregation that decided it estimates it (0 for a trusted expert
#: or a clear plurality); NULL on rows written before it was stored, counted as 0.
label_history = Table(
    "label_history",
    metadata,
    _id(),
    _parent("sample_id", "samples", index=True),
    Column("old_label", Integer, nullable=False),
    Column("new_label", Integer, nullable=False),
    Column("source", String(20), nullable=False),
    Column("p_wrong", Float),
    Column("actor", String(200)),
    Column("reason", Text),
    Column("external_ref", String(255)),
    _timestamp("created_at"),
    Column("undoes", ForeignKey("label_history.id", ondelete="CASCADE"), unique=True),
    CheckConstraint(_in("source", LABEL_SOURCES), name="source"),
    CheckConstraint("p_wrong >= 0 AND p_wrong <= 1", name="p_wrong"),
    CheckConstraint(UNDO_ROW, name="undo"),
)

#: A model's predicted probabilities for every sample of a dataset, imported once.
#: ``file_hash``: SHA-256 of the imported file, or of the provenance of a run made by
#: ``labelmend fit``; ``provenance``: for a fitted run, model, model file hash, folds,
#: seed, feature set and label snapshot.
prediction_runs = Table(
    "prediction_runs",
    metadata,
    _id(),
    _parent("dataset_id", "datasets"),
    Column("model", String(200), nullable=False),
    Column("file_hash", String(64), nullable=False),
    Column("n_samples", Integer, nullable=False),
    Column("provenance", JSON),
    _timestamp("created_at"),
    UniqueConstraint("dataset_id", "model", "file_hash"),
)

#: A block of a run's probabilities: up to :data:`PREDICTION_BLOCK_ROWS` samples.
#: ``sample_ids`` holds the samples' primary keys (little-endian int64) and ``probs``
#: their (rows, K) probabilities in class order (little-endian float64).
prediction_blocks = Table(
    "prediction_blocks",
    metadata,
    _parent("run_id", "prediction_runs", primary_key=True),
    Column("block", Integer, primary_key=True),
    Column("n_rows", Integer, nullable=False),
    Column("sample_ids", LargeBinary, nullable=False),
    Column("probs", LargeBinary, nullable=False),
)

#: An (N, D) feature matrix for a dataset's samples, stored in blocks or referenced: a set
#: imported with ``--reference`` keeps its values in the Parquet file ``source`` (with its
#: id column ``id_column``; both NULL when the values are stored).
feature_sets = Table(
    "feature_sets",
    metadata,
    _id(),
    _parent("dataset_id", "datasets"),
    Column("name", String(200), nullable=False),
    Column("file_hash", String(64), nullable=False),
    Column("n_samples", Integer, nullable=False),
    Column("n_features", Integer, nullable=False),
    Column("source", String(1000)),
    Column("id_column", String(200)),
    _timestamp("created_at"),
    UniqueConstraint("dataset_id", "name", "file_hash"),
)

#: A block of a feature set: ``n_rows`` samples' primary keys (little-endian int64) and
#: (rows, D) values (little-endian float64), at most :data:`FEATURE_BLOCK_BYTES` of them.
feature_blocks = Table(
    "feature_blocks",
    metadata,
    _parent("feature_set_id", "feature_sets", primary_key=True),
    Column("block", Integer, primary_key=True),
    Column("n_rows", Integer, nullable=False),
    Column("sample_ids", LargeBinary, nullable=False),
    Column("features", LargeBinary, nullable=False),
)

#: A scoring of a prediction run's probabilities against the labels of that moment.
#: ``prediction_run_id`` is NULL for a run scored from Parquet shards: ``source`` says
#: where their probabilities came from, ``score_files`` lists the per-sample score files.
score_runs = Table(
    "score_runs",
    metadata,
    _id(),
    _parent("dataset_id", "datasets"),
    Column("prediction_run_id", ForeignKey("prediction_runs.id", ondelete="CASCADE")),
    Column("method", String(50), nullable=False),
    Column("difficulty", String(50), nullable=False),
    Column("estimated_errors", Float, nullable=False),
    Column("source", String(1000)),
    Column("score_files", JSON),
    _timestamp("created_at"),
)

#: One sample's scores in a run; ``label`` is the label that was scored.
scores = Table(
    "scores",
    metadata,
    _parent("run_id", "score_runs", primary_key=True),
    _parent("sample_id", "samples", primary_key=True),
    Column("label", Integer, nullable=False),
    Column("suggested_label", Integer, nullable=False),
    Column("p_error", Float, nullable=False),
    Column("correctness", Float, nullable=False),
    Column("difficulty", Float, nullable=False),
    Column("priority", Float, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("reason", String(40), nullable=False),
    Index(None, "run_id", "rank"),
)

#: A named relabel queue, drawn from one score run; ``external_project`` is the
#: ``tool:project`` it was pushed to, e.g. ``label-studio:12``.
queues = Table(
    "queues",
    metadata,
    _id(),
    _parent("dataset_id", "datasets"),
    Column("name", String(200), nullable=False),
    _parent("score_run_id", "score_runs"),
    Column("strategy", String(50), nullable=False),
    Column("external_project", String(255)),
    _timestamp("created_at"),
    UniqueConstraint("dataset_id", "name"),
)

#: A sample waiting in a queue; ``external_task_id`` is its task in an annotation tool.
queue_items = Table(
    "queue_items",
    metadata,
    _id(),
    _parent("queue_id", "queues"),
    _parent("sample_id", "samples", index=True),
    Column("position", Integer, nullable=False),
    Column("status", String(20), nullable=False, default="pending"),
    Column("external_task_id", String(255)),
    _timestamp("updated_at"),
    UniqueConstraint("queue_id", "position"),
    UniqueConstraint("queue_id", "sample_id"),
    CheckConstraint(_in("status", QUEUE_STATUSES), name="status"),
    Index(None, "external_task_id"),
)

#: One annotator's answer for a sample; ``(tool, external_id)`` makes re-imports
#: idempotent. ``withdrawn_at``: when a pull found the answer gone from its tool (deleted
#: there); a withdrawn answer is kept but no longer counts as a vote.
annotations = Table(
    "annotations",
    metadata,
    _id(),
    _parent("sample_id", "samples", index=True),
    Column("queue_item_id", ForeignKey("queue_items.id", ondelete="SET NULL"), index=True),
    Column("annotator", String(200), nullable=False),
    Column("label", Integer, nullable=False),
    Column("tool", String(50), nullable=False),
    Column("external_id", String(255)),
    _timestamp("created_at"),
    Column("withdrawn_at", UTCDateTime()),
    UniqueConstraint("tool", "external_id"),
)

#: What a pull or an import said about one answer of a queue (see :data:`NOTICE_KINDS`),
#: so that it is said once: ``problem`` is why; ``sample_id`` and ``annotator`` are as the
#: tool gave them (a rejected answer may name a sample the store does not have);
#: ``reported_at`` is when a finished pull reported it (NULL: not yet).
answer_notices = Table(
    "answer_notices",
    metadata,
    _id(),
    _parent("queue_id", "queues"),
    Column("tool", String(50), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("sample_id", String(255)),
    Column("annotator", String(200)),
    Column("problem", Text, nullable=False),
    Column("reported_at", UTCDateTime()),
    UniqueConstraint("queue_id", "tool", "external_id", "kind"),
    CheckConstraint(_in("kind", NOTICE_KINDS), name="kind"),
)

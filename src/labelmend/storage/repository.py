"""Repository functions: every read and write of the store, each taking a Session.

The caller owns the transaction (see :func:`labelmend.storage.engine.session_scope`);
nothing here commits. Large reads and writes go through :mod:`labelmend.storage.bulk`
(driver-level COPY / ``executemany`` and cursor reads, inside the same transaction).
Functions that build data frames import pandas themselves: the counts ``labelmend
status`` reads need SQLAlchemy and numpy only, and start faster without it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from labelmend.errors import InputError
from labelmend.storage import reads, schema
from labelmend.storage.bulk import ProgressCallback, bulk_insert, read_frame
from labelmend.storage.models import (
    Annotation,
    AnswerNotice,
    Dataset,
    FeatureBlock,
    FeatureSet,
    LabelChange,
    PredictionBlock,
    PredictionRun,
    Queue,
    QueueItem,
    Sample,
    Score,
    ScoreRun,
)

if TYPE_CHECKING:
    import pandas as pd

# --- datasets -------------------------------------------------------------------------


def create_dataset(session: Session, name: str, classes: Sequence[str]) -> Dataset:
    """Add a dataset; refuses a name already taken."""
    if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
        raise InputError(f"Dataset {name!r} already exists.")
    dataset = Dataset(name=name, classes=list(classes))
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, name: str | None = None, *, lock: bool = False) -> Dataset:
    """The dataset called ``name``, or the only one when ``name`` is None (see
    :func:`labelmend.storage.reads.find_dataset`), as an ORM object.

    ``lock=True`` holds the dataset's row until the transaction ends, so that writers of
    the same dataset (labels, queues) take turns on PostgreSQL; on SQLite every write
    transaction already holds the database's write lock.
    """
    key = reads.find_dataset(session, name).id
    return session.get_one(Dataset, key, with_for_update=True if lock else None)


# --- samples --------------------------------------------------------------------------


def sample_frame(session: Session, dataset: Dataset) -> pd.DataFrame:
    """Every sample of ``dataset``: columns id, external_id, given_label, current_label."""
    return read_frame(
        session,
        select(Sample.id, Sample.external_id, Sample.given_label, Sample.current_label)
        .where(Sample.dataset_id == dataset.id)
        .order_by(Sample.id),
    )


def sample_metadata(session: Session, dataset: Dataset) -> pd.Series:
    """The metadata (a dict or None) of every sample of ``dataset``, by external id."""
    frame = read_frame(
        session,
        select(Sample.external_id, Sample.meta.label("metadata")).where(
            Sample.dataset_id == dataset.id
        ),
    )
    return frame.set_index("external_id")["metadata"].map(
        lambda value: json.loads(value) if isinstance(value, str) else value
    )


def insert_samples(
    session: Session,
    dataset: Dataset,
    external_ids: Sequence[str],
    labels: npt.NDArray[np.intp],
    metadata_json: Sequence[str | None],
    *,
    progress: ProgressCallback | None = None,
) -> None:
    """Add new samples (ids not yet in the dataset), their current label = given label."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "dataset_id": dataset.id,
            "external_id": list(external_ids),
            "given_label": labels,
            "current_label": labels,
            "metadata": list(metadata_json),
        }
    )
    bulk_insert(session, schema.samples.name, frame, progress=progress)


def get_sample(
    session: Session, dataset: Dataset, external_id: str, *, lock: bool = False
) -> Sample:
    """One sample by its external id."""
    query = select(Sample).where(Sample.dataset_id == dataset.id, Sample.external_id == external_id)
    if lock:
        query = query.with_for_update()
    sample = session.scalar(query)
    if sample is None:
        raise InputError(f"No sample {external_id!r} in dataset {dataset.name!r}.")
    return sample


def record_decision(
    session: Session,
    sample: Sample,
    label: int,
    *,
    source: str,
    actor: str | None,
    reason: str | None,
    external_ref: str | None = None,
    p_wrong: float = 0.0,
) -> LabelChange:
    """Apply an expert's decided label: the history gains the change (or, when the label
    stays, the confirmation: ``change.changed`` is False) and the sample leaves every
    queue it waits in. The one way answers and hand decisions — a pull, a file of
    answers, ``label set`` — reach a sample (``label undo`` takes one back:
    :func:`record_undo`).

    ``p_wrong`` is the probability that the decision is wrong, from the aggregation that
    made it (see :class:`labelmend.cleaner.aggregate.Consensus`); 0 for a trusted expert.
    """
    change = LabelChange(
        sample_id=sample.id,
        old_label=sample.current_label,
        new_label=label,
        source=source,
        actor=actor,
        reason=reason,
        external_ref=external_ref,
        p_wrong=p_wrong,
    )
    sample.current_label = label
    session.add(change)
    session.flush()
    resolve_open_items(session, sample)
    return change


def history_of(session: Session, sample: Sample) -> list[LabelChange]:
    """A sample's label history, oldest first: its decisions and undos."""
    return list(
        session.scalars(
            select(LabelChange)
            .where(LabelChange.sample_id == sample.id)
            .order_by(LabelChange.created_at, LabelChange.id)
        )
    )


def standing_decisions(session: Session, sample: Sample) -> list[LabelChange]:
    """A sample's decisions that no undo took back, oldest first; the newest counts."""
    return list(
        session.scalars(
            select(LabelChange)
            .where(LabelChange.sample_id == sample.id, reads.standing())
            .order_by(LabelChange.created_at, LabelChange.id)
        )
    )


def record_undo(
    session: Session,
    sample: Sample,
    decision: LabelChange,
    *,
    actor: str | None,
    reason: str | None,
) -> int:
    """Take ``decision`` (the sample's newest standing one) back: the history gains an undo
    row naming it, and the sample gets the label the decision replaced. When no decision
    of the sample stands afterwards, its resolved queue items are open again (see
    :func:`reopen_items`). Nothing is erased. Returns how many items were reopened."""
    undo = LabelChange(
        sample_id=sample.id,
        old_label=sample.current_label,
        new_label=decision.old_label,
        source="undo",
        actor=actor,
        reason=reason,
        undoes=decision.id,
    )
    sample.current_label = decision.old_label
    session.add(undo)
    session.flush()
    return 0 if standing_decisions(session, sample) else reopen_items(session, sample)


def reopen_items(session: Session, sample: Sample) -> int:
    """An undecided sample waits again in the queues that resolved it: each of its
    ``resolved`` items goes back to the status it had, ``annotated`` when answers to it
    are recorded (counted or set aside by the undo: it was answered and waits for another
    vote), else ``sent`` when it has a task in an annotation tool, else ``pending``.
    Returns how many items were reopened."""
    answered = select(Annotation.id).where(Annotation.queue_item_id == QueueItem.id).exists()
    reopened = 0
    for status, where in (
        ("annotated", answered),
        ("sent", ~answered & QueueItem.external_task_id.is_not(None)),
        ("pending", ~answered & QueueItem.external_task_id.is_(None)),
    ):
        done = session.execute(
            update(QueueItem)
            .where(QueueItem.sample_id == sample.id, QueueItem.status == "resolved", where)
            .values(status=status, updated_at=func.now())
        )
        reopened += int(done.rowcount or 0)  # type: ignore[attr-defined]
    return reopened


def newest_label_change(session: Session, dataset: Dataset) -> int | None:
    """Id of the dataset's newest label change (history is append-only: a label snapshot)."""
    return session.scalar(
        select(func.max(LabelChange.id))
        .join(Sample, Sample.id == LabelChange.sample_id)
        .where(Sample.dataset_id == dataset.id)
    )


def last_changes(session: Session, dataset: Dataset) -> pd.DataFrame:
    """The newest standing decision of every decided sample: sample_id, source, actor,
    reason, at."""
    import pandas as pd

    rows = session.execute(
        select(
            LabelChange.sample_id,
            LabelChange.source,
            LabelChange.actor,
            LabelChange.reason,
            LabelChange.created_at,
        ).where(LabelChange.id.in_(reads.newest_changes(dataset)))
    ).all()
    return pd.DataFrame(
        rows, columns=["sample_id", "changed_source", "changed_by", "change_reason", "changed_at"]
    )


# --- predictions and scores -----------------------------------------------------------


#: The column that names a prediction run (its model) and a feature set.
_NAME_COLUMN: dict[type, Any] = {PredictionRun: PredictionRun.model, FeatureSet: FeatureSet.name}


def _newest_named(
    session: Session,
    table: type[PredictionRun] | type[FeatureSet],
    dataset: Dataset,
    name: str,
    file_hash: str | None = None,
) -> Any:
    """The newest row of ``table`` named ``name`` (a run's model, a feature set's name),
    with ``file_hash`` if given, or None."""
    named = _NAME_COLUMN[table]
    query = select(table).where(table.dataset_id == dataset.id, named == name)
    if file_hash is not None:
        query = query.where(table.file_hash == file_hash)
    return session.scalar(query.order_by(table.id.desc()).limit(1))


def _latest_named(
    session: Session,
    table: type[PredictionRun] | type[FeatureSet],
    dataset: Dataset,
    name: str | None,
    *,
    parameter: str,
    none: str,
    several: str,
    missing: str,
) -> Any:
    """The newest row of ``table`` named ``name``, or of the only name when ``name`` is
    None. Refuses with ``none`` (no row at all), ``several`` (no name given, several
    stored; it names the callers' ``parameter`` that picks one) or ``missing`` (no row
    named so); ``{names}`` and ``{name!r}`` are filled in."""
    named = _NAME_COLUMN[table]
    names = sorted(session.scalars(select(named).where(table.dataset_id == dataset.id).distinct()))
    if not names:
        raise InputError(none)
    if name is None and len(names) > 1:
        raise InputError(several.format(names=names), inputs=(parameter,))
    found = _newest_named(session, table, dataset, names[0] if name is None else name)
    if found is None:
        raise InputError(missing.format(name=name, names=names))
    return found


def find_prediction_run(
    session: Session, dataset: Dataset, model: str, file_hash: str | None = None
) -> PredictionRun | None:
    """The newest run of ``model`` (with ``file_hash``, if given), or None."""
    run: PredictionRun | None = _newest_named(session, PredictionRun, dataset, model, file_hash)
    return run


def latest_prediction_run(session: Session, dataset: Dataset, model: str | None) -> PredictionRun:
    """The newest prediction run of ``model``, or of the only model when ``model`` is None."""
    run: PredictionRun = _latest_named(
        session,
        PredictionRun,
        dataset,
        model,
        parameter="model",
        none=f"Dataset {dataset.name!r} has no predictions; run `labelmend import predictions`.",
        several="Several models have predictions {names}; name one with model.",
        missing="No predictions of model {name!r}; found models {names}.",
    )
    return run


def add_prediction_run(
    session: Session,
    dataset: Dataset,
    *,
    model: str,
    file_hash: str,
    sample_ids: npt.NDArray[np.int64],
    probs: npt.NDArray[np.float64],
    provenance: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> PredictionRun:
    """Store a model's (N, K) probabilities for the samples with primary keys ``sample_ids``.

    ``provenance`` says how a fitted run was made (model, folds, seed, label snapshot).
    """

    run = PredictionRun(
        dataset_id=dataset.id,
        model=model,
        file_hash=file_hash,
        n_samples=len(sample_ids),
        provenance=provenance,
    )
    session.add(run)
    session.flush()
    blocks = _blocks({"run_id": run.id}, sample_ids, probs, schema.PREDICTION_BLOCK_ROWS, "probs")
    bulk_insert(session, schema.prediction_blocks.name, blocks, progress=progress)
    return run


def load_probabilities(
    session: Session, run: PredictionRun, n_classes: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A run's (sample primary keys (N,), probabilities (N, K)), ordered by sample key."""
    query = (
        select(PredictionBlock.sample_ids, PredictionBlock.probs)
        .where(PredictionBlock.run_id == run.id)
        .order_by(PredictionBlock.block)
    )
    return _load_blocks(session, query, run.n_samples, n_classes)


def _blocks(
    owner: dict[str, int], sample_ids: Any, values: Any, rows: int, column: str
) -> pd.DataFrame:
    """The rows of a block table (prediction or feature blocks): the ``owner`` id column,
    the block number, ``n_rows``, and per block ``rows`` samples' keys (little-endian
    int64) and their (rows, width) ``values`` as ``column`` (little-endian float64)."""
    import pandas as pd

    keys = np.ascontiguousarray(sample_ids, dtype="<i8")
    starts = range(0, len(keys), rows)
    return pd.DataFrame(
        {
            **owner,
            "block": np.arange(len(starts)),
            "n_rows": [len(keys[i : i + rows]) for i in starts],
            "sample_ids": [keys[i : i + rows].tobytes() for i in starts],
            column: [
                np.ascontiguousarray(values[i : i + rows], dtype="<f8").tobytes() for i in starts
            ],
        }
    )


def _load_blocks(
    session: Session, query: Select[bytes, bytes], n_samples: int, width: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(sample keys (N,), values (N, width)) from a query of (sample_ids, values) blocks in
    block order, ordered by sample key.

    Fills one (N, width) array block by block, streaming the blocks: peak memory is the
    matrix plus one block (nothing is reordered when the blocks hold keys in order).
    """
    keys = np.empty(n_samples, dtype=np.int64)
    values = np.empty((n_samples, width))
    done = 0
    for block_keys, block_values in session.execute(query.execution_options(yield_per=1)):
        rows = np.frombuffer(bytes(block_keys), dtype="<i8")
        keys[done : done + rows.size] = rows
        values[done : done + rows.size] = np.frombuffer(bytes(block_values), dtype="<f8").reshape(
            rows.size, width
        )
        done += rows.size
    if np.all(np.diff(keys) > 0):
        return keys, values
    order = np.argsort(keys, kind="stable")
    return keys[order], values[order]


def find_feature_set(
    session: Session, dataset: Dataset, name: str, file_hash: str | None = None
) -> FeatureSet | None:
    """The newest feature set called ``name`` (with ``file_hash``, if given), or None."""
    found: FeatureSet | None = _newest_named(session, FeatureSet, dataset, name, file_hash)
    return found


def latest_feature_set(session: Session, dataset: Dataset, name: str | None) -> FeatureSet:
    """The newest feature set called ``name``, or of the only name when ``name`` is None."""
    found: FeatureSet = _latest_named(
        session,
        FeatureSet,
        dataset,
        name,
        parameter="features",
        none=f"Dataset {dataset.name!r} has no features; run `labelmend import features FILE`.",
        several="Several feature sets {names}; name one with features.",
        missing="No feature set {name!r}; found {names}.",
    )
    return found


def add_feature_set(
    session: Session,
    dataset: Dataset,
    *,
    name: str,
    file_hash: str,
    sample_ids: npt.NDArray[np.int64],
    n_features: int,
    values: npt.NDArray[np.float64] | None,
    source: str | None = None,
    id_col: str | None = None,
    progress: ProgressCallback | None = None,
) -> FeatureSet:
    """Store (N, D) ``values`` for the samples with primary keys ``sample_ids`` in blocks,
    or (``values`` None) a reference to the Parquet file ``source``."""

    feature_set = FeatureSet(
        dataset_id=dataset.id,
        name=name,
        file_hash=file_hash,
        n_samples=len(sample_ids),
        n_features=n_features,
        source=source,
        id_column=id_col,
    )
    session.add(feature_set)
    session.flush()
    if values is not None:
        rows = max(1, schema.FEATURE_BLOCK_BYTES // (8 * n_features))
        blocks = _blocks({"feature_set_id": feature_set.id}, sample_ids, values, rows, "features")
        bulk_insert(session, schema.feature_blocks.name, blocks, progress=progress)
    return feature_set


def load_feature_blocks(
    session: Session, feature_set: FeatureSet
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A stored set's (sample primary keys (N,), values (N, D)), ordered by sample key."""
    query = (
        select(FeatureBlock.sample_ids, FeatureBlock.features)
        .where(FeatureBlock.feature_set_id == feature_set.id)
        .order_by(FeatureBlock.block)
    )
    return _load_blocks(session, query, feature_set.n_samples, feature_set.n_features)


def add_score_run(
    session: Session,
    dataset: Dataset,
    prediction_run: PredictionRun | None,
    ranking: pd.DataFrame,
    *,
    method: str,
    difficulty: str,
    estimated_errors: float | None = None,
    source: str | None = None,
    score_files: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> ScoreRun:
    """Store a ranking whose ``sample_id`` column holds sample primary keys.

    A sharded run stores only its top rows: it passes the whole dataset's
    ``estimated_errors``, its ``source`` and the per-sample ``score_files``.
    """
    from labelmend.cleaner import RANKING_COLUMNS

    run = ScoreRun(
        dataset_id=dataset.id,
        prediction_run_id=None if prediction_run is None else prediction_run.id,
        method=method,
        difficulty=difficulty,
        estimated_errors=(
            float(ranking["p_error"].sum()) if estimated_errors is None else estimated_errors
        ),
        source=source,
        score_files=None if score_files is None else list(score_files),
    )
    session.add(run)
    session.flush()
    # The ranking's given_label is the label that was scored: the column ``label``.
    scores = ranking[list(RANKING_COLUMNS)].rename(columns={"given_label": "label"})
    scores = scores.assign(reason=scores["reason"].astype(str))
    scores.insert(0, "run_id", run.id)
    # In primary-key order, the table's own index grows at its end.
    scores = scores.sort_values("sample_id", kind="stable")
    bulk_insert(session, schema.scores.name, scores, progress=progress)
    return run


def load_ranking(session: Session, run: reads.Keyed) -> pd.DataFrame:
    """A score run as a ranking (sample_id = primary key, given_label, p_error, rank), by rank."""
    return read_frame(
        session,
        select(Score.sample_id, Score.label.label("given_label"), Score.p_error, Score.rank)
        .where(Score.run_id == run.id)
        .order_by(Score.rank),
    )


# --- queues ---------------------------------------------------------------------------


def get_queue(session: Session, dataset: Dataset, name: str) -> Queue:
    """A queue by name."""
    queue = session.scalar(select(Queue).where(Queue.dataset_id == dataset.id, Queue.name == name))
    if queue is None:
        names = session.scalars(select(Queue.name).where(Queue.dataset_id == dataset.id)).all()
        raise InputError(f"No queue {name!r} in dataset {dataset.name!r}; found {sorted(names)}.")
    return queue


def check_queue_name_free(session: Session, dataset: Dataset, name: str) -> None:
    """Refuse ``name`` when ``dataset`` already has a queue of that name."""
    if session.scalar(select(Queue.id).where(Queue.dataset_id == dataset.id, Queue.name == name)):
        raise InputError(f"Queue {name!r} already exists in dataset {dataset.name!r}.")


def add_queue(
    session: Session,
    dataset: Dataset,
    name: str,
    score_run: reads.Keyed,
    sample_ids: Sequence[int],
    *,
    strategy: str,
) -> Queue:
    """Create a queue holding ``sample_ids`` (primary keys) in that order."""
    import pandas as pd

    check_queue_name_free(session, dataset, name)
    queue = Queue(dataset_id=dataset.id, name=name, score_run_id=score_run.id, strategy=strategy)
    session.add(queue)
    session.flush()
    items = pd.DataFrame(
        {
            "queue_id": queue.id,
            "sample_id": list(sample_ids),
            "position": np.arange(1, len(sample_ids) + 1),
            "status": "pending",
        }
    )
    bulk_insert(session, schema.queue_items.name, items)
    return queue


def queue_frame(
    session: Session,
    queue: Queue,
    *,
    statuses: Sequence[str] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """A queue's items in order, joined with their samples and scores.

    Columns: position, item_id, sample_id, external_id, status, external_task_id,
    given_label, current_label, suggested_label, p_error, reason, metadata.
    """
    # Pick the items first, then join: the plan stays an index walk of at most
    # ``limit`` items whatever the planner believes about the tables' sizes.
    items = select(
        QueueItem.position,
        QueueItem.id,
        QueueItem.sample_id,
        QueueItem.status,
        QueueItem.external_task_id,
    ).where(QueueItem.queue_id == queue.id)
    if statuses is not None:
        items = items.where(QueueItem.status.in_(statuses))
    if limit is not None:
        items = items.order_by(QueueItem.position).limit(limit)
    chosen = items.subquery()
    query = (
        select(
            chosen.c.position,
            chosen.c.id.label("item_id"),
            Sample.id.label("sample_id"),
            Sample.external_id,
            chosen.c.status,
            chosen.c.external_task_id,
            Sample.given_label,
            Sample.current_label,
            Score.suggested_label,
            Score.p_error,
            Score.reason,
            Sample.meta.label("metadata"),
        )
        .join(Sample, Sample.id == chosen.c.sample_id)
        .join(Score, (Score.sample_id == chosen.c.sample_id) & (Score.run_id == queue.score_run_id))
        .order_by(chosen.c.position)
    )
    frame = read_frame(session, query)
    frame["metadata"] = frame["metadata"].map(
        lambda value: json.loads(value) if isinstance(value, str) else value
    )
    return frame


def delete_queue(session: Session, queue: Queue) -> int:
    """Remove a queue and its items; returns the number of items removed.

    Answers recorded for its items stay (their ``queue_item_id`` becomes NULL), and so
    does every label decision in the history.
    """
    item_ids = select(QueueItem.id).where(QueueItem.queue_id == queue.id).scalar_subquery()
    session.execute(
        update(Annotation).where(Annotation.queue_item_id.in_(item_ids)).values(queue_item_id=None)
    )
    removed = session.execute(delete(QueueItem).where(QueueItem.queue_id == queue.id))
    session.execute(delete(Queue).where(Queue.id == queue.id))
    return int(removed.rowcount or 0)  # type: ignore[attr-defined]


def set_item_status(
    session: Session,
    item_ids: Sequence[int],
    status: str,
    *,
    only_from: Sequence[str] | None = None,
) -> None:
    """Move queue items to ``status``; with ``only_from``, only those whose stored status
    is one of them (a status read earlier may have changed since, in another transaction)."""
    if item_ids:
        query = update(QueueItem).where(QueueItem.id.in_(list(item_ids)))
        if only_from is not None:
            query = query.where(QueueItem.status.in_(list(only_from)))
        session.execute(query.values(status=status, updated_at=func.now()))


def set_external_tasks(session: Session, item_ids: Sequence[int], task_ids: Sequence[str]) -> None:
    """Record each item's task in the annotation tool and mark it ``sent``."""
    for item_id, task_id in zip(item_ids, task_ids, strict=True):
        session.execute(
            update(QueueItem)
            .where(QueueItem.id == item_id)
            .values(external_task_id=task_id, status="sent", updated_at=func.now())
        )


def samples_by_key(session: Session, keys: Sequence[int]) -> list[Sample]:
    """Samples by primary key, locked for update (their labels are about to change)."""
    return list(session.scalars(select(Sample).where(Sample.id.in_(list(keys))).with_for_update()))


def latest_probabilities(
    session: Session, dataset: Dataset, keys: Sequence[int]
) -> npt.NDArray[np.float64]:
    """(len(keys), K) probabilities of the newest prediction run, in the order of ``keys``."""
    run = latest_prediction_run(session, dataset, None)
    run_keys, probs = load_probabilities(session, run, len(dataset.classes))
    wanted = np.asarray(keys, dtype=np.int64)
    rows = np.minimum(np.searchsorted(run_keys, wanted), len(run_keys) - 1)
    if np.any(run_keys[rows] != wanted):
        raise InputError("The newest prediction run has no probabilities for some queued samples.")
    return probs[rows]


def resolve_open_items(session: Session, sample: Sample) -> None:
    """A sample decided outside a queue no longer waits in any queue."""
    session.execute(
        update(QueueItem)
        .where(QueueItem.sample_id == sample.id, QueueItem.status.in_(schema.OPEN_STATUSES))
        .values(status="resolved", updated_at=func.now())
    )


def open_votes(session: Session, queue: Queue) -> pd.DataFrame:
    """The recorded votes on ``queue``'s open items: item_id, sample_pk, annotator, label;
    in the order they were recorded. A withdrawn answer is no vote, nor an answer an undo
    set aside (:func:`labelmend.storage.reads.answer_counts`, the one rule)."""
    import pandas as pd

    rows = session.execute(
        select(QueueItem.id, QueueItem.sample_id, Annotation.annotator, Annotation.label)
        .join(Annotation, Annotation.queue_item_id == QueueItem.id)
        .where(
            QueueItem.queue_id == queue.id,
            QueueItem.status.in_(schema.OPEN_STATUSES),
            reads.answer_counts(),
        )
        .order_by(Annotation.id)
    ).all()
    return pd.DataFrame(rows, columns=["item_id", "sample_pk", "annotator", "label"])


def count_annotations(session: Session, queue: Queue, *, withdrawn: bool = False) -> int:
    """Answers recorded for ``queue``'s items that count (with ``withdrawn``: those
    withdrawn in their tool since)."""
    gone = Annotation.withdrawn_at.is_not(None) if withdrawn else Annotation.withdrawn_at.is_(None)
    return int(
        session.scalar(
            select(func.count(Annotation.id))
            .join(QueueItem, Annotation.queue_item_id == QueueItem.id)
            .where(QueueItem.queue_id == queue.id, gone)
        )
        or 0
    )


#: Columns of :func:`withdraw_answers`' frame.
WITHDRAWN_COLUMNS = [
    "item_id", "sample_pk", "status", "annotator", "label", "external_id", "recorded_at"
]  # fmt: skip


def counted_answer_ids(session: Session, queue: Queue, *, tool: str) -> set[str]:
    """External ids of the answers of ``tool`` to ``queue``'s items that count (not
    withdrawn)."""
    return set(
        session.scalars(
            select(Annotation.external_id)
            .join(QueueItem, Annotation.queue_item_id == QueueItem.id)
            .where(
                QueueItem.queue_id == queue.id,
                Annotation.tool == tool,
                Annotation.withdrawn_at.is_(None),
            )
        )
    )


def withdraw_answers(
    session: Session, queue: Queue, *, tool: str, gone: Collection[str]
) -> pd.DataFrame:
    """Mark withdrawn the counted answers of ``tool`` to ``queue``'s items whose external
    id is in ``gone`` (deleted in the tool). The rows stay. Returns those marked now
    (columns :data:`WITHDRAWN_COLUMNS`, the item's status as it was), in the order they
    were recorded.
    """
    import pandas as pd

    rows = session.execute(
        select(
            QueueItem.id,
            QueueItem.sample_id,
            QueueItem.status,
            Annotation.annotator,
            Annotation.label,
            Annotation.external_id,
            Annotation.created_at,
            Annotation.id,
        )
        .join(Annotation, Annotation.queue_item_id == QueueItem.id)
        .where(
            QueueItem.queue_id == queue.id,
            Annotation.tool == tool,
            Annotation.withdrawn_at.is_(None),
        )
        .order_by(Annotation.id)
    ).all()
    marked = [row for row in rows if row.external_id in gone]
    keys = [row[-1] for row in marked]
    now = schema.utcnow()
    for start in range(0, len(keys), 900):  # stay under SQLite's bound-parameter limit
        session.execute(
            update(Annotation)
            .where(Annotation.id.in_(keys[start : start + 900]))
            .values(withdrawn_at=now)
        )
    return pd.DataFrame([row[:-1] for row in marked], columns=WITHDRAWN_COLUMNS)


def items_without_votes(session: Session, item_ids: Sequence[int]) -> list[int]:
    """Those of ``item_ids`` left with no counted answer."""
    wanted = list(dict.fromkeys(int(i) for i in item_ids))
    voted: set[int] = set()
    for start in range(0, len(wanted), 900):
        voted.update(
            session.scalars(
                select(Annotation.queue_item_id).where(
                    Annotation.queue_item_id.in_(wanted[start : start + 900]),
                    Annotation.withdrawn_at.is_(None),
                )
            )
        )
    return [i for i in wanted if i not in voted]


def report_notices(
    session: Session,
    queue: Queue,
    notices: Sequence[dict[str, Any]],
    *,
    tool: str,
    kind: str,
    complete: bool = False,
) -> list[AnswerNotice | None]:
    """Keep what a finished pull or import says about answers (``notices``: dicts with
    external_id, sample_id, annotator, problem) so that it is said once; return, for
    each, the notice of the same problem reported before, or None when it is news (now
    stamped as reported). ``complete``: ``notices`` are all that stand for the queue and
    tool (a pull's whole listing); the others of ``kind`` are forgotten, so that a
    problem that comes back is news again.
    """
    stored = {
        notice.external_id: notice
        for notice in session.scalars(
            select(AnswerNotice).where(
                AnswerNotice.queue_id == queue.id,
                AnswerNotice.tool == tool,
                AnswerNotice.kind == kind,
            )
        )
    }
    now = schema.utcnow()
    before: list[AnswerNotice | None] = []
    said: dict[str, AnswerNotice | None] = {}  # an answer given twice is one notice
    for notice in notices:
        if notice["external_id"] in said:
            before.append(said[notice["external_id"]])
            continue
        known = stored.pop(notice["external_id"], None)
        if known is not None and known.problem == notice["problem"]:
            before.append(said.setdefault(known.external_id, known))
            continue
        said[notice["external_id"]] = None
        if known is None:
            known = AnswerNotice(queue_id=queue.id, tool=tool, kind=kind)
            session.add(known)
        known.external_id = notice["external_id"]
        known.sample_id = notice["sample_id"]
        known.annotator = notice["annotator"]
        known.problem = notice["problem"]
        known.reported_at = now
        before.append(None)
    if complete:
        for gone in stored.values():
            session.delete(gone)
    session.flush()
    return before


def add_pending_notices(
    session: Session, queue: Queue, notices: Sequence[dict[str, Any]], *, tool: str, kind: str
) -> None:
    """Keep notices (dicts with external_id, sample_id, annotator, problem) to report when
    the pull or import that found them finishes (see :func:`take_pending_notices`)."""
    session.add_all(AnswerNotice(queue_id=queue.id, tool=tool, kind=kind, **n) for n in notices)
    session.flush()


def take_pending_notices(
    session: Session, queue: Queue, *, tool: str, kind: str
) -> list[AnswerNotice]:
    """The notices of ``kind`` not reported yet, in the order they were found, now stamped
    as reported: a pull cut off before its end leaves them for the next one."""
    pending = list(
        session.scalars(
            select(AnswerNotice)
            .where(
                AnswerNotice.queue_id == queue.id,
                AnswerNotice.tool == tool,
                AnswerNotice.kind == kind,
                AnswerNotice.reported_at.is_(None),
            )
            .order_by(AnswerNotice.id)
        )
    )
    now = schema.utcnow()
    for notice in pending:
        notice.reported_at = now
    session.flush()
    return pending


def newest_decisions(session: Session, sample_keys: Sequence[int]) -> dict[int, LabelChange]:
    """Each sample's newest standing decision (see :func:`labelmend.storage.reads.standing`),
    by sample primary key (those decided)."""
    keys = list(dict.fromkeys(int(k) for k in sample_keys))
    found: dict[int, LabelChange] = {}
    for start in range(0, len(keys), 900):
        newest = (
            select(func.max(LabelChange.id))
            .where(LabelChange.sample_id.in_(keys[start : start + 900]), reads.standing())
            .group_by(LabelChange.sample_id)
        )
        found.update(
            {
                c.sample_id: c
                for c in session.scalars(select(LabelChange).where(LabelChange.id.in_(newest)))
            }
        )
    return found


def stored_labels(session: Session, external_ids: Sequence[str], *, tool: str) -> dict[str, int]:
    """The label of each answer of ``tool`` already stored, by external id (those found)."""
    return {
        key: label for key, (label, _) in stored_answers(session, external_ids, tool=tool).items()
    }


def stored_answers(
    session: Session, external_ids: Sequence[str], *, tool: str
) -> dict[str, tuple[int, bool]]:
    """Each answer of ``tool`` already stored, by external id (those found): its label and
    whether it is withdrawn."""
    found: dict[str, tuple[int, bool]] = {}
    wanted = list(external_ids)
    for start in range(0, len(wanted), 900):  # stay under SQLite's bound-parameter limit
        rows = session.execute(
            select(Annotation.external_id, Annotation.label, Annotation.withdrawn_at).where(
                Annotation.tool == tool, Annotation.external_id.in_(wanted[start : start + 900])
            )
        )
        found.update({str(key): (int(label), at is not None) for key, label, at in rows})
    return found


def update_annotation_labels(session: Session, labels: dict[str, int], *, tool: str) -> None:
    """Give stored answers of ``tool`` new labels, by external id (an expert changed them):
    each counts again, withdrawn or not before (an answer edited into an unusable one, then
    back)."""
    for external_id, label in labels.items():
        session.execute(
            update(Annotation)
            .where(Annotation.tool == tool, Annotation.external_id == external_id)
            .values(label=label, withdrawn_at=None)
        )


def add_annotations(
    session: Session, rows: Sequence[dict[str, Any]], *, tool: str
) -> list[dict[str, Any]]:
    """Record many annotations at once; return the rows that were new.

    Each row has ``sample_id`` (primary key), ``queue_item_id``, ``annotator``, ``label``
    and ``external_id``. A row whose ``(tool, external_id)`` is stored already, or
    repeats an earlier row, is skipped: re-importing answers never duplicates them, nor
    does another transaction recording the same answers at once (the insert skips what
    it committed meanwhile instead of failing on the unique constraint).
    """
    if not rows:
        return []
    seen = set(stored_labels(session, [row["external_id"] for row in rows], tool=tool))
    new = []
    for row in rows:
        if row["external_id"] not in seen:
            seen.add(row["external_id"])
            new.append(row)
    if not new:
        return []
    table, key = schema.annotations, ["tool", "external_id"]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    else:
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=key)
    statement = statement.returning(table.c.external_id)
    inserted = set(session.scalars(statement, [dict(row, tool=tool) for row in new]))
    return [row for row in new if row["external_id"] in inserted]


# --- reports (read only) --------------------------------------------------------------


def score_details(session: Session, run: reads.Keyed, sample_ids: Sequence[int]) -> pd.DataFrame:
    """Scores of a run for some samples, with the samples' ids, labels and metadata.

    Columns: sample_id, external_id, scored_label, current_label, suggested_label, p_error,
    reason, rank, metadata (a dict or None); in rank order.
    """
    import pandas as pd

    keys = [int(key) for key in sample_ids]
    query = select(
        Score.sample_id,
        Sample.external_id,
        Score.label.label("scored_label"),
        Sample.current_label,
        Score.suggested_label,
        Score.p_error,
        Score.reason,
        Score.rank,
        Sample.meta.label("metadata"),
    ).join(Sample, Sample.id == Score.sample_id)
    parts = [
        read_frame(
            session,
            query.where(Score.run_id == run.id, Score.sample_id.in_(keys[start : start + 900])),
        )
        for start in range(0, len(keys), 900)  # stay under SQLite's bound-parameter limit
    ]
    columns = [column.key for column in query.selected_columns]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    frame["metadata"] = frame["metadata"].map(
        lambda value: json.loads(value) if isinstance(value, str) else value
    )
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)


def annotation_frame(session: Session, dataset: Dataset) -> pd.DataFrame:
    """Every stored answer of a dataset that counts (not withdrawn, not set aside by an
    undo: :func:`labelmend.storage.reads.answer_counts`): columns sample_id, annotator,
    label, at. What ``score`` learns the experts' reliability from and the report's
    annotator agreement reads."""
    return read_frame(
        session,
        select(
            Annotation.sample_id,
            Annotation.annotator,
            Annotation.label,
            Annotation.created_at.label("at"),
        )
        .join(Sample, Sample.id == Annotation.sample_id)
        .where(Sample.dataset_id == dataset.id, reads.answer_counts())
        .order_by(Annotation.id),
    )


def history_frame(session: Session, dataset: Dataset) -> pd.DataFrame:
    """Every standing decision of a dataset (none an undo took back; no undo row), oldest
    first: sample_id, old_label, new_label, source, at."""
    return read_frame(
        session,
        select(
            LabelChange.sample_id,
            LabelChange.old_label,
            LabelChange.new_label,
            LabelChange.source,
            LabelChange.created_at.label("at"),
        )
        .join(Sample, Sample.id == LabelChange.sample_id)
        .where(Sample.dataset_id == dataset.id, reads.standing())
        .order_by(LabelChange.created_at, LabelChange.id),
    )


def queued_scores(session: Session, dataset: Dataset) -> pd.DataFrame:
    """Every queue item with the score it was queued on and its sample's label now.

    Columns: queue, sample_id, status, at (last status change), scored_label, p_error,
    current_label.
    """
    return read_frame(
        session,
        select(
            Queue.name.label("queue"),
            QueueItem.sample_id,
            QueueItem.status,
            QueueItem.updated_at.label("at"),
            Score.label.label("scored_label"),
            Score.p_error,
            Sample.current_label,
        )
        .join(QueueItem, QueueItem.queue_id == Queue.id)
        .join(
            Score, (Score.run_id == Queue.score_run_id) & (Score.sample_id == QueueItem.sample_id)
        )
        .join(Sample, Sample.id == QueueItem.sample_id)
        .where(Queue.dataset_id == dataset.id)
        .order_by(Queue.id, QueueItem.position),
    )

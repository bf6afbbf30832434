"""The relabelling workflow on the store: one function per CLI command.

Each function takes an open :class:`~sqlalchemy.orm.Session` (one transaction, owned by
the caller), validates its input completely before writing anything, and returns a
result for the caller to print. Scores come from :mod:`labelmend.cleaner`; nothing here
computes a score itself.

>>> import tempfile, pathlib, pandas as pd
>>> from labelmend.storage import open_store
>>> with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/x.db") as session:
...     _ = init_dataset(session, "pets", ["cat", "dog"])
...     import_samples(session, pd.DataFrame({"id": ["a", "b"], "label": ["cat", "dog"]})).inserted
2
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from labelmend._validation import check_choice, check_probability_block, check_unique
from labelmend.cleaner import DEFAULT_DIFFICULTY, DEFAULT_METHOD, rank_samples, select_batch
from labelmend.errors import InputError
from labelmend.io import encode_labels, read_table, write_table
from labelmend.storage import repository as repo
from labelmend.storage.models import (
    OPEN_STATUSES,
    Dataset,
    LabelChange,
    Queue,
    ScoreRun,
)

TableSource = str | Path | pd.DataFrame
#: How a queue picks samples: ``top`` in rank order, ``balanced`` at most budget/K per class.
QUEUE_STRATEGIES = ("top", "balanced")


def _read(source: TableSource, id_col: str) -> tuple[pd.DataFrame, str]:
    """The table and a name for messages."""
    if isinstance(source, pd.DataFrame):
        return source, "table"
    return read_table(source, text_columns=[id_col]), str(source)


def _fingerprint(source: TableSource, table: pd.DataFrame) -> str:
    """SHA-256 of a file's bytes, or of a data frame's contents."""
    if isinstance(source, pd.DataFrame):
        digest = hashlib.sha256(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
        digest.update(",".join(map(str, table.columns)).encode())
        return digest.hexdigest()
    sha = hashlib.sha256()
    with Path(source).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _require_columns(table: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{name}: missing column(s) {missing}; found {list(table.columns)}.")


def _ids(table: pd.DataFrame, name: str, id_col: str) -> pd.Series:
    ids = table[id_col]
    if ids.isna().any():
        raise InputError(f"{name}: column {id_col!r} is empty in row {int(ids.isna().argmax())}.")
    as_text = ids.astype(str)
    check_unique(f"{name}: sample ids in column {id_col!r}", as_text.to_numpy(dtype=str))
    return as_text


def parse_classes(spec: str) -> list[str]:
    """Class names from ``"a,b,c"`` or from a file with one name per line.

    >>> parse_classes("cat, dog,fox")
    ['cat', 'dog', 'fox']
    """
    path = Path(spec)
    text = path.read_text().splitlines() if path.is_file() else spec.split(",")
    return [name.strip() for name in text if name.strip()]


def init_dataset(session: Session, name: str, classes: Sequence[str]) -> Dataset:
    """Create a dataset with ordered class names (at least two, all different)."""
    if not name.strip():
        raise InputError("The dataset name is empty.")
    if len(classes) < 2:
        raise InputError(f"A dataset needs at least 2 classes; got {list(classes)}.")
    check_unique("class names", np.asarray(classes, dtype=str))
    return repo.create_dataset(session, name, [str(c) for c in classes])


@dataclass(frozen=True)
class SampleImport:
    """What ``import samples`` did: new samples added, samples already stored unchanged."""

    dataset: str
    inserted: int
    unchanged: int


def import_samples(
    session: Session,
    source: TableSource,
    *,
    dataset: str | None = None,
    id_col: str = "id",
    label_col: str = "label",
    progress: repo.ProgressCallback | None = None,
) -> SampleImport:
    """Add samples from a table: an id column, a label column (class names), metadata.

    Every other column becomes the sample's metadata (an image URL, a text…). Running
    the same import again changes nothing; a file that gives a stored sample another
    label is refused whole.
    """
    table, name = _read(source, id_col)
    _require_columns(table, name, [id_col, label_col])
    found = repo.get_dataset(session, dataset, lock=True)
    ids = _ids(table, name, id_col)
    if table[label_col].isna().any():
        raise InputError(
            f"{name}: column {label_col!r} is empty in row {int(table[label_col].isna().argmax())}."
        )
    try:
        labels = encode_labels(table[label_col].to_numpy(), found.classes)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    stored = repo.sample_frame(session, found).set_index("external_id")["given_label"]
    known = ids.isin(stored.index).to_numpy()
    if known.any():
        stored_labels = stored.reindex(ids[known]).to_numpy()
        clash = stored_labels != labels[known]
        if clash.any():
            first = int(np.argmax(clash))
            sample_id = ids[known].iloc[first]
            raise InputError(
                f"{name}: {int(clash.sum())} sample(s) are already stored with another given "
                f"label (first {sample_id!r}: stored {found.classes[stored_labels[first]]!r}, "
                f"file says {found.classes[labels[known][first]]!r}); nothing was imported. "
                "Change labels with `labelmend label set`."
            )
    new = ~known
    meta_columns = [c for c in table.columns if c not in (id_col, label_col)]
    if meta_columns and new.any():
        meta: Sequence[str | None] = (
            table.loc[new, meta_columns].to_json(orient="records", lines=True).splitlines()
        )
    else:
        meta = [None] * int(new.sum())
    repo.insert_samples(session, found, ids[new].tolist(), labels[new], meta, progress=progress)
    return SampleImport(found.name, int(new.sum()), int(known.sum()))


@dataclass(frozen=True)
class PredictionImport:
    """What ``import predictions`` did; ``created`` is False when the file was already stored."""

    dataset: str
    model: str
    run_id: int
    n_samples: int
    created: bool


def import_predictions(
    session: Session,
    source: TableSource,
    *,
    model: str,
    dataset: str | None = None,
    id_col: str = "id",
    progress: repo.ProgressCallback | None = None,
) -> PredictionImport:
    """Store a model's probabilities: an id column and one column per class, named by class.

    Rows are matched to samples by id, never by position; every sample of the dataset
    must have exactly one row. Importing the same file for the same model again is a no-op.
    """
    table, name = _read(source, id_col)
    _require_columns(table, name, [id_col])
    found = repo.get_dataset(session, dataset, lock=True)
    classes = found.classes
    columns = [str(c) for c in table.columns if c != id_col]
    missing = [c for c in classes if c not in columns]
    extra = [c for c in columns if c not in classes]
    if missing or extra:
        raise InputError(
            f"{name}: expected one probability column per class {classes} besides {id_col!r}; "
            + (f"missing {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown columns {extra}" if extra else "")
            + "."
        )
    probs_frame = table[classes]
    non_numeric = [c for c in classes if not pd.api.types.is_numeric_dtype(probs_frame[c])]
    if non_numeric:
        raise InputError(f"{name}: class columns {non_numeric} are not numeric.")
    ids = _ids(table, name, id_col)
    samples = repo.sample_frame(session, found)
    position = pd.Index(samples["external_id"]).get_indexer(ids)
    if (position < 0).any():
        unknown = ids[position < 0]
        raise InputError(
            f"{name}: {unknown.size} prediction row(s) name ids that are not samples of "
            f"{found.name!r} (first {unknown.iloc[0]!r}); import those samples first."
        )
    if len(ids) != len(samples):
        absent = np.setdiff1d(samples["external_id"].to_numpy(), ids.to_numpy())
        raise InputError(
            f"{name}: has {len(ids)} rows but dataset {found.name!r} has {len(samples)} samples "
            f"(first without predictions {absent[0]!r})."
        )
    probs = probs_frame.to_numpy(dtype=np.float64)
    try:
        check_probability_block(probs)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    fingerprint = _fingerprint(source, table)
    existing = repo.find_prediction_run(session, found, model, fingerprint)
    if existing is not None:
        return PredictionImport(found.name, model, existing.id, existing.n_samples, False)
    sample_keys = samples["id"].to_numpy()[position]
    run = repo.add_prediction_run(
        session,
        found,
        model=model,
        file_hash=fingerprint,
        sample_ids=sample_keys,
        probs=probs,
        progress=progress,
    )
    return PredictionImport(found.name, model, run.id, len(ids), True)


@dataclass(frozen=True)
class ScoreResult:
    """A stored score run and the ranking it holds (labels as class names)."""

    run: ScoreRun
    ranking: pd.DataFrame


def score(
    session: Session,
    *,
    dataset: str | None = None,
    model: str | None = None,
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    progress: repo.ProgressCallback | None = None,
) -> ScoreResult:
    """Score the current labels against a model's newest stored probabilities and store it.

    The ranking engine (:func:`labelmend.cleaner.rank_samples`) does the scoring.
    """
    found = repo.get_dataset(session, dataset, lock=True)
    prediction_run = repo.latest_prediction_run(session, found, model)
    keys, probs = repo.load_probabilities(session, prediction_run, len(found.classes))
    samples = repo.sample_frame(session, found).set_index("id").loc[keys]
    ranking = rank_samples(
        samples["current_label"].to_numpy(),
        probs,
        method=method,
        difficulty=difficulty,
        sample_ids=samples["external_id"].to_numpy(),
    )
    key_of = pd.Series(keys, index=samples["external_id"].to_numpy())
    stored = ranking.assign(sample_id=key_of.loc[ranking["sample_id"]].to_numpy())
    run = repo.add_score_run(
        session,
        found,
        prediction_run,
        stored,
        method=method,
        difficulty=difficulty,
        progress=progress,
    )
    return ScoreResult(run, _named(ranking, found.classes, ["given_label", "suggested_label"]))


def score_shards(
    session: Session,
    source: str | Path,
    *,
    dataset: str | None = None,
    scheduler: Any = None,
    top_k: int = 10_000,
    out: str | Path | None = None,
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    id_col: str = "sample_id",
    label_col: str = "label",
    progress: Callable[[str, int, int], None] | None = None,
) -> ScoreResult:
    """Score a dataset kept as Parquet shards (on a Dask cluster with ``scheduler``).

    :func:`labelmend.scale.rank_dataset` scores every shard; the store receives the run
    (with the whole dataset's estimated errors) and its top ``top_k`` rows in bulk, while
    the per-sample scores stay in Parquet files under ``out``. The shards' own label
    column is what gets scored; every top id must be a sample of the dataset.
    """
    from labelmend.scale import ShardLayout, rank_dataset

    found = repo.get_dataset(session, dataset, lock=True)
    result = rank_dataset(
        str(source),
        scheduler=scheduler,
        out=out,
        top_k=top_k,
        method=method,
        difficulty=difficulty,
        layout=ShardLayout(id_column=id_col, label_column=label_col),
        progress=progress,
    )
    if result.n_classes != len(found.classes):
        raise InputError(
            f"The shards have {result.n_classes} probability columns but dataset "
            f"{found.name!r} has {len(found.classes)} classes."
        )
    samples = repo.sample_frame(session, found)
    key_of = pd.Series(samples["id"].to_numpy(), index=samples["external_id"].to_numpy())
    top = result.top.assign(sample_id=result.top["sample_id"].astype(str))
    unknown = ~top["sample_id"].isin(key_of.index)
    if unknown.any():
        raise InputError(
            f"{int(unknown.sum())} top-ranked shard id(s) are not samples of dataset "
            f"{found.name!r} (first {top.loc[unknown, 'sample_id'].iloc[0]!r}); import them first."
        )
    run = repo.add_score_run(
        session,
        found,
        None,
        top.assign(sample_id=key_of.loc[top["sample_id"]].to_numpy()),
        method=method,
        difficulty=difficulty,
        estimated_errors=result.estimated_errors,
        source=str(source),
        score_files=[str(path) for path in result.score_files],
    )
    return ScoreResult(run, _named(top, found.classes, ["given_label", "suggested_label"]))


def _named(frame: pd.DataFrame, classes: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    lookup = np.asarray(classes, dtype=object)
    return frame.assign(**{c: lookup[frame[c].to_numpy(dtype=np.intp)] for c in columns})


@dataclass(frozen=True)
class QueueResult:
    """A new queue: its size and the expected number of real errors in it."""

    queue: Queue
    n_items: int
    expected_errors: float


def create_queue(
    session: Session,
    name: str,
    *,
    dataset: str | None = None,
    budget: int | None = None,
    fraction: float | None = None,
    strategy: str = "top",
) -> QueueResult:
    """Queue the next ``budget`` samples (or ``fraction`` of the dataset) of the newest scores.

    Samples already queued (and not skipped) or already reviewed are left out; the
    ranking engine's :func:`~labelmend.cleaner.select_batch` picks the rest.
    """
    check_choice("strategy", strategy, QUEUE_STRATEGIES, where="create_queue")
    if (budget is None) == (fraction is None):
        raise InputError("Give exactly one of budget (a count) or fraction (of the dataset).")
    if fraction is not None and not 0.0 < fraction <= 1.0:
        raise InputError(f"fraction must lie in (0, 1]. Got {fraction}.")
    found = repo.get_dataset(session, dataset, lock=True)
    run = repo.latest_score_run(session, found)
    if run is None:
        raise InputError(f"Dataset {found.name!r} has no scores yet; run `labelmend score`.")
    ranking = repo.load_ranking(session, run)
    count = budget if budget is not None else max(1, round(float(fraction or 0) * len(ranking)))
    per_class = None
    if strategy == "balanced":
        per_class = max(1, -(-count // len(found.classes)))
    exclude = repo.queued_sample_ids(session, found) | repo.reviewed_sample_ids(session, found)
    batch = select_batch(ranking, count, exclude=exclude, per_class=per_class)
    queue = repo.add_queue(
        session, found, name, run, batch["sample_id"].tolist(), strategy=strategy
    )
    return QueueResult(queue, len(batch), float(batch["p_error"].sum()))


def queue_items(
    session: Session,
    name: str,
    *,
    dataset: str | None = None,
    limit: int | None = None,
    open_only: bool = True,
) -> pd.DataFrame:
    """A queue's items in order (the open ones by default), labels as class names.

    Columns: position, id, given_label, current_label, suggested_label, p_error, reason,
    status, external_task_id, metadata.
    """
    found = repo.get_dataset(session, dataset)
    queue = repo.get_queue(session, found, name)
    frame = repo.queue_frame(
        session, queue, statuses=OPEN_STATUSES if open_only else None, limit=limit
    )
    frame = _named(frame, found.classes, ["given_label", "current_label", "suggested_label"])
    return frame.rename(columns={"external_id": "id"})[
        [
            "position",
            "id",
            "given_label",
            "current_label",
            "suggested_label",
            "p_error",
            "reason",
            "status",
            "external_task_id",
            "metadata",
        ]
    ]


def export_queue(
    session: Session, name: str, path: str | Path, *, dataset: str | None = None
) -> int:
    """Write every item of a queue to CSV / Parquet / JSONL; returns the number of rows."""
    frame = queue_items(session, name, dataset=dataset, open_only=False)
    frame["metadata"] = frame["metadata"].map(lambda m: None if m is None else str(m))
    write_table(frame, path)
    return len(frame)


def _label_index(found: Dataset, label: str) -> int:
    if label not in found.classes:
        raise InputError(f"Unknown class name {label!r}; expected one of {found.classes}.")
    return found.classes.index(label)


def set_label(
    session: Session,
    sample_id: str,
    label: str,
    *,
    dataset: str | None = None,
    reason: str | None = None,
    actor: str | None = None,
    source: str = "manual",
    external_ref: str | None = None,
) -> LabelChange | None:
    """Change a sample's current label and record who, why and when.

    The sample leaves every queue it waits in. Returns None when the label was already
    ``label`` (nothing recorded).
    """
    found = repo.get_dataset(session, dataset, lock=True)
    new_label = _label_index(found, label)
    sample = repo.get_sample(session, found, sample_id, lock=True)
    change = repo.change_label(
        session,
        sample,
        new_label,
        source=source,
        actor=actor,
        reason=reason,
        external_ref=external_ref,
    )
    repo.resolve_open_items(session, sample)
    return change


def label_history(session: Session, sample_id: str, *, dataset: str | None = None) -> pd.DataFrame:
    """A sample's label changes, oldest first, labels as class names.

    Columns: at, old_label, new_label, source, actor, reason, external_ref.
    """
    found = repo.get_dataset(session, dataset)
    sample = repo.get_sample(session, found, sample_id)
    names = found.classes
    return pd.DataFrame(
        [
            {
                "at": change.created_at,
                "old_label": None if change.old_label is None else names[change.old_label],
                "new_label": names[change.new_label],
                "source": change.source,
                "actor": change.actor,
                "reason": change.reason,
                "external_ref": change.external_ref,
            }
            for change in repo.history_of(session, sample)
        ],
        columns=["at", "old_label", "new_label", "source", "actor", "reason", "external_ref"],
    )


@dataclass(frozen=True)
class AnswerImport:
    """Experts' answers recorded: new annotations, repeats ignored, labels changed."""

    recorded: int
    repeated: int
    changed: int


def record_answers(
    session: Session,
    queue_name: str,
    answers: pd.DataFrame,
    *,
    dataset: str | None = None,
    tool: str,
) -> AnswerImport:
    """Record one expert's answer per queued sample and apply it as the sample's label.

    ``answers`` has columns ``id`` (sample id), ``label`` (class name), ``annotator`` and
    ``external_id`` (unique per ``tool``: an answer seen before is ignored). Each answered
    item is resolved; a changed label enters the history with source ``annotation``.
    Several disagreeing experts per sample are the sync's aggregation, not this function.
    """
    _require_columns(answers, "answers", ["id", "label", "annotator", "external_id"])
    found = repo.get_dataset(session, dataset, lock=True)
    queue = repo.get_queue(session, found, queue_name)
    items = repo.queue_frame(session, queue).set_index("external_id")
    ids = _ids(answers, "answers", "id")
    outside = ~ids.isin(items.index)
    if outside.any():
        raise InputError(
            f"{int(outside.sum())} answer(s) are for samples not in queue {queue_name!r} "
            f"(first {ids[outside].iloc[0]!r})."
        )
    labels = encode_labels(answers["label"].to_numpy(), found.classes)
    keys = repo.sample_frame(session, found).set_index("external_id")["id"]
    rows = [
        {
            "sample_id": int(keys[sample_id]),
            "queue_item_id": int(items.loc[sample_id, "item_id"]),
            "annotator": annotator,
            "label": label,
            "external_id": external_id,
        }
        for sample_id, label, annotator, external_id in zip(
            ids,
            labels.tolist(),
            answers["annotator"].astype(str),
            answers["external_id"].astype(str),
            strict=True,
        )
    ]
    new = repo.add_annotations(session, rows, tool=tool)
    samples = {s.id: s for s in repo.samples_by_key(session, [row["sample_id"] for row in new])}
    changed = 0
    for row in new:
        change = repo.change_label(
            session,
            samples[row["sample_id"]],
            row["label"],
            source="annotation",
            actor=row["annotator"],
            reason=f"answer in queue {queue_name!r}",
            external_ref=f"{tool}:{row['external_id']}",
        )
        changed += change is not None
    recorded, repeated = len(new), len(rows) - len(new)
    resolved = [row["queue_item_id"] for row in new]
    repo.set_item_status(session, resolved, "resolved")
    return AnswerImport(recorded, repeated, changed)


@dataclass(frozen=True)
class DatasetStatus:
    """A dataset's health.

    Attributes
    ----------
    estimated_errors_remaining : Σ p_error of the newest scores over unreviewed samples
    next_batch_expected_errors : Σ p_error of the next ``batch_size`` samples a new queue
        would take
    queues : DataFrame with columns queue, status, items
    """

    dataset: str
    n_samples: int
    n_classes: int
    labels_changed: int
    reviewed: int
    score_run_id: int | None
    estimated_errors_remaining: float | None
    next_batch_expected_errors: float | None
    batch_size: int
    queues: pd.DataFrame


def dataset_status(
    session: Session, *, dataset: str | None = None, batch_size: int = 100
) -> DatasetStatus:
    """Samples, estimated label errors remaining, labels changed, queue progress."""
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1. Got {batch_size}.")
    found = repo.get_dataset(session, dataset)
    samples = repo.sample_frame(session, found)
    reviewed = repo.reviewed_sample_ids(session, found)
    run = repo.latest_score_run(session, found)
    remaining = next_batch = None
    if run is not None:
        ranking = repo.load_ranking(session, run)
        unreviewed = ~ranking["sample_id"].isin(list(reviewed))
        # A sharded run stores only its top rows: start from the whole dataset's estimate.
        remaining = (
            float(ranking.loc[unreviewed, "p_error"].sum())
            if run.source is None
            else run.estimated_errors - float(ranking.loc[~unreviewed, "p_error"].sum())
        )
        exclude = reviewed | repo.queued_sample_ids(session, found)
        next_batch = float(select_batch(ranking, batch_size, exclude=exclude)["p_error"].sum())
    return DatasetStatus(
        dataset=found.name,
        n_samples=len(samples),
        n_classes=len(found.classes),
        labels_changed=int((samples["given_label"] != samples["current_label"]).sum()),
        reviewed=len(reviewed),
        score_run_id=None if run is None else run.id,
        estimated_errors_remaining=remaining,
        next_batch_expected_errors=next_batch,
        batch_size=batch_size,
        queues=repo.queue_progress(session, found),
    )


def export_labels(session: Session, path: str | Path, *, dataset: str | None = None) -> int:
    """Write current labels with provenance to CSV / Parquet / JSONL; returns the row count.

    Columns: id, given_label, current_label, changed, changed_source, changed_by,
    change_reason, changed_at (the newest change; empty for unchanged samples).
    """
    found = repo.get_dataset(session, dataset)
    samples = repo.sample_frame(session, found)
    frame = samples.merge(
        repo.last_changes(session, found), left_on="id", right_on="sample_id", how="left"
    )
    frame["changed"] = frame["given_label"] != frame["current_label"]
    frame = _named(frame, found.classes, ["given_label", "current_label"])
    frame = frame.rename(columns={"external_id": "id_"}).drop(columns=["id", "sample_id"])
    frame = frame.rename(columns={"id_": "id"})
    write_table(
        frame[
            [
                "id",
                "given_label",
                "current_label",
                "changed",
                "changed_source",
                "changed_by",
                "change_reason",
                "changed_at",
            ]
        ],
        path,
    )
    return len(frame)


__all__ = [
    "QUEUE_STRATEGIES",
    "AnswerImport",
    "DatasetStatus",
    "PredictionImport",
    "QueueResult",
    "SampleImport",
    "ScoreResult",
    "create_queue",
    "dataset_status",
    "export_labels",
    "export_queue",
    "import_predictions",
    "import_samples",
    "init_dataset",
    "label_history",
    "parse_classes",
    "queue_items",
    "record_answers",
    "score",
    "set_label",
]

"""``labelmend queue``: relabel queues taken from the newest scores."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from labelmend._validation import check_choice, check_flag
from labelmend.cleaner import select_batch
from labelmend.errors import InputError, UsageError
from labelmend.io import ID_COLUMN, write_table
from labelmend.storage import reads
from labelmend.storage import repository as repo
from labelmend.storage.models import Dataset, Queue
from labelmend.storage.schema import OPEN_STATUSES
from labelmend.workflow._tables import with_class_names
from labelmend.workflow.status import stale_scores

#: How a queue picks samples: ``top`` in rank order, ``balanced`` at most budget/K per class.
QUEUE_STRATEGIES = ("top", "balanced")


@dataclass(frozen=True)
class QueueResult:
    """A new queue: its size and the expected number of real errors in it."""

    queue: Queue
    n_items: int
    expected_errors: float


def check_new_queue(
    session: Session,
    name: str,
    *,
    dataset: str | None = None,
    budget: int | None = None,
    fraction: float | None = None,
    strategy: str = "top",
) -> Dataset:
    """Refuse a queue :func:`create_queue` could not create (a name taken or empty, a
    budget or strategy out of range) before any work; returns its dataset, locked.

    ``active_round`` calls it before its refit, which can take minutes.
    """
    check_choice("strategy", strategy, QUEUE_STRATEGIES)
    if not name.strip():
        raise InputError("The queue name is empty; give it a name, e.g. `queue create week1`.")
    if (budget is None) == (fraction is None):
        raise UsageError(
            "Give exactly one of budget (a count) or fraction (of the dataset).",
            inputs=("budget", "fraction"),
        )
    if budget is not None and budget < 1:
        raise InputError(f"budget must be at least 1 sample. Got {budget}.", inputs=("budget",))
    if fraction is not None and not 0.0 < fraction <= 1.0:
        raise InputError(f"fraction must lie in (0, 1]. Got {fraction}.", inputs=("fraction",))
    found = repo.get_dataset(session, dataset, lock=True)
    repo.check_queue_name_free(session, found, name)
    return found


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

    Samples already queued (and not skipped) or already reviewed are left out, and so are
    those whose score is stale (:func:`~labelmend.workflow.stale_scores`: the run scored a
    label an undo took back since); the ranking engine's :func:`~labelmend.cleaner.select_batch` picks the rest.
    """
    found = check_new_queue(
        session, name, dataset=dataset, budget=budget, fraction=fraction, strategy=strategy
    )
    run = reads.latest_score_run(session, found)
    if run is None:
        raise InputError(f"Dataset {found.name!r} has no scores yet; run `labelmend score`.")
    ranking = repo.load_ranking(session, run)
    count = budget if budget is not None else max(1, round(float(fraction or 0) * len(ranking)))
    per_class = None
    if strategy == "balanced":
        per_class = max(1, -(-count // len(found.classes)))
    stale = stale_scores(session, found, run)
    exclude = (
        reads.queued_sample_ids(session, found) | reads.reviewed_sample_ids(session, found) | stale
    )
    batch = select_batch(ranking, count, exclude=exclude, per_class=per_class)
    if batch.empty:
        raise InputError(
            f"Nothing left to queue: all {len(ranking):,} samples of score run {run.id} are "
            "already queued or reviewed"
            + (f" or scored on a label an undo took back ({len(stale):,})" if stale else "")
            + ". Answer the open queues (`labelmend queue list`), "
            "or import new predictions and run `labelmend score`."
        )
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

    Columns: rank (1 = first in the queue), sample_id (:data:`labelmend.io.ID_COLUMN`),
    given_label, current_label, suggested_label, p_error, reason, status,
    external_task_id, metadata: the names ``queue show``, ``rank``, ``score`` and the
    export use.
    """
    check_flag("open_only", open_only)
    found = repo.get_dataset(session, dataset)
    queue = repo.get_queue(session, found, name)
    frame = repo.queue_frame(
        session, queue, statuses=OPEN_STATUSES if open_only else None, limit=limit
    )
    frame = with_class_names(
        frame, found.classes, ["given_label", "current_label", "suggested_label"]
    )
    # The store's own integer sample key gives way to the sample id users know.
    frame = frame.drop(columns="sample_id")
    return frame.rename(columns={"position": "rank", "external_id": ID_COLUMN})[
        [
            "rank",
            ID_COLUMN,
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
    """Write every item of a queue to CSV / Parquet / JSONL; returns the number of rows.

    Columns: rank (the position in the queue), sample_id, given_label, current_label,
    suggested_label, p_error, reason, status, external_task_id, and one ``meta_<field>``
    column per metadata field.
    """
    frame = queue_items(session, name, dataset=dataset, open_only=False)
    metadata = pd.json_normalize([m or {} for m in frame["metadata"]]).add_prefix("meta_")
    frame = frame.drop(columns="metadata")
    write_table(pd.concat([frame, metadata.set_axis(frame.index)], axis=1), path)
    return len(frame)


def delete_queue(
    session: Session, name: str, *, dataset: str | None = None, force: bool = False
) -> int:
    """Remove a queue and its items; returns the number of items removed.

    A queue with annotated or resolved items (answered or decided) is refused unless
    ``force``.
    Recorded answers and the label history are kept either way.
    """
    check_flag("force", force)
    found = repo.get_dataset(session, dataset, lock=True)
    queue = repo.get_queue(session, found, name)
    items = repo.queue_frame(session, queue)
    counts = reads.queue_counts(Counter(items["status"]))
    if (counts["annotated"] or counts["resolved"]) and not force:
        raise InputError(
            f"Queue {name!r} has {counts['annotated']} annotated and {counts['resolved']} "
            "resolved item(s); deleting it keeps their answers "
            "and label history but loses the queue. Pass force=True to delete it anyway.",
            inputs=("force",),
        )
    return repo.delete_queue(session, queue)

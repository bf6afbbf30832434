"""``labelmend status``, ``datasets`` and ``queue list``: how healthy a dataset's labels are.

:func:`errors_remaining` is the one definition of "estimated label errors remaining"
that ``score``, ``status``, the demo and the report print. Everything here reads counts
and one score run's p_error column with the Core queries of
:mod:`labelmend.storage.reads` (no ORM, no pandas): it runs on a session or on a bare
connection, and ``labelmend status`` starts quickly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import islice, repeat
from typing import TYPE_CHECKING, Any

from labelmend.cleaner.count import ErrorCount, count_errors
from labelmend.errors import InputError
from labelmend.storage import reads

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session


def decided_since_predictions(
    session: Connection | Session, found: reads.Keyed, run: reads.Keyed
) -> dict[int, float]:
    """The samples of dataset ``found`` whose label an expert decided (changed or
    confirmed) after the predictions of score run ``run`` were made — their p_error no
    longer applies: sample key -> the probability that the newest decision is wrong.

    Examples
    --------
    An expert confirmed a's label before the predictions were made, and relabels d
    (sample key 4) after them; only d's decision counts, taken as certain (one trusted
    expert):

    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = ["a", "b", "c", "d"]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat", "cat", "dog", "cat"]})
    >>> probs = pd.DataFrame({"sample_id": ids, "cat": [.9, .8, .1, .1], "dog": [.1, .2, .9, .9]})
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     pets = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     _ = workflow.set_label(session, "a", "cat", actor="ann")
    ...     _ = workflow.import_predictions(session, probs, model="resnet")
    ...     run = workflow.score(session).run
    ...     _ = workflow.set_label(session, "d", "dog", actor="ann")
    ...     decided_since_predictions(session, pets, run)
    {4: 0.0}
    """
    return reads.decisions(session, found, reads.predictions_made_at(session, run))


def stale_scores(
    session: Connection | Session,
    found: reads.Keyed,
    run: reads.ScoreRunLike,
    decided: Mapping[int, float] | None = None,
) -> set[int]:
    """The samples of dataset ``found`` whose p_error in score run ``run`` is stale: the
    run scored a label that an undo took back after it (a slip, scored, then undone), and
    no decision made after the run's predictions stands for them (``decided``, from
    :func:`decided_since_predictions` when the caller has it). Their p_error judged a label
    that is no longer the sample's, so the estimated label errors remaining, the next
    batch and new queues leave them out until ``labelmend score`` scores the label that
    stands. Sample primary keys.
    """
    if decided is None:
        decided = decided_since_predictions(session, found, run)
    return reads.undone_since_scored(session, run) - decided.keys()


def errors_remaining(
    session: Connection | Session,
    found: reads.Keyed,
    run: reads.ScoreRunLike,
    ranking: pd.DataFrame | dict[str, Sequence[Any]] | None = None,
) -> ErrorCount:
    """Estimated label errors remaining after score run ``run``, with a 95 % interval.

    Every sample counts its ``p_error`` from ``run``, except a sample whose label an
    expert decided (changed or confirmed) after the run's predictions were made: its
    p_error judged a label that is no longer in question, so it counts by the decision's
    own uncertainty (0 for a trusted expert or a clear plurality; 1 − the posterior of
    the decided class under Dawid–Skene or CROWDLAB). Ties and answers that decided
    nothing keep their p_error. A sample whose scored label an undo took back after the
    run (:func:`stale_scores`) is left out: its p_error judged a label that no longer
    stands. A run scored from shards stores only its top rows; the others enter as the
    run's remaining total (see :func:`labelmend.cleaner.count.count_errors`).
    ``ranking`` is the run's stored rows (columns sample_id = primary key, p_error; a
    frame, or a dict of lists or arrays) when the caller has them already; otherwise they
    are read from the store.

    >>> import tempfile, pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = ["a", "b", "c", "d"]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat", "cat", "dog", "cat"]})
    >>> probs = pd.DataFrame({"sample_id": ids, "cat": [.9, .8, .1, .1], "dog": [.1, .2, .9, .9]})
    >>> with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/x.db") as s:
    ...     _ = workflow.init_dataset(s, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(s, samples)
    ...     _ = workflow.import_predictions(s, probs, model="m")
    ...     before = workflow.score(s).errors
    ...     _ = workflow.set_label(s, "d", "dog")  # an expert fixes the suspicious one
    ...     after = workflow.dataset_status(s).errors
    >>> print(before, "->", after)
    1.0 (95% interval 0.0–3.8) -> 0.2 (95% interval 0.0–1.7)
    """
    if ranking is None:
        keys, p_error = reads.ranked_p_error(session, run)
    else:
        keys, p_error = _as_list(ranking["sample_id"]), _as_list(ranking["p_error"])
    since = decided_since_predictions(session, found, run)
    rest: dict[str, Any] = {}
    if run.source is not None:
        n_rest = reads.count_samples(session, found) - len(keys)
        # The run's total and the rows' sum differ by rounding when no row is left out.
        rest_sum = min(max(run.estimated_errors - math.fsum(p_error), 0.0), n_rest)
        rest = {"rest_sum": rest_sum, "n_rest": n_rest}
    stale = stale_scores(session, found, run, since)
    if stale:
        kept = [(key, p) for key, p in zip(keys, p_error, strict=True) if key not in stale]
        keys, p_error = [key for key, _ in kept], [p for _, p in kept]
    decided = list(map(since.__contains__, keys))
    p_wrong = list(map(since.get, keys, repeat(0.0)))
    return count_errors(p_error, decided=decided, decided_p_wrong=p_wrong, **rest)


def _as_list(values: Any) -> list[Any]:
    """A column as a list of Python scalars (numpy integers do not match ``int`` keys)."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _next_batch_p_error(
    keys: Sequence[int], p_error: Sequence[float], exclude: set[int], size: int
) -> float:
    """Σ p_error of the next ``size`` samples in rank order that are not in ``exclude``:
    what ``queue create --budget size`` (strategy top) would queue."""
    left = (p for key, p in zip(keys, p_error, strict=True) if key not in exclude)
    return math.fsum(islice(left, size))


@dataclass(frozen=True)
class DatasetStatus:
    """A dataset's health.

    Attributes
    ----------
    reviewed : samples an expert has answered or relabelled (ties included)
    decided : samples whose current label an expert decided (a standing decision in the
        history: answers decided by a pull or a file, ``label set``; not taken back by
        ``label undo``)
    annotated : queue items in status ``annotated``, in every queue: answered, not
        decided (the answers tie: they wait for another vote)
    errors : estimated label errors remaining (see :func:`errors_remaining`): ``expected``
        and its 95% interval ``low``–``high``
    raw_p_error_sum : Σ p_error of the newest score run, before any expert decision
    next_batch_expected_errors : Σ p_error of the next ``batch_size`` samples a new queue
        would take
    queues : every queue, oldest first, as ``queue list`` gives it (:func:`list_queues`):
        its name, strategy, score run, creation time and item counts under the names of
        :data:`~labelmend.storage.schema.QUEUE_COUNTS`
    unscored : samples the newest score run has no p_error for (imported after it):
        ``errors`` and the next batch leave them out (0 for a run scored from shards,
        whose unstored rows enter ``errors`` as its remaining total)
    stale : samples whose p_error in the newest score run is stale (:func:`stale_scores`:
        the run scored a label an undo took back since): ``errors``, the next batch and
        new queues leave them out until ``labelmend score`` runs again
    """

    dataset: str
    n_samples: int
    n_classes: int
    labels_changed: int
    reviewed: int
    decided: int
    annotated: int
    score_run_id: int | None
    errors: ErrorCount | None
    raw_p_error_sum: float | None
    next_batch_expected_errors: float | None
    batch_size: int
    queues: list[dict[str, Any]]
    unscored: int = 0
    stale: int = 0


def dataset_status(
    session: Connection | Session, *, dataset: str | None = None, batch_size: int = 100
) -> DatasetStatus:
    """Samples, estimated label errors remaining, labels changed, queue progress.

    ``session`` is an ORM session or a Core connection (see
    :func:`labelmend.storage.read_connection`).

    Examples
    --------
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = ["a", "b", "c", "d"]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat", "cat", "dog", "cat"]})
    >>> probs = pd.DataFrame({"sample_id": ids, "cat": [.9, .8, .1, .1], "dog": [.1, .2, .9, .9]})
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     _ = workflow.import_predictions(session, probs, model="resnet")
    ...     _ = workflow.score(session)
    ...     before = dataset_status(session, batch_size=2)
    ...     _ = workflow.set_label(session, "d", "dog", actor="ann")  # an expert fixes d
    ...     after = dataset_status(session, batch_size=2)
    >>> before.n_samples, before.labels_changed, before.decided, after.labels_changed, after.decided
    (4, 0, 0, 1, 1)
    >>> print(before.errors, "->", after.errors)
    1.0 (95% interval 0.0–3.8) -> 0.2 (95% interval 0.0–1.7)
    >>> round(before.next_batch_expected_errors, 2), round(after.next_batch_expected_errors, 2)
    (0.93, 0.16)
    """
    if batch_size < 1:
        raise InputError(
            f"batch_size must be at least 1. Got {batch_size}.", inputs=("batch_size",)
        )
    found = reads.find_dataset(session, dataset)
    reviewed = reads.reviewed_sample_ids(session, found)
    run = reads.latest_score_run(session, found)
    n_samples = reads.count_samples(session, found)
    errors = next_batch = None
    unscored = 0
    stale: set[int] = set()
    if run is not None:
        keys, p_error = reads.ranked_p_error(session, run)
        errors = errors_remaining(session, found, run, {"sample_id": keys, "p_error": p_error})
        stale = stale_scores(session, found, run)
        exclude = reviewed | reads.queued_sample_ids(session, found) | stale
        next_batch = _next_batch_p_error(keys, p_error, exclude, batch_size)
        unscored = n_samples - len(keys) if run.source is None else 0
    queues = reads.queue_summaries(session, found)
    return DatasetStatus(
        dataset=found.name,
        n_samples=n_samples,
        n_classes=len(found.classes),
        labels_changed=reads.count_changed_labels(session, found),
        reviewed=len(reviewed),
        decided=len(reads.decisions(session, found)),
        annotated=sum(queue["annotated"] for queue in queues),
        score_run_id=None if run is None else run.id,
        errors=errors,
        raw_p_error_sum=None if run is None else run.estimated_errors,
        next_batch_expected_errors=next_batch,
        batch_size=batch_size,
        queues=queues,
        unscored=unscored,
        stale=len(stale),
    )


def list_datasets(session: Connection | Session) -> list[dict[str, Any]]:
    """The store's datasets, by name: dataset, classes (K), samples, queues, score_runs.

    Examples
    --------
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.init_dataset(session, "birds", ["owl", "tit", "wren"])
    ...     _ = workflow.import_samples(session, pd.DataFrame({"sample_id": ["a"], "label": ["owl"]}),
    ...                                 dataset="birds")
    ...     for row in list_datasets(session):
    ...         print(row)
    {'dataset': 'birds', 'classes': 3, 'samples': 1, 'queues': 0, 'score_runs': 0}
    {'dataset': 'pets', 'classes': 2, 'samples': 0, 'queues': 0, 'score_runs': 0}
    """
    return reads.dataset_summaries(session)


def list_queues(
    session: Connection | Session, *, dataset: str | None = None
) -> list[dict[str, Any]]:
    """The dataset's queues, oldest first: queue, strategy, score_run, created_at and
    item counts (:func:`labelmend.storage.reads.queue_counts`): items, open (pending,
    sent or annotated: waiting for a decision), pending, sent, annotated, resolved,
    skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = ["a", "b", "c", "d"]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat", "cat", "dog", "cat"]})
    >>> probs = pd.DataFrame({"sample_id": ids, "cat": [.9, .8, .1, .1], "dog": [.1, .2, .9, .9]})
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     _ = workflow.import_predictions(session, probs, model="resnet")
    ...     _ = workflow.score(session)
    ...     _ = workflow.create_queue(session, "week-1", budget=2)
    ...     _ = workflow.set_label(session, "d", "dog", actor="ann")  # d decided: resolved
    ...     queues = list_queues(session)
    >>> {key: queues[0][key] for key in ("queue", "score_run", "items", "open", "resolved")}
    {'queue': 'week-1', 'score_run': 1, 'items': 2, 'open': 1, 'resolved': 1}
    """
    return reads.queue_summaries(session, reads.find_dataset(session, dataset))

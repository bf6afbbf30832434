"""The reads behind ``labelmend status``, ``datasets``, ``queue list`` and ``sync answers``,
in SQLAlchemy Core: no ORM, no pandas.

Each function takes a :class:`~sqlalchemy.engine.Connection` or an ORM
:class:`~sqlalchemy.orm.Session` (both run Core statements) and a dataset or score run
given as anything with an ``id`` (an ORM object or a row of :func:`find_dataset` and
:func:`latest_score_run`). The writing commands call the same functions through their
session, so every count has one definition; ``labelmend status`` calls them on a bare
connection (:func:`labelmend.storage.engine.read_connection`) and never imports the ORM.

>>> import tempfile
>>> from labelmend.storage import read_connection, open_store, repository
>>> with tempfile.TemporaryDirectory() as tmp:
...     with open_store(f"sqlite:///{tmp}/x.db") as session:
...         _ = repository.create_dataset(session, "pets", ["cat", "dog"])
...     with read_connection(f"sqlite:///{tmp}/x.db") as connection:
...         found = find_dataset(connection)
...         print(found.name, found.classes, count_samples(connection, found))
pets ['cat', 'dog'] 0
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, Row, Select, func, select

from labelmend.errors import InputError
from labelmend.storage import schema
from labelmend.storage.schema import (
    OPEN_STATUSES,
    QUEUE_STATUSES,
    datasets,
    label_history,
    prediction_runs,
    queue_items,
    queues,
    samples,
    score_runs,
    scores,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Connection
    from sqlalchemy.orm import Session


class Keyed(Protocol):
    """A dataset or score run, as an ORM object or a row: only its primary key is read."""

    @property
    def id(self) -> int: ...


class ScoreRunLike(Keyed, Protocol):
    """A score run (ORM object or row): what counting its errors reads."""

    @property
    def source(self) -> str | None: ...

    @property
    def estimated_errors(self) -> float: ...

    @property
    def created_at(self) -> datetime: ...


def find_dataset(db: Connection | Session, name: str | None = None) -> Row[Any]:
    """The dataset called ``name``, or the only one when ``name`` is None: a row with
    ``id``, ``name``, ``classes`` (the ordered class names) and ``created_at``.

    Raises
    ------
    InputError
        No such dataset, an empty store, or several datasets and no ``name``; the
        message lists the names the store holds.
    """
    query = select(datasets).order_by(datasets.c.name)
    if name is not None:
        query = query.where(datasets.c.name == name)
    found = db.execute(query.limit(2)).all()
    if found and (name is not None or len(found) == 1):
        return found[0]
    names = list(db.execute(select(datasets.c.name).order_by(datasets.c.name)).scalars())
    if name is not None:
        raise InputError(f"No dataset {name!r}; the store holds {names or 'none'}.")
    if not names:
        raise InputError("The store holds no dataset yet; run `labelmend init NAME` first.")
    raise InputError(
        f"The store holds several datasets {names}; name one with dataset.", inputs=("dataset",)
    )


def count_samples(db: Connection | Session, dataset: Keyed) -> int:
    """How many samples ``dataset`` holds."""
    query = select(func.count()).select_from(samples).where(samples.c.dataset_id == dataset.id)
    return int(db.execute(query).scalar_one())


def count_changed_labels(db: Connection | Session, dataset: Keyed) -> int:
    """How many samples of ``dataset`` carry a label other than the one imported."""
    query = (
        select(func.count())
        .select_from(samples)
        .where(
            samples.c.dataset_id == dataset.id,
            samples.c.current_label != samples.c.given_label,
        )
    )
    return int(db.execute(query).scalar_one())


def reviewed_sample_ids(db: Connection | Session, dataset: Keyed) -> set[int]:
    """Samples an expert has looked at: with an answer that counts, a standing decision,
    or an item resolved in a queue. An answer withdrawn from its tool, a decision taken
    back by ``label undo`` and the answers it was made from (see :func:`answer_counts`)
    make no sample reviewed."""
    in_dataset = select(samples.c.id).where(samples.c.dataset_id == dataset.id).scalar_subquery()
    answers = schema.annotations
    annotated = select(answers.c.sample_id).where(
        answers.c.sample_id.in_(in_dataset), answer_counts()
    )
    decided = select(label_history.c.sample_id).where(
        label_history.c.sample_id.in_(in_dataset), standing()
    )
    resolved = (
        select(queue_items.c.sample_id)
        .join(queues, queues.c.id == queue_items.c.queue_id)
        .where(queues.c.dataset_id == dataset.id, queue_items.c.status == "resolved")
    )
    return set(db.execute(annotated.union(decided, resolved)).scalars())


def standing() -> ColumnElement[bool]:
    """The condition on ``label_history`` of a standing decision: a row that is not an
    undo and that no undo took back. A sample's newest standing decision is the one that
    counts; a sample with none is undecided."""
    taken_back = select(label_history.c.undoes).where(label_history.c.undoes.is_not(None))
    return (label_history.c.source != "undo") & label_history.c.id.not_in(taken_back)


def answer_counts() -> ColumnElement[bool]:
    """The condition on ``annotations`` of an answer that counts — as a vote, as a review
    (:func:`reviewed_sample_ids`), in the experts' reliability and the report's agreement
    (:func:`labelmend.storage.repository.annotation_frame`): one not withdrawn from its
    tool, and not recorded (for its sample) at or before a decision from answers that
    ``label undo`` took back. Both stay in the store: a pull withdrew the first (gone from
    its tool, or edited there into an unusable answer), and the undo set the second aside,
    so that the next pull does not decide the sample again from the same answers."""
    answers = schema.annotations
    decision = label_history.alias("decision")
    undo = label_history.alias("undo")
    set_aside = (
        select(decision.c.id)
        .join(undo, undo.c.undoes == decision.c.id)
        .where(
            decision.c.sample_id == answers.c.sample_id,
            decision.c.source == "annotation",
            decision.c.created_at >= answers.c.created_at,
        )
    )
    return answers.c.withdrawn_at.is_(None) & ~set_aside.exists()


def newest_changes(dataset: Keyed, since: datetime | None = None) -> Select[Any]:
    """Ids of each sample's newest standing decision (among those at or after ``since``):
    see :func:`standing`."""
    query = (
        select(func.max(label_history.c.id))
        .join(samples, samples.c.id == label_history.c.sample_id)
        .where(samples.c.dataset_id == dataset.id, standing())
    )
    if since is not None:
        query = query.where(label_history.c.created_at >= since)
    return query.group_by(label_history.c.sample_id)


def decisions(
    db: Connection | Session, dataset: Keyed, since: datetime | None = None
) -> dict[int, float]:
    """The samples an expert decided (changed or confirmed) and whose decision stands (not
    taken back by ``label undo``), at or after ``since``: sample primary key -> the
    probability that the newest standing decision is wrong (0 for decisions stored before
    that probability was)."""
    rows = db.execute(
        select(label_history.c.sample_id, func.coalesce(label_history.c.p_wrong, 0.0)).where(
            label_history.c.id.in_(newest_changes(dataset, since))
        )
    ).all()
    return {int(key): float(p_wrong) for key, p_wrong in rows}


def undone_since_scored(db: Connection | Session, run: ScoreRunLike) -> set[int]:
    """Samples whose label an undo put back after score run ``run``, to a label other than
    the one ``run`` scored: the run's p_error for them judged a label that no longer
    stands (a slip scored before its undo). Sample primary keys; the caller leaves out
    those an expert decided since (:func:`decisions`), whose decision counts instead."""
    undone = select(label_history.c.sample_id).where(
        label_history.c.source == "undo", label_history.c.created_at >= run.created_at
    )
    query = (
        select(scores.c.sample_id)
        .join(samples, samples.c.id == scores.c.sample_id)
        .where(
            scores.c.run_id == run.id,
            scores.c.sample_id.in_(undone),
            scores.c.label != samples.c.current_label,
        )
    )
    return set(db.execute(query).scalars())


def scored_label(db: Connection | Session, run: Keyed, sample: int) -> int | None:
    """The label score run ``run`` scored for the sample with primary key ``sample`` (a
    class index), or None when the run has no row for it."""
    query = select(scores.c.label).where(scores.c.run_id == run.id, scores.c.sample_id == sample)
    label: int | None = db.execute(query).scalar_one_or_none()
    return label


def latest_score_run(db: Connection | Session, dataset: Keyed) -> Row[Any] | None:
    """The dataset's newest score run (a row of ``score_runs``), or None."""
    query = (
        select(score_runs)
        .where(score_runs.c.dataset_id == dataset.id)
        .order_by(score_runs.c.id.desc())
        .limit(1)
    )
    return db.execute(query).first()


def predictions_made_at(db: Connection | Session, run: Keyed) -> datetime:
    """When the predictions scored in ``run`` were made: their import (or fit), or the run
    itself for a run scored from shards."""
    query = (
        select(func.coalesce(prediction_runs.c.created_at, score_runs.c.created_at))
        .select_from(score_runs)
        .outerjoin(prediction_runs, prediction_runs.c.id == score_runs.c.prediction_run_id)
        .where(score_runs.c.id == run.id)
    )
    made_at: datetime = db.execute(query).scalar_one()
    return made_at


def ranked_p_error(db: Connection | Session, run: Keyed) -> tuple[list[int], list[float]]:
    """A score run's stored rows in rank order: sample primary keys and their p_error."""
    rows = db.execute(
        select(scores.c.sample_id, scores.c.p_error)
        .where(scores.c.run_id == run.id)
        .order_by(scores.c.rank)
    ).all()
    keys, p_error = zip(*rows, strict=True) if rows else ((), ())
    return list(keys), list(p_error)


def queued_sample_ids(db: Connection | Session, dataset: Keyed) -> set[int]:
    """Samples already in some queue and not skipped there."""
    query = (
        select(queue_items.c.sample_id)
        .join(queues, queues.c.id == queue_items.c.queue_id)
        .where(queues.c.dataset_id == dataset.id, queue_items.c.status != "skipped")
    )
    return set(db.execute(query).scalars())


def queue_progress(db: Connection | Session, dataset: Keyed) -> list[tuple[str, str, int]]:
    """Per queue and status, how many items: (queue, status, items), by queue name."""
    rows = db.execute(
        select(queues.c.name, queue_items.c.status, func.count())
        .join(queue_items, queue_items.c.queue_id == queues.c.id)
        .where(queues.c.dataset_id == dataset.id)
        .group_by(queues.c.name, queue_items.c.status)
        .order_by(queues.c.name)
    ).all()
    return [(name, status, int(items)) for name, status, items in rows]


def dataset_summaries(db: Connection | Session) -> list[dict[str, Any]]:
    """Every dataset, by name: dataset, classes (K), samples, queues, score_runs."""

    def per_dataset(table: Any) -> Any:
        return (
            select(table.c.dataset_id, func.count().label("n"))
            .group_by(table.c.dataset_id)
            .subquery()
        )

    counts = [per_dataset(table) for table in (samples, queues, score_runs)]
    query = select(datasets.c.name, datasets.c.classes, *(func.coalesce(c.c.n, 0) for c in counts))
    for count in counts:
        query = query.outerjoin(count, count.c.dataset_id == datasets.c.id)
    rows = db.execute(query.order_by(datasets.c.name)).all()
    return [
        {"dataset": name, "classes": len(classes), "samples": n, "queues": q, "score_runs": r}
        for name, classes, n, q, r in rows
    ]


def queue_counts(by_status: Mapping[str, int]) -> dict[str, int]:
    """A queue's item counts under their printed names (``schema.QUEUE_COUNTS``), from
    its number of items per status: the one definition of ``items`` and ``open`` that
    ``queue list``, ``status``, ``sync status`` and the dataset report print.

    >>> queue_counts({"pending": 2, "annotated": 1, "resolved": 4})
    {'items': 7, 'open': 3, 'pending': 2, 'sent': 0, 'annotated': 1, 'resolved': 4, 'skipped': 0}
    """
    counts = {status: int(by_status.get(status, 0)) for status in QUEUE_STATUSES}
    return {
        "items": sum(counts.values()),
        "open": sum(counts[status] for status in OPEN_STATUSES),
        **counts,
    }


def queue_summaries(db: Connection | Session, dataset: Keyed) -> list[dict[str, Any]]:
    """Every queue of ``dataset``, oldest first: queue, strategy, score_run, created_at,
    and its item counts (:func:`queue_counts`: items, open, then one per status)."""
    rows = db.execute(
        select(queues.c.name, queues.c.strategy, queues.c.score_run_id, queues.c.created_at)
        .where(queues.c.dataset_id == dataset.id)
        .order_by(queues.c.id)
    ).all()
    items: dict[str, dict[str, int]] = {}
    for name, status, n in queue_progress(db, dataset):
        items.setdefault(name, {})[status] = n
    return [
        {"queue": name, "strategy": strategy, "score_run": run, "created_at": created_at}
        | queue_counts(items.get(name, {}))
        for name, strategy, run, created_at in rows
    ]


#: What an answer stored for a sample does now (``state`` of :func:`sample_answers`), in
#: the order they take precedence: ``withdrawn`` (deleted in its tool, or edited there into
#: an unusable answer), ``set aside`` (``label undo`` took back the decision made from the
#: answers before it), ``not applied`` (it came after the sample was decided), ``counted``.
ANSWER_STATES = ("withdrawn", "set aside", "not applied", "counted")


def _when(at: datetime) -> str:
    return f"on {at:%Y-%m-%d %H:%M} UTC"


def sample_answers(
    db: Connection | Session, sample_id: str, *, dataset: str | None = None
) -> list[dict[str, Any]]:
    """Every answer recorded for a sample, oldest first, with what it does now.

    Each record: ``answer_id`` (its id in its tool), ``tool``, ``queue`` (None once its
    queue is deleted), ``annotator``, ``label`` (the class name recorded), ``recorded_at``,
    ``withdrawn_at``, ``state`` (one of :data:`ANSWER_STATES`) and ``why``: how it was
    withdrawn (deleted in the tool, or the unusable answer it was edited into), which undo
    set it aside, which decision it came after; for a counted answer, a change made in the
    tool after the sample was decided, not applied ('' when there is nothing to say).

    Raises
    ------
    InputError
        No such dataset (see :func:`find_dataset`) or no such sample in it.

    Examples
    --------
    >>> from labelmend.storage import open_store  # doctest: +SKIP
    >>> with open_store("sqlite:///labelmend.db") as session:  # doctest: +SKIP
    ...     [(a["annotator"], a["state"]) for a in sample_answers(session, "img042")]
    [('ann', 'counted'), ('bob', 'withdrawn')]
    """
    found = find_dataset(db, dataset)
    sample = db.execute(
        select(samples.c.id).where(
            samples.c.dataset_id == found.id, samples.c.external_id == sample_id
        )
    ).scalar()
    if sample is None:
        raise InputError(f"No sample {sample_id!r} in dataset {found.name!r}.")
    answers, notices = schema.annotations, schema.answer_notices
    rows = db.execute(
        select(
            answers.c.external_id,
            answers.c.tool,
            queues.c.id.label("queue_id"),
            queues.c.name.label("queue"),
            answers.c.annotator,
            answers.c.label,
            answers.c.created_at,
            answers.c.withdrawn_at,
            answer_counts().label("counts"),
        )
        .select_from(answers)
        .outerjoin(queue_items, queue_items.c.id == answers.c.queue_item_id)
        .outerjoin(queues, queues.c.id == queue_items.c.queue_id)
        .where(answers.c.sample_id == sample)
        .order_by(answers.c.id)
    ).all()
    said = {
        (queue, tool, key, kind): problem
        for queue, tool, key, kind, problem in db.execute(
            select(
                notices.c.queue_id,
                notices.c.tool,
                notices.c.external_id,
                notices.c.kind,
                notices.c.problem,
            ).where(notices.c.external_id.in_([row.external_id for row in rows]))
        )
    }
    history = db.execute(
        select(label_history)
        .where(label_history.c.sample_id == sample)
        .order_by(label_history.c.id)
    ).all()
    undo_of = {change.undoes: change for change in history if change.undoes is not None}
    standing = [c for c in history if c.source != "undo" and c.id not in undo_of]
    decided_at = standing[-1].created_at if standing else None
    classes = found.classes
    shown = []
    for row in rows:
        key = (row.queue_id, row.tool, row.external_id)
        rejected = said.get((*key, "rejected"), "")
        if row.withdrawn_at is not None:
            state = "withdrawn"
            why = rejected or f"deleted in the tool (found gone {_when(row.withdrawn_at)})"
        elif not row.counts:
            state = "set aside"
            decision = next(
                c
                for c in history
                if c.id in undo_of and c.source == "annotation" and c.created_at >= row.created_at
            )
            by = undo_of[decision.id].actor
            why = (
                f"label undo{f' by {by}' if by else ''} took back the decision made from it "
                f"({classes[decision.new_label]!r}, {decision.actor}, {_when(decision.created_at)})"
            )
        elif (
            (*key, "not_applied") in said and decided_at is not None and decided_at < row.created_at
        ):
            state, why = "not applied", said[(*key, "not_applied")]
        else:
            state, why = "counted", rejected
        shown.append(
            {
                "answer_id": row.external_id,
                "tool": row.tool,
                "queue": row.queue,
                "annotator": row.annotator,
                "label": classes[row.label],
                "recorded_at": row.created_at,
                "withdrawn_at": row.withdrawn_at,
                "state": state,
                "why": why,
            }
        )
    return shown

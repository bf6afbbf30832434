"""Push relabel queues to an annotation tool and pull the experts' answers back.

The store is the source of truth. A push first adopts the tasks the tool already has
for the queue's samples (found by the sample id carried in each task), then imports the
rest in batches: an interrupted push, run again, adopts what reached the tool and never
duplicates a task. A pull records every valid answer once (its external id is unique),
rejects and reports unusable answers, then decides each answered sample: a unique
plurality with the current label as one vote, or an annotator-reliability model
(Dawid–Skene; CROWDLAB with the model's probabilities). Ties stay open and are reported
as needing another vote.

The caller owns the transaction: nothing here commits. A caller that wants every
finished batch (push) or page (pull) kept even if a later one fails passes a
``checkpoint`` (typically ``session.commit``), called after each of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from labelmend._validation import check_choice, require_columns, row_name
from labelmend.cleaner import AGGREGATIONS, UNDECIDED, Consensus, consensus
from labelmend.errors import InputError
from labelmend.io import read_table, write_table
from labelmend.storage import repository as repo
from labelmend.storage.models import Dataset, LabelChange, Queue
from labelmend.storage.reads import queue_counts
from labelmend.storage.schema import OPEN_STATUSES, QUEUE_STATUSES
from labelmend.sync.label_studio import (
    LabelStudioClient,
    RemoteAnnotation,
    display_kind,
    label_config,
    task_payload,
)

LABEL_STUDIO = "label-studio"
REJECTED_COLUMNS = ["sample_id", "annotator", "problem"]
STILL_REJECTED_COLUMNS = [*REJECTED_COLUMNS, "first_reported"]
NOT_APPLIED_COLUMNS = ["sample_id", "annotator", "label", "reason"]
#: Why an answer recorded for a sample already decided does not count.
DECIDED_BEFORE = "its sample was decided before this answer came"
WITHDRAWN_COLUMNS = ["sample_id", "annotator", "label", "decided", "effect", "why"]
#: Why a pull withdraws an answer it recorded before (``why`` of :data:`WITHDRAWN_COLUMNS`).
WITHDRAWN_DELETED = "deleted in the tool"
WITHDRAWN_EDITED = "edited in the tool into an unusable answer"
#: What ``single-expert`` does when experts disagree on a sample: refuse the whole
#: import, leave the sample open (it needs another vote), or let a plurality decide.
TIE_BREAKS = ("refuse", "open", "plurality")
Progress = Callable[[int, int], None]
#: ``checkpoint()``, called after each batch of a push and each page of a pull is
#: recorded: the caller's commit policy (``session.commit`` keeps every finished batch).
Checkpoint = Callable[[], None]


def _no_checkpoint() -> None:
    """The default policy: everything stays in the caller's one transaction."""


@dataclass(frozen=True)
class PushResult:
    """What a push did: the project, tasks created now (``replaced`` of them for tasks
    deleted in the tool since they were sent), tasks adopted, already sent."""

    project_id: int
    created: int
    adopted: int
    already_sent: int
    replaced: int = 0


@dataclass(frozen=True)
class Decisions:
    """Samples decided from their votes, labels changed, and ties left open."""

    decided: int
    changed: int
    ties: list[str] = field(default_factory=list)


def _no_withdrawals() -> pd.DataFrame:
    return pd.DataFrame(columns=WITHDRAWN_COLUMNS)


def _none_still_rejected() -> pd.DataFrame:
    return pd.DataFrame(columns=STILL_REJECTED_COLUMNS)


def _none_not_applied() -> pd.DataFrame:
    return pd.DataFrame(columns=NOT_APPLIED_COLUMNS)


@dataclass(frozen=True)
class PullResult:
    """What a pull did: answers recorded now, seen before, rejected now (with why: each
    rejection is reported by one pull), decisions, answers whose label the expert changed
    in the tool since they were recorded, answers withdrawn since (deleted in the tool, or
    edited there into an unusable answer; columns :data:`WITHDRAWN_COLUMNS`: ``decided``
    says the sample was decided before, ``effect`` what the withdrawal did, ``why`` which
    of the two), answers rejected by an earlier pull that the tool still
    holds unchanged (:data:`STILL_REJECTED_COLUMNS`, with when they were first reported),
    and answers recorded for samples decided before they came (:data:`NOT_APPLIED_COLUMNS`:
    kept, never counted; each reported once)."""

    recorded: int
    repeated: int
    rejected: pd.DataFrame
    decisions: Decisions
    updated: int = 0
    withdrawn: pd.DataFrame = field(default_factory=_no_withdrawals)
    still_rejected: pd.DataFrame = field(default_factory=_none_still_rejected)
    not_applied: pd.DataFrame = field(default_factory=_none_not_applied)


def _project_of(queue: Queue) -> int | None:
    if queue.external_project is None:
        return None
    tool, _, project = queue.external_project.partition(":")
    if tool != LABEL_STUDIO:
        raise InputError(f"Queue {queue.name!r} was pushed to {tool}, not Label Studio.")
    return int(project)


def push_queue(
    session: Session,
    queue_name: str,
    client: LabelStudioClient,
    *,
    dataset: str | None = None,
    project_id: int | None = None,
    new_project: bool = False,
    batch_size: int = 500,
    progress: Progress | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
) -> PushResult:
    """Send a queue's open items to Label Studio as tasks with the model's suggestion.

    Parameters
    ----------
    session : Session
        The caller's transaction; nothing is committed here.
    queue_name : str
        Queue whose open items (pending, sent or annotated) are sent; those sent before
        are kept (``already_sent``).
    client : LabelStudioClient
    dataset : str, optional
        Dataset name (optional when the store holds one).
    project_id : int, optional
        An existing project to use; by default one is created on the first push.
    new_project : bool
        Create a project even though the queue was pushed before. A queue stays with its
        project while the project exists; once it is deleted in Label Studio, a push
        needs ``new_project`` or ``project_id`` and sends every open item there.
    batch_size : int
        Tasks per import request.
    progress : callable(done, total), optional
        Called after every batch with the tasks sent so far.
    checkpoint : callable(), optional
        Called once the project is known and after every batch is recorded. An item
        whose task was deleted in Label Studio is sent again. With
        ``session.commit``, a push that stops half way (server down, Ctrl-C) is finished
        by running it again; without, it rolls back with the caller's transaction and
        the re-run adopts the tasks that reached the server. Never duplicates a task.

    Returns
    -------
    PushResult

    Examples
    --------
    >>> from labelmend.storage import open_store  # doctest: +SKIP
    >>> client = LabelStudioClient("http://localhost:8080", "token")  # doctest: +SKIP
    >>> with open_store("sqlite:///labelmend.db") as session:  # doctest: +SKIP
    ...     push_queue(session, "week1", client, checkpoint=session.commit).created
    20
    """
    found = repo.get_dataset(session, dataset)
    queue = repo.get_queue(session, found, queue_name)
    known = _project_of(queue)
    moving = new_project or (project_id is not None and project_id != known)
    if known is not None and not client.project_exists(known):
        if not moving:
            raise InputError(
                f"Queue {queue_name!r} was pushed to project {known}, which Label Studio at "
                f"{client.shown_url} no longer has. Send it again with new_project=True (a new "
                "project) or project_id=ID (an existing one).",
                inputs=("new_project", "project_id"),
            )
        known = None  # the queue moves; its open items are all sent again
    if known is not None and moving:
        target = "a new project" if new_project else f"project {project_id}"
        raise InputError(
            f"Queue {queue_name!r} was pushed to project {known}; it cannot move to {target}."
        )
    items = repo.queue_frame(session, queue, statuses=OPEN_STATUSES)
    if known is None and items.empty:  # no project for a queue with nothing to send
        closed = queue_counts(Counter(repo.queue_frame(session, queue)["status"]))
        counts = [f"{closed[s]:,} {s}" for s in QUEUE_STATUSES if closed[s]]
        raise InputError(
            f"Queue {queue_name!r} has no open items ({', '.join(counts) or 'none'}); "
            "nothing to push."
        )
    show = display_kind([m or {} for m in items["metadata"]])
    if known is None:
        known = client.ensure_project(
            title=f"labelmend {found.name} / {queue.name}",
            config=label_config(found.classes, show=show),
            project_id=project_id,
        )
        queue.external_project = f"{LABEL_STUDIO}:{known}"
        checkpoint()
    # The project's tasks decide: an item whose sample has a task there is adopted (or
    # kept), any other is sent, even one sent before whose task was deleted in the tool.
    on_server = client.task_ids_by_sample(known)
    there = items["external_id"].map(on_server)
    present = items[there.notna()]
    adopt = present[present["external_task_id"] != there[there.notna()].astype(int).astype(str)]
    already_sent = len(present) - len(adopt)
    repo.set_external_tasks(
        session,
        adopt["item_id"].tolist(),
        [str(on_server[s]) for s in adopt["external_id"]],
    )
    checkpoint()
    to_push = items[there.isna()]
    replaced = int(to_push["external_task_id"].notna().sum())
    classes = found.classes
    suggested = to_push["suggested_label"].to_numpy(dtype=int)
    p_error = to_push["p_error"].to_numpy(dtype=float)
    # The prediction's score: how likely the suggestion is right.
    confidence = np.where(
        suggested != to_push["current_label"].to_numpy(dtype=int), p_error, 1 - p_error
    )
    payloads = [
        task_payload(
            str(sample), meta or {}, show=show, suggested_label=classes[label], score=float(score)
        )
        for sample, meta, label, score in zip(
            to_push["external_id"], to_push["metadata"], suggested, confidence, strict=True
        )
    ]
    item_of = dict(zip(to_push["external_id"], to_push["item_id"], strict=True))
    done = 0

    def record(batch: list[dict[str, Any]], task_ids: list[int]) -> None:
        nonlocal done
        samples = [task["data"]["labelmend_sample_id"] for task in batch]
        repo.set_external_tasks(session, [item_of[s] for s in samples], [str(t) for t in task_ids])
        checkpoint()
        done += len(batch)
        if progress is not None:
            progress(done, len(payloads))

    client.import_tasks(known, payloads, batch_size=batch_size, on_batch=record)
    return PushResult(known, len(payloads), len(adopt), already_sent, replaced)


def _record(
    session: Session,
    items: pd.DataFrame,
    queue: Queue,
    classes: Sequence[str],
    answers: list[RemoteAnnotation],
    *,
    tool: str,
) -> tuple[int, int, int, list[dict[str, Any]], set[str]]:
    """Store valid answers once and mark their items ``annotated``; an open item whose
    task was only skipped becomes ``skipped``.

    An answer stored before that its expert edited in the tool since is handled here,
    whatever it became. Another class: it replaces the stored label while the sample is
    undecided (a withdrawn answer counts again), and is rejected (reported, not applied)
    once the sample is decided. An unusable answer (unknown class, empty, skipped): it is
    rejected, saying what it replaced, and the stored answer is returned to be withdrawn
    (kept, no longer counted) once the listing is complete.

    Returns (recorded, repeated, updated, rejected rows: sample_id, annotator, problem,
    external_id; external ids of stored answers edited into unusable ones).
    ``items`` is the queue's frame indexed by sample external id.
    """
    index = {name: position for position, name in enumerate(classes)}
    queued = [answer.external_id for answer in answers if answer.sample_id in items.index]
    stored = repo.stored_answers(session, queued, tool=tool)
    rejected: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    samples: list[str] = []
    updated: dict[str, int] = {}
    late: list[dict[str, Any]] = []  # changed after the sample was decided
    edited: set[str] = set()  # stored, now unusable in the tool
    for answer in answers:
        problem = answer.problem
        known: tuple[int, bool] | None = None  # (label, withdrawn) when recorded before
        if answer.sample_id not in items.index:
            problem = f"not in queue {queue.name!r}"
        else:
            known = stored.get(answer.external_id)
        if problem is not None or answer.label is None:
            if known is not None:  # what the expert replaced stops counting
                problem = (
                    f"{problem}; edited after it was recorded as {classes[known[0]]!r}, "
                    "which no longer counts"
                )
                if not known[1]:
                    edited.add(answer.external_id)
            rejected.append(
                {"sample_id": answer.sample_id, "annotator": answer.annotator,
                 "problem": problem, "external_id": answer.external_id}
            )  # fmt: skip
            continue
        label = index[answer.label]
        rows.append(
            {
                "sample_id": int(items.at[answer.sample_id, "sample_id"]),  # type: ignore[arg-type]
                "queue_item_id": int(items.at[answer.sample_id, "item_id"]),  # type: ignore[arg-type]
                "annotator": answer.annotator,
                "label": label,
                "external_id": answer.external_id,
            }
        )
        samples.append(answer.sample_id)
        if known is None or known == (label, False):  # new, or unchanged
            continue
        before, withdrawn = known
        if items.at[answer.sample_id, "status"] != "resolved":
            updated[answer.external_id] = label
            continue
        since = ", withdrawn since" if withdrawn else ""
        late.append(
            {
                "sample_id": answer.sample_id,
                "annotator": answer.annotator,
                "problem": f"changed to {answer.label!r} after the sample was decided "
                f"(recorded {classes[before]!r}{since}); not applied",
                "external_id": answer.external_id,
            }
        )
    repo.update_annotation_labels(session, updated, tool=tool)
    new = repo.add_annotations(session, rows, tool=tool)
    recorded = len(new)
    # An answer to a sample decided before it came is kept and never counts: said once,
    # by the pull or import that finishes (the notice is committed with the answer).
    sample_of = dict(zip((row["external_id"] for row in rows), samples, strict=True))
    came_late = [
        row for row in new if items.at[sample_of[row["external_id"]], "status"] == "resolved"
    ]
    decided = repo.newest_decisions(session, [row["sample_id"] for row in came_late])
    repo.add_pending_notices(
        session,
        queue,
        [
            {"external_id": row["external_id"], "sample_id": sample_of[row["external_id"]],
             "annotator": row["annotator"],
             "problem": _decided_before(decided.get(row["sample_id"]), classes)}
            for row in came_late
        ],
        tool=tool,
        kind="not_applied",
    )  # fmt: skip
    answered = items["item_id"].isin({row["queue_item_id"] for row in rows})
    skipped = items.index.isin([a.sample_id for a in answers if a.skipped]) & ~answered
    waiting = items["status"].isin(["pending", "sent"])
    # An answer counts even after a skip; a task everyone skipped frees its sample for
    # another queue (an answer to it later brings it back).
    now_answered = answered & (waiting | (items["status"] == "skipped"))
    # Moved only from the statuses they were read with: another pull may have decided
    # (resolved) them since this one read the queue.
    repo.set_item_status(
        session,
        items.loc[now_answered, "item_id"].astype(int).tolist(),
        "annotated",
        only_from=("pending", "sent", "skipped"),
    )
    repo.set_item_status(
        session,
        items.loc[skipped & waiting, "item_id"].astype(int).tolist(),
        "skipped",
        only_from=("pending", "sent"),
    )
    repeated = len(rows) - recorded - len(updated) - len(late)
    return recorded, repeated, len(updated), rejected + late, edited


def _settle_disagreements(
    decided: Consensus,
    votes: pd.DataFrame,
    items: pd.DataFrame,
    samples: dict[int, Any],
    current: np.ndarray,
    n_classes: int,
    tie_break: str,
) -> Consensus:
    """Apply ``tie_break`` to the samples single-expert left undecided (experts disagree)."""
    split = np.flatnonzero(decided.labels == UNDECIDED)
    if split.size == 0 or tie_break == "open":
        return decided
    if tie_break == "refuse":
        first = samples[items["sample_pk"].iloc[split[0]]].external_id
        who = sorted(set(votes.loc[votes["row"] == split[0], "annotator"]))
        raise InputError(
            f"{split.size} sample(s) have experts who disagree (first {first!r}: {who}); "
            "aggregation single-expert trusts one expert per sample. Pass tie_break open "
            "to leave them for another vote, or tie_break plurality to let the votes decide.",
            inputs=("aggregation", "tie_break"),
        )
    settled = consensus(
        votes["row"], votes["annotator"], votes["label"], current_labels=current,
        n_classes=n_classes, method="plurality",
    )  # fmt: skip
    split_mask = decided.labels == UNDECIDED
    return Consensus(
        np.where(split_mask, settled.labels, decided.labels),
        np.where(split_mask, settled.p_wrong, decided.p_wrong),
    )


def decide_queue(
    session: Session,
    found: Dataset,
    queue: Queue,
    *,
    aggregation: str = "plurality",
    tie_break: str = "refuse",
) -> Decisions:
    """Decide every annotated, still open item of ``queue`` from its recorded votes, one
    per expert (their newest answer).

    Parameters
    ----------
    session : Session
        The caller's transaction; nothing is committed here. The dataset's row stays
        locked until it ends (on PostgreSQL), so that two pulls at once decide each
        sample once.
    found : Dataset
        The queue's dataset.
    queue : Queue
    aggregation : {"single-expert", "plurality", "dawid-skene", "crowdlab"}
        How the votes and the current label decide a sample (see
        :func:`labelmend.cleaner.aggregate.consensus`).
    tie_break : {"refuse", "open", "plurality"}
        For ``single-expert``, samples whose experts disagree: refuse the decision
        (:class:`InputError`, the caller's transaction rolls back), leave them open, or
        decide them by plurality.

    Returns
    -------
    Decisions
        Samples decided, labels changed, and the sample ids left tied.

    Examples
    --------
    >>> with open_store(url) as session:  # doctest: +SKIP
    ...     found = repo.get_dataset(session, None)
    ...     decide_queue(session, found, repo.get_queue(session, found, "week1")).decided
    6
    """
    check_choice("aggregation", aggregation, AGGREGATIONS)
    check_choice("tie_break", tie_break, TIE_BREAKS)
    # Label writers of a dataset take turns (labels, queues, other pulls): a pull that
    # read the votes before another pull's decisions were committed would decide again.
    repo.get_dataset(session, found.name, lock=True)
    # One vote per expert and sample, their newest: an expert who answers a task twice
    # (Label Studio lets a user add an annotation) must not outvote as two experts.
    votes = repo.open_votes(session, queue).drop_duplicates(["item_id", "annotator"], keep="last")
    if votes.empty:
        return Decisions(0, 0)
    items = votes.drop_duplicates("item_id")[["item_id", "sample_pk"]].reset_index(drop=True)
    votes["row"] = votes["item_id"].map(pd.Series(items.index, index=items["item_id"]))
    samples = {s.id: s for s in repo.samples_by_key(session, items["sample_pk"].tolist())}
    current = np.array([samples[k].current_label for k in items["sample_pk"]])
    pred_probs = None
    if aggregation == "crowdlab":
        pred_probs = repo.latest_probabilities(session, found, items["sample_pk"].tolist())
    try:
        decided = consensus(
            votes["row"],
            votes["annotator"],
            votes["label"],
            current_labels=current,
            n_classes=len(found.classes),
            method=aggregation,
            pred_probs=pred_probs,
        )
    except InputError as exc:  # consensus's method is this function's aggregation
        inputs = ["aggregation" if name == "method" else name for name in exc.inputs]
        raise InputError(exc.renamed({"method": "aggregation"}), inputs=inputs) from None
    if aggregation == "single-expert":
        decided = _settle_disagreements(
            decided, votes, items, samples, current, len(found.classes), tie_break
        )
    changed = 0
    ties: list[str] = []
    resolved: list[int] = []
    for row, (item_id, sample_pk) in enumerate(items.itertuples(index=False)):
        sample = samples[sample_pk]
        if decided.labels[row] == UNDECIDED:
            ties.append(sample.external_id)
            continue
        change = repo.record_decision(
            session,
            sample,
            int(decided.labels[row]),
            source="annotation",
            actor=_deciders(votes.loc[votes["row"] == row, "annotator"], aggregation),
            reason=f"decided in queue {queue.name!r}",
            external_ref=f"queue:{queue.name}",
            p_wrong=float(decided.p_wrong[row]),
        )
        changed += change.changed
        resolved.append(int(item_id))
    return Decisions(len(resolved), changed, ties)


def _decide_pull(
    session: Session,
    dataset: Dataset,
    queue: Queue,
    recorded: int,
    repeated: int,
    rejected: list[dict[str, Any]],
    aggregation: str,
    tie_break: str,
    updated: int = 0,
    withdrawn: pd.DataFrame | None = None,
    *,
    tool: str,
    complete: bool = False,
) -> PullResult:
    """Decide the queue's samples once answers are recorded; the pull's result.

    Each rejection is reported once: one reported before with the same problem is
    returned as still rejected. ``complete``: ``rejected`` holds every rejection that
    stands (a pull's whole listing).
    """
    decisions = decide_queue(session, dataset, queue, aggregation=aggregation, tie_break=tie_break)
    before = repo.report_notices(
        session, queue, rejected, tool=tool, kind="rejected", complete=complete
    )
    news = [answer for answer, known in zip(rejected, before, strict=True) if known is None]
    still = [
        {"sample_id": k.sample_id, "annotator": k.annotator, "problem": k.problem,
         "first_reported": k.reported_at}
        for k in dict.fromkeys(known for known in before if known is not None)
    ]  # fmt: skip
    late = repo.take_pending_notices(session, queue, tool=tool, kind="not_applied")
    labels = repo.stored_labels(session, [notice.external_id for notice in late], tool=tool)
    not_applied = [
        {"sample_id": n.sample_id, "annotator": n.annotator,
         "label": dataset.classes[labels[n.external_id]], "reason": n.problem}
        for n in late
    ]  # fmt: skip
    return PullResult(
        recorded,
        repeated,
        pd.DataFrame(news, columns=REJECTED_COLUMNS),
        decisions,
        updated,
        _no_withdrawals() if withdrawn is None else withdrawn,
        pd.DataFrame(still, columns=STILL_REJECTED_COLUMNS),
        pd.DataFrame(not_applied, columns=NOT_APPLIED_COLUMNS),
    )


def _decided_before(decision: LabelChange | None, classes: Sequence[str]) -> str:
    """Why an answer to a decided sample is not applied, naming the decision."""
    if decision is None:  # resolved with no history row: not written by labelmend
        return DECIDED_BEFORE
    return f"{DECIDED_BEFORE} ({_decision_words(decision, classes)})"


def _when(decision: LabelChange) -> str:
    return f"on {decision.created_at:%Y-%m-%d %H:%M} UTC"


def _decision_words(decision: LabelChange, classes: Sequence[str]) -> str:
    """How a sample was decided, for messages: the label, by whom, where and when."""
    label = repr(classes[decision.new_label])
    if decision.source == "manual":
        by = f" by {decision.actor}" if decision.actor else ""
        return f"{label} set by hand{by} {_when(decision)}"
    where = (decision.external_ref or "").removeprefix("queue:")
    return f"{label} from the answers in queue {where!r} ({decision.actor}) {_when(decision)}"


def _withdraw(
    session: Session,
    dataset: Dataset,
    queue: Queue,
    items: pd.DataFrame,
    withdrawals: dict[str, str],
    skipped: set[str],
) -> pd.DataFrame:
    """Mark withdrawn the queue's answers that no longer count (``withdrawals``: external
    id -> why: deleted in the tool, or edited there into an unusable answer) and say what
    each withdrawal did: an open sample loses the vote (its item waits again once no
    answer is left); a decided sample keeps its decision, which the effect describes.
    Returns :data:`WITHDRAWN_COLUMNS`.
    """
    gone = repo.withdraw_answers(session, queue, tool=LABEL_STUDIO, gone=withdrawals.keys())
    if gone.empty:
        return _no_withdrawals()
    open_items = gone.loc[gone["status"] != "resolved", "item_id"]
    empty = set(repo.items_without_votes(session, open_items.tolist()))
    by_item = items.reset_index().set_index("item_id")["external_id"]
    for status, chosen in (("skipped", True), ("sent", False)):
        moved = [i for i in empty if (by_item[i] in skipped) == chosen]
        repo.set_item_status(session, moved, status, only_from=("annotated",))
    decided = gone["status"] == "resolved"
    decisions = repo.newest_decisions(session, gone.loc[decided, "sample_pk"].tolist())
    effects = []
    recorded: list[Any] = gone["recorded_at"].tolist()
    for sample_pk, was_decided, recorded_at in zip(
        gone["sample_pk"], decided, recorded, strict=True
    ):
        decision = decisions.get(sample_pk) if was_decided else None
        if decision is None:
            effects.append("no longer counts")
            continue
        words = _decision_words(decision, dataset.classes)
        if decision.created_at < recorded_at:
            effect = f"recorded after the sample was decided ({words}); it never counted"
        elif decision.source == "annotation" and decision.external_ref == f"queue:{queue.name}":
            label = dataset.classes[decision.new_label]
            effect = (
                f"counted in the decision of queue {queue.name!r} ({label!r}, {decision.actor}, "
                f"{_when(decision)}); that decision stands"
            )
        else:
            effect = f"the sample was decided before ({words}); that decision stands"
        effects.append(effect)
    return pd.DataFrame(
        {
            "sample_id": gone["item_id"].map(by_item).to_numpy(),
            "annotator": gone["annotator"].to_numpy(),
            "label": [dataset.classes[int(label)] for label in gone["label"]],
            "decided": decided.to_numpy(),
            "effect": effects,
            "why": gone["external_id"].map(withdrawals).to_numpy(),
        },
        columns=WITHDRAWN_COLUMNS,
    )


def _deciders(annotators: pd.Series, aggregation: str) -> str:
    """Who decided a sample, for the label history: the experts who answered (up to
    three by name) and the aggregation that turned their votes into the label.

    >>> _deciders(pd.Series(["bob", "ann", "bob"]), "plurality")
    'ann, bob via plurality'
    >>> _deciders(pd.Series(list("abcd")), "dawid-skene")
    '4 experts via dawid-skene'
    """
    names = sorted(annotators.astype(str).unique())
    who = ", ".join(names) if len(names) <= 3 else f"{len(names)} experts"
    return f"{who} via {aggregation}"


def pull_queue(
    session: Session,
    queue_name: str,
    client: LabelStudioClient,
    *,
    dataset: str | None = None,
    aggregation: str = "plurality",
    tie_break: str = "refuse",
    page_size: int = 500,
    on_page: Callable[[int], None] | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
) -> PullResult:
    """Fetch the experts' answers for a pushed queue, record them once, decide samples.

    Parameters
    ----------
    session : Session
        The caller's transaction; nothing is committed here.
    queue_name : str
        A queue pushed with :func:`push_queue`.
    client : LabelStudioClient
    dataset : str, optional
        Dataset name (optional when the store holds one).
    aggregation, tie_break : str
        How answers decide a sample (see :func:`decide_queue`).
    page_size : int
        Tasks per page of answers fetched (a page holds whole tasks).
    on_page : callable(page), optional
        Called with the page's index after each page is recorded.
    checkpoint : callable(), optional
        Called after each page is recorded. With ``session.commit``, a pull cut off by a
        failing server keeps what it stored and a re-run completes without duplicates.

    Returns
    -------
    PullResult

    Examples
    --------
    >>> with open_store(url) as session:  # doctest: +SKIP
    ...     result = pull_queue(session, "week1", client, checkpoint=session.commit)
    >>> result.recorded, result.decisions.decided  # doctest: +SKIP
    (6, 6)
    """
    found = repo.get_dataset(session, dataset)
    queue = repo.get_queue(session, found, queue_name)
    project = _project_of(queue)
    if project is None:
        raise InputError(f"Queue {queue_name!r} has not been pushed: run `labelmend push` first.")
    recorded = repeated = updated = 0
    rejected: list[dict[str, Any]] = []
    present: set[str] = set()  # every answer the project holds, usable or not
    edited: set[str] = set()  # answers recorded before, edited into unusable ones since
    skipped: set[str] = set()
    items = repo.queue_frame(session, queue).set_index("external_id")
    for page, answers in enumerate(
        client.annotation_pages(project, found.classes, page_size=page_size)
    ):
        new, seen, changed, bad, unusable = _record(
            session, items, queue, found.classes, answers, tool=LABEL_STUDIO
        )
        recorded, repeated, updated = recorded + new, repeated + seen, updated + changed
        rejected += bad
        edited |= unusable
        present.update(answer.external_id for answer in answers)
        skipped.update(answer.sample_id for answer in answers if answer.skipped)
        checkpoint()
        if on_page is not None:
            on_page(page)
    # An answer recorded before and missing from the whole listing may have been deleted
    # in the tool; the listing pages by offset, so a task annotated or deleted meanwhile
    # can also shift one past it: the server confirms them (one request) before they are
    # withdrawn (asked before the lock below, which holds no request). Label writers take
    # turns (see decide_queue), so each withdrawal is marked and reported once.
    missing = repo.counted_answer_ids(session, queue, tool=LABEL_STUDIO) - present
    deleted = client.deleted_annotations(project, sorted(missing)) if missing else set()
    repo.get_dataset(session, found.name, lock=True)
    gone = dict.fromkeys(deleted, WITHDRAWN_DELETED) | dict.fromkeys(edited, WITHDRAWN_EDITED)
    withdrawn = _withdraw(session, found, queue, items, gone, skipped)
    return _decide_pull(
        session, found, queue, recorded, repeated, rejected, aggregation, tie_break, updated,
        withdrawn, tool=LABEL_STUDIO, complete=True,
    )  # fmt: skip


def export_tasks(
    session: Session, queue_name: str, path: str, *, dataset: str | None = None
) -> int:
    """Write a queue's open items as tasks for any tool (CSV / JSONL / Parquet).

    Columns: sample_id, given_label, current_label, suggested_label, p_error, reason,
    and the sample's metadata fields.
    """
    found = repo.get_dataset(session, dataset)
    queue = repo.get_queue(session, found, queue_name)
    items = repo.queue_frame(session, queue, statuses=OPEN_STATUSES)
    classes = np.asarray(found.classes, dtype=object)
    tasks = pd.DataFrame(
        {
            "sample_id": items["external_id"],
            "given_label": classes[items["given_label"].to_numpy(dtype=int)],
            "current_label": classes[items["current_label"].to_numpy(dtype=int)],
            "suggested_label": classes[items["suggested_label"].to_numpy(dtype=int)],
            "p_error": items["p_error"],
            "reason": items["reason"],
        }
    )
    metadata = pd.json_normalize([m or {} for m in items["metadata"]])
    tasks = pd.concat([tasks, metadata.add_prefix("meta_")], axis=1)
    write_table(tasks, path)
    return len(tasks)


#: Columns of an answers file read as text: ids and names stay as written (``007``).
ANSWER_TEXT_COLUMNS = ["sample_id", "annotator", "label", "annotation_id"]
#: Unusable answers a refusal of an answers file lists by number (the count says the rest).
SHOWN_PROBLEMS = 5


def _file_answers(
    session: Session,
    table: pd.DataFrame,
    path: str,
    queue: Queue,
    queued: pd.Index,
    classes: Sequence[str],
    *,
    tool: str,
) -> list[RemoteAnnotation]:
    """Every answer of a file, each row checked before any is recorded: a file with an
    unusable row (no sample id, annotator or label, a class or sample the queue does not
    know, one expert giving one sample two labels, in the file or against an answer
    stored before) is refused whole, naming the rows.

    The same answer twice (same id, same contents) is one answer, as on a re-import.
    """
    if table.empty:
        raise InputError(
            f"{path}: no answers; expected one row per answer under the header "
            "(sample_id, annotator, label)."
        )
    known = set(classes)
    expected = ", ".join(repr(name) for name in classes)
    answers: list[tuple[int, RemoteAnnotation]] = []
    problems: list[str] = []
    first_of: dict[str, tuple[int, RemoteAnnotation]] = {}
    for number, row in enumerate(table.to_dict("records")):
        sample, annotator, label = (row.get(c) for c in ("sample_id", "annotator", "label"))
        problem = None
        if pd.isna(sample):
            problem = "no sample id"
        elif pd.isna(annotator):
            problem = "no annotator"
        elif pd.isna(label):
            problem = "no label"
        elif str(label) not in known:
            problem = f"unknown class {str(label)!r} (expected one of {expected})"
        elif str(sample) not in queued:
            problem = f"sample {str(sample)!r} is not in queue {queue.name!r}"
        if problem is not None:
            problems.append(f"{row_name(number, path).capitalize()}: {problem}.")
            continue
        given = row.get("annotation_id")  # a blank cell is NaN, which is true
        answer = RemoteAnnotation(
            external_id=f"{sample}:{annotator}" if pd.isna(given) else str(given),
            task_id=0,
            sample_id=str(sample),
            annotator=str(annotator),
            label=str(label),
        )
        earlier = first_of.setdefault(answer.external_id, (number, answer))
        if earlier[1] == answer:
            answers.append((number, answer))
        elif (earlier[1].sample_id, earlier[1].annotator) == (answer.sample_id, answer.annotator):
            problems.append(
                f"{row_name(number, path).capitalize()}: {answer.annotator!r} answered sample "
                f"{answer.sample_id!r} in {row_name(earlier[0], path)} already, with another label."
            )
        else:
            problems.append(
                f"{row_name(number, path).capitalize()}: its annotation_id "
                f"{answer.external_id!r} is that of {row_name(earlier[0], path)}, another answer."
            )
    recorded = repo.stored_labels(session, [a.external_id for _, a in answers], tool=tool)
    for number, answer in answers:
        stored = recorded.get(answer.external_id)
        if stored is not None and classes[stored] != answer.label:
            problems.append(
                f"{row_name(number, path).capitalize()}: {answer.annotator!r} answered sample "
                f"{answer.sample_id!r} before, recorded as {classes[stored]!r} "
                f"(answer id {answer.external_id!r})."
            )
    if problems:
        more = len(problems) - SHOWN_PROBLEMS
        raise InputError(
            f"{path}: {len(problems)} of {len(table)} answers cannot be recorded; nothing "
            f"was recorded. {' '.join(problems[:SHOWN_PROBLEMS])}"
            + (f" And {more} more." if more > 0 else "")
        )
    return [answer for _, answer in answers]


def import_annotations(
    session: Session,
    queue_name: str,
    path: str,
    *,
    dataset: str | None = None,
    tool: str = "file",
    aggregation: str = "plurality",
    tie_break: str = "refuse",
) -> PullResult:
    """Record answers from a CSV / JSONL / Parquet file, then decide as a pull does.

    Columns: ``sample_id``, ``annotator``, ``label`` (class name), and optionally
    ``annotation_id`` (unique per answer; where absent or blank: sample id + annotator,
    so a file imported twice adds nothing). The file is all or nothing: every row is checked first
    and a file with an unusable row (no sample id, annotator or label, an unknown class, a
    sample not in the queue, one expert giving a sample two labels) or no rows at all is
    refused with one :class:`InputError` listing them; nothing is recorded.
    """
    found = repo.get_dataset(session, dataset)
    queue = repo.get_queue(session, found, queue_name)
    table = read_table(path, text_columns=ANSWER_TEXT_COLUMNS)
    require_columns(str(path), table.columns, dict.fromkeys(("sample_id", "annotator", "label")))
    items = repo.queue_frame(session, queue).set_index("external_id")
    answers = _file_answers(session, table, str(path), queue, items.index, found.classes, tool=tool)
    recorded, repeated, _, rejected, _ = _record(
        session, items, queue, found.classes, answers, tool=tool
    )  # a file's changed answers were refused above
    return _decide_pull(
        session, found, queue, recorded, repeated, rejected, aggregation, tie_break, tool=tool
    )


@dataclass(frozen=True)
class SyncStatus:
    """Where a queue stands: its tool project (None until pushed), its item counts under
    the names ``queue list`` gives them (:func:`labelmend.storage.reads.queue_counts`),
    the items that have a task in the tool, the answers recorded that count, and the
    answers withdrawn in the tool since they were recorded."""

    queue: str
    project: str | None
    items: int
    open: int
    pending: int
    sent: int
    annotated: int
    resolved: int
    skipped: int
    pushed: int
    annotations: int
    withdrawn: int = 0


def sync_status(session: Session, queue_name: str, *, dataset: str | None = None) -> SyncStatus:
    """Counts for a queue: its items, open, pending, sent, annotated (answered, the
    answers tie: waiting for another vote), resolved and skipped (as ``queue list``),
    the items pushed (with a task in the tool, whatever their status), and the answers
    recorded.

    Examples
    --------
    >>> with open_store(url) as session:  # doctest: +SKIP
    ...     sync_status(session, "week1").resolved
    6
    """
    found = repo.get_dataset(session, dataset)
    queue = repo.get_queue(session, found, queue_name)
    items = repo.queue_frame(session, queue)
    return SyncStatus(
        queue=queue.name,
        project=queue.external_project,
        **queue_counts(Counter(items["status"])),
        pushed=int(items["external_task_id"].notna().sum()),
        annotations=repo.count_annotations(session, queue),
        withdrawn=repo.count_annotations(session, queue, withdrawn=True),
    )

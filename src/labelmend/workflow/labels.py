"""``labelmend label`` / ``history`` / ``export labels``: label changes with provenance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from labelmend._validation import require_columns
from labelmend.errors import InputError
from labelmend.io import write_table
from labelmend.storage import reads
from labelmend.storage import repository as repo
from labelmend.storage.models import LabelChange
from labelmend.workflow._tables import (
    TableSource,
    class_codes,
    class_index,
    read_source,
    sample_ids,
    with_class_names,
)


def set_label(
    session: Session,
    sample_id: str,
    label: str,
    *,
    dataset: str | None = None,
    reason: str | None = None,
    actor: str | None = None,
    external_ref: str | None = None,
) -> LabelChange:
    """Change a sample's current label and record who, why and when.

    The sample leaves every queue it waits in. Setting the label it already has records
    a confirmation (``change.changed`` is False).

    Examples
    --------
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> samples = pd.DataFrame({"sample_id": ["a", "b", "c"], "label": ["cat", "cat", "dog"]})
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     fixed = set_label(session, "b", "dog", actor="ann", reason="a dog's ears")
    ...     confirmed = set_label(session, "c", "dog", actor="ann")
    >>> fixed.changed, fixed.old_label, fixed.new_label, fixed.source, fixed.actor
    (True, 0, 1, 'manual', 'ann')
    >>> confirmed.changed
    False
    """
    found = repo.get_dataset(session, dataset, lock=True)
    new_label = class_index(found, label)
    sample = repo.get_sample(session, found, sample_id, lock=True)
    return repo.record_decision(
        session,
        sample,
        new_label,
        source="manual",
        actor=actor,
        reason=reason,
        external_ref=external_ref,
    )


@dataclass(frozen=True)
class Undone:
    """An undo: the label put back and the label it replaced (class names); whether a
    decision of the sample still stands (an earlier one), and how many of its queue
    items are open again (none while a decision stands). When the newest score run
    scored the sample on a label the undo took back (a slip scored before its undo),
    ``stale_run`` is that run and ``scored_label`` the label it scored: the sample's
    p_error there no longer counts (:func:`~labelmend.workflow.stale_scores`) until
    ``labelmend score`` runs again; both None otherwise."""

    restored: str
    replaced: str
    decided: bool
    reopened: int
    stale_run: int | None = None
    scored_label: str | None = None


def undo_label(
    session: Session,
    sample_id: str,
    *,
    dataset: str | None = None,
    actor: str | None = None,
    reason: str | None = None,
) -> Undone:
    """Take back a sample's newest standing decision and put back the label it replaced.

    The undo is recorded in the history (source ``undo``, naming the decision it takes
    back); nothing is erased, and the undo is no decision. The decision that counts is
    then the sample's newest one not taken back, so undoing again takes back the one
    before. When none is left the sample is undecided, as before its first decision: the
    estimated label errors remaining count it by its p_error, ``status`` no longer counts
    it decided, its resolved queue items are open again (``annotated`` when answers to
    them are recorded, else ``sent`` when their task is in the annotation tool, else
    ``pending``), and a new queue may take it when none holds it. Answers a decision taken
    back was made from stay recorded but no longer count as votes, so the next pull does
    not decide the sample again from them. When the newest score run scored the sample
    on a label the undo takes back, its p_error there stops counting until ``labelmend
    score`` scores the label that stands (``stale_run``). See docs/store.md, "Names of
    queue counts".

    Raises
    ------
    InputError
        The sample has no decision to take back (none, or all taken back); nothing is
        written.

    Examples
    --------
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> samples = pd.DataFrame({"sample_id": ["a", "b", "c"], "label": ["cat", "cat", "dog"]})
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     _ = workflow.set_label(session, "b", "dog", actor="ann")
    ...     undone = undo_label(session, "b", actor="ann")
    ...     history = workflow.label_history(session, "b")
    >>> undone.restored, undone.replaced, undone.decided, undone.reopened, undone.stale_run
    ('cat', 'dog', False, 0, None)
    >>> print(history[["old_label", "new_label", "source", "undone"]])
      old_label new_label  source  undone
    0       cat       dog  manual    True
    1       dog       cat    undo   False
    """
    found = repo.get_dataset(session, dataset, lock=True)
    sample = repo.get_sample(session, found, sample_id, lock=True)
    standing = repo.standing_decisions(session, sample)
    if not standing:
        undone = any(change.source == "undo" for change in repo.history_of(session, sample))
        why = "every decision of it is undone already" if undone else "nobody decided it"
        raise InputError(f"Sample {sample_id!r} has no decision to undo: {why}.")
    last = standing[-1]
    names = found.classes
    replaced = sample.current_label
    reopened = repo.record_undo(
        session,
        sample,
        last,
        actor=actor,
        reason=reason
        or f"undo of {names[last.old_label]!r} -> {names[last.new_label]!r} by {last.actor}",
    )
    from labelmend.workflow.status import stale_scores

    stale_run = scored = None
    run = reads.latest_score_run(session, found)
    if run is not None and sample.id in stale_scores(session, found, run):
        stale_run, label = run.id, reads.scored_label(session, run, sample.id)
        scored = None if label is None else names[label]
    return Undone(
        names[last.old_label], names[replaced], len(standing) > 1, reopened, stale_run, scored
    )


@dataclass(frozen=True)
class LabelDecisions:
    """Decisions recorded from a file: how many, and how many changed a label."""

    decided: int
    changed: int


def set_labels(
    session: Session,
    source: TableSource,
    *,
    dataset: str | None = None,
    reason: str | None = None,
    actor: str | None = None,
) -> LabelDecisions:
    """Decide many labels at once from a table with columns ``sample_id`` and ``label``
    (class names), and optionally ``reason`` and ``actor`` per row.

    The whole table is checked (ids known and unique, class names known) before any
    label changes; each row is then recorded as :func:`set_label` records one.

    Examples
    --------
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> samples = pd.DataFrame({"sample_id": ["a", "b", "c"], "label": ["cat", "cat", "dog"]})
    >>> answers = pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"],
    ...                         "actor": ["ann", "bob"]})
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     set_labels(session, answers)  # a confirms its label, b changes
    LabelDecisions(decided=2, changed=1)
    """
    table, name = read_source(source, "sample_id", text_columns=["label", "actor", "reason"])
    require_columns(name, table.columns, {"sample_id": None, "label": None})
    found = repo.get_dataset(session, dataset, lock=True)
    ids = sample_ids(table, name, "sample_id")
    labels = class_codes(table, name, "label", found)
    keys = repo.sample_frame(session, found).set_index("external_id")["id"]
    unknown = ~ids.isin(keys.index)
    if unknown.any():
        raise InputError(
            f"{name}: {int(unknown.sum())} id(s) are not samples of {found.name!r} "
            f"(first {ids[unknown].iloc[0]!r}); nothing was changed."
        )
    reasons = table["reason"] if "reason" in table.columns else pd.Series(reason, index=table.index)
    actors = table["actor"] if "actor" in table.columns else pd.Series(actor, index=table.index)
    samples = {s.id: s for s in repo.samples_by_key(session, keys.loc[ids].tolist())}
    changed = 0
    for key, label, why, who in zip(
        keys.loc[ids].tolist(), labels.tolist(), reasons, actors, strict=True
    ):
        change = repo.record_decision(
            session,
            samples[key],
            label,
            source="manual",
            actor=None if pd.isna(who) else str(who),
            reason=None if pd.isna(why) else str(why),
            external_ref=f"file:{name}",
        )
        changed += change.changed
    return LabelDecisions(len(ids), changed)


def label_history(session: Session, sample_id: str, *, dataset: str | None = None) -> pd.DataFrame:
    """A sample's label history, oldest first, labels as class names: its decisions and
    its undos (source ``undo``, ``new_label`` the label put back).

    Columns: at, old_label, new_label, source, actor, reason, external_ref, undone (True
    for a decision an undo took back).

    Examples
    --------
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> samples = pd.DataFrame({"sample_id": ["a", "b", "c"], "label": ["cat", "cat", "dog"]})
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     _ = workflow.set_label(session, "b", "dog", actor="ann", reason="ears")
    ...     _ = workflow.set_label(session, "b", "cat", actor="bob", reason="whiskers")
    ...     history = label_history(session, "b")
    >>> print(history[["old_label", "new_label", "actor", "reason"]])
      old_label new_label actor    reason
    0       cat       dog   ann      ears
    1       dog       cat   bob  whiskers
    """
    found = repo.get_dataset(session, dataset)
    sample = repo.get_sample(session, found, sample_id)
    names = found.classes
    changes = repo.history_of(session, sample)
    taken_back = {change.undoes for change in changes}
    columns = ["at", "old_label", "new_label", "source", "actor", "reason", "external_ref"]
    return pd.DataFrame(
        [
            {
                "at": change.created_at,
                "old_label": names[change.old_label],
                "new_label": names[change.new_label],
                "source": change.source,
                "actor": change.actor,
                "reason": change.reason,
                "external_ref": change.external_ref,
                "undone": change.id in taken_back,
            }
            for change in changes
        ],
        columns=[*columns, "undone"],
    )


def export_labels(session: Session, path: str | Path, *, dataset: str | None = None) -> int:
    """Write current labels with provenance to CSV / Parquet / JSONL; returns the row count.

    Columns: sample_id, given_label, current_label, changed, changed_source, changed_by,
    change_reason, changed_at (the newest standing decision — a change or a
    confirmation, not taken back by ``label undo``; empty for samples undecided).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> samples = pd.DataFrame({"sample_id": ["a", "b", "c"], "label": ["cat", "cat", "dog"]})
    >>> with tempfile.TemporaryDirectory() as tmp, open_store("sqlite://") as session:
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     _ = workflow.set_label(session, "b", "dog", actor="ann")
    ...     export_labels(session, f"{tmp}/labels.csv")
    ...     labels = pd.read_csv(f"{tmp}/labels.csv")
    3
    >>> print(labels[["sample_id", "given_label", "current_label", "changed", "changed_by"]])
      sample_id given_label current_label  changed changed_by
    0         a         cat           cat    False        NaN
    1         b         cat           dog     True        ann
    2         c         dog           dog    False        NaN
    """
    found = repo.get_dataset(session, dataset)
    samples = repo.sample_frame(session, found)
    frame = samples.merge(
        repo.last_changes(session, found), left_on="id", right_on="sample_id", how="left"
    )
    frame["changed"] = frame["given_label"] != frame["current_label"]
    frame = with_class_names(frame, found.classes, ["given_label", "current_label"])
    frame = frame.drop(columns=["id", "sample_id"]).rename(columns={"external_id": "sample_id"})
    write_table(
        frame[
            [
                "sample_id",
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

"""``labelmend label`` / ``history`` / ``export labels``: label changes with provenance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from labelmend._validation import require_columns
from labelmend.errors import InputError
from labelmend.io import write_table
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
    """An undo: the label put back and the label it replaced (class names)."""

    restored: str
    replaced: str


def undo_label(
    session: Session,
    sample_id: str,
    *,
    dataset: str | None = None,
    actor: str | None = None,
    reason: str | None = None,
) -> Undone:
    """Put back the label a sample had before its newest label change.

    The undo is itself a decision in the history (source ``manual``), naming the change
    it reverts; nothing is erased. So the sample stays decided in every count (``status``'s
    ``decided``; its open queue items become ``resolved``; the estimated label errors
    remaining count it by the decision, not its p_error; no new queue takes it): see
    docs/store.md, "Names of queue counts". A sample whose label never changed is refused.

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
    ...     undo_label(session, "b")
    ...     history = workflow.label_history(session, "b")
    Undone(restored='cat', replaced='dog')
    >>> print(history[["old_label", "new_label", "reason"]])
      old_label new_label                         reason
    0       cat       dog                            NaN
    1       dog       cat  undo of 'cat' -> 'dog' by ann
    """
    found = repo.get_dataset(session, dataset, lock=True)
    sample = repo.get_sample(session, found, sample_id, lock=True)
    changes = [c for c in repo.history_of(session, sample) if c.changed]
    if not changes:
        raise InputError(f"Sample {sample_id!r} still has its given label; nothing to undo.")
    last = changes[-1]
    names = found.classes
    replaced = sample.current_label
    repo.record_decision(
        session,
        sample,
        last.old_label,
        source="manual",
        actor=actor,
        reason=reason
        or f"undo of {names[last.old_label]!r} -> {names[last.new_label]!r} by {last.actor}",
        external_ref=f"undo:{last.id}",
    )
    return Undone(names[last.old_label], names[replaced])


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
    """A sample's label changes, oldest first, labels as class names.

    Columns: at, old_label, new_label, source, actor, reason, external_ref.

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
            }
            for change in repo.history_of(session, sample)
        ],
        columns=["at", "old_label", "new_label", "source", "actor", "reason", "external_ref"],
    )


def export_labels(session: Session, path: str | Path, *, dataset: str | None = None) -> int:
    """Write current labels with provenance to CSV / Parquet / JSONL; returns the row count.

    Columns: sample_id, given_label, current_label, changed, changed_source, changed_by,
    change_reason, changed_at (the newest decision — a change or a confirmation; empty
    for samples nobody decided).

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

"""``labelmend import``: samples and model predictions into the store, matched by id."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from labelmend._validation import check_probability_block, require_columns
from labelmend.errors import InputError
from labelmend.io import ID_COLUMN
from labelmend.storage import repository as repo
from labelmend.workflow._tables import (
    TableSource,
    class_codes,
    fingerprint,
    match_samples,
    read_source,
    sample_ids,
)


@dataclass(frozen=True)
class SampleImport:
    """What ``import samples`` did: new samples added, samples already stored unchanged,
    and samples already stored whose metadata in the table differs (kept as stored: an
    import never changes a stored sample)."""

    dataset: str
    inserted: int
    unchanged: int
    other_metadata: int = 0


def import_samples(
    session: Session,
    source: TableSource,
    *,
    dataset: str | None = None,
    id_col: str = ID_COLUMN,
    label_col: str = "label",
    progress: repo.ProgressCallback | None = None,
) -> SampleImport:
    """Add samples from a table: an id column, a label column (class names), metadata.

    Every other column becomes the sample's metadata (an image URL, a text…). Running
    the same import again changes nothing; a file that gives a stored sample another
    label is refused whole, and one that gives it other metadata leaves it as stored
    (counted in ``other_metadata``).

    Examples
    --------
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.errors import InputError
    >>> from labelmend.storage import open_store
    >>> samples = pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"],
    ...                         "image": ["a.png", "b.png"]})  # metadata
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     import_samples(session, samples)
    ...     import_samples(session, samples)  # the same table again: nothing changes
    ...     try:
    ...         import_samples(session, samples.assign(label="dog"))
    ...     except InputError as error:
    ...         print(error)
    SampleImport(dataset='pets', inserted=2, unchanged=0, other_metadata=0)
    SampleImport(dataset='pets', inserted=0, unchanged=2, other_metadata=0)
    table: 1 sample(s) are already stored with another given label (first 'a': stored 'cat', file says 'dog'); nothing was imported. Change labels with `labelmend label set`.
    """
    table, name = read_source(source, id_col, text_columns=[label_col])
    require_columns(name, table.columns, {id_col: "id_col", label_col: "label_col"})
    found = repo.get_dataset(session, dataset, lock=True)
    ids = sample_ids(table, name, id_col)
    labels = class_codes(table, name, label_col, found)
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
    meta: Sequence[str | None] = [None] * len(table)
    other_metadata = 0
    if meta_columns:
        meta = table[meta_columns].to_json(orient="records", lines=True).splitlines()
        if known.any():
            stored_meta = repo.sample_metadata(session, found).reindex(ids[known])
            file_meta = (json.loads(line) for line, old in zip(meta, known, strict=True) if old)
            other_metadata = sum(a != b for a, b in zip(stored_meta, file_meta, strict=True))
    repo.insert_samples(
        session,
        found,
        ids[new].tolist(),
        labels[new],
        [m for m, fresh in zip(meta, new, strict=True) if fresh],
        progress=progress,
    )
    return SampleImport(
        found.name, int(new.sum()), int(known.sum()) - other_metadata, other_metadata
    )


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
    id_col: str = ID_COLUMN,
    progress: repo.ProgressCallback | None = None,
) -> PredictionImport:
    """Store a model's probabilities: an id column and one column per class, named by class.

    Rows are matched to samples by id, never by position; every sample of the dataset
    must have exactly one row. Importing the same file for the same model again is a no-op.

    Examples
    --------
    The rows come in another order than the samples; each is stored with its own sample:

    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store, repository
    >>> samples = pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"]})
    >>> probs = pd.DataFrame({"sample_id": ["b", "a"], "cat": [0.3, 0.9], "dog": [0.7, 0.1]})
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     first = import_predictions(session, probs, model="resnet")
    ...     again = import_predictions(session, probs, model="resnet")
    ...     pets = repository.get_dataset(session, "pets")
    ...     run = repository.latest_prediction_run(session, pets, "resnet")
    ...     _, stored = repository.load_probabilities(session, run, 2)  # in sample order
    >>> first.n_samples, first.created, again.created, again.run_id == first.run_id
    (2, True, False, True)
    >>> stored  # a's row, then b's
    array([[0.9, 0.1],
           [0.3, 0.7]])
    """
    table, name = read_source(source, id_col)
    require_columns(name, table.columns, {id_col: "id_col"})
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
    ids = sample_ids(table, name, id_col)
    samples = repo.sample_frame(session, found)
    position = match_samples(ids, samples, found, name, what="prediction")
    probs = probs_frame.to_numpy(dtype=np.float64)
    try:
        check_probability_block(probs, rescale_hint=False, source=name)
    except InputError as exc:
        raise InputError(
            f"{exc.renamed({'pred_probs': name})} Store probabilities: apply a softmax to "
            "logits, or divide each row by its sum, before importing."
        ) from None
    digest = fingerprint(source, table)
    existing = repo.find_prediction_run(session, found, model, digest)
    if existing is not None:
        return PredictionImport(found.name, model, existing.id, existing.n_samples, False)
    sample_keys = samples["id"].to_numpy()[position]
    run = repo.add_prediction_run(
        session,
        found,
        model=model,
        file_hash=digest,
        sample_ids=sample_keys,
        probs=probs,
        progress=progress,
    )
    return PredictionImport(found.name, model, run.id, len(ids), True)

"""``labelmend status``: how healthy a dataset's labels are."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from labelmend.cleaner import select_batch
from labelmend.errors import InputError
from labelmend.storage import repository as repo


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

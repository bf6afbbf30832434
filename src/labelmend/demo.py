"""The whole relabelling loop on scikit-learn's digits with injected label noise.

Each step is the library function behind a CLI command, run in its own transaction,
exactly as a user would run ``labelmend init``, ``import samples``, ``import predictions``,
``score``, ``queue create``, ``sync import-annotations --aggregation single-expert`` (one
expert's answers from a CSV file), a rescore and ``status``. The simulated expert answers
every queued sample with its true label.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labelmend import workflow
from labelmend._validation import RandomState
from labelmend.cleaner import ErrorCount
from labelmend.datasets import noisy_digits
from labelmend.io import ID_COLUMN, write_table
from labelmend.report import write_dataset_report
from labelmend.storage import create_store_engine, mask_url, session_scope
from labelmend.sync.service import import_annotations

DATASET = "digits"
MODEL = "logistic-regression-5-fold"
EXPERT = "expert (simulated)"


@dataclass(frozen=True)
class DemoReport:
    """What the loop found and fixed.

    Attributes
    ----------
    queue : DataFrame of the queue as the expert saw it, with a ``truly_wrong`` column
    errors_before : estimated label errors remaining before the expert answered
    status : the dataset's status after the expert's answers and the rescore (its
        ``errors`` is the same estimate now)
    report : the HTML report written at the end, if one was asked for
    """

    database: str
    n_samples: int
    n_flipped: int
    queue: pd.DataFrame
    found: int
    fixed: int
    broken: int
    remaining_errors: int
    errors_before: ErrorCount
    status: workflow.DatasetStatus
    report: Path | None


def run_demo(
    *,
    db: str | None = None,
    noise_rate: float = 0.1,
    budget: int = 250,
    random_state: RandomState = 0,
    report: str | Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> DemoReport:
    """Run the loop on ``db`` (default: a SQLite file in a temporary directory).

    ``report``: where to write the dataset's HTML report at the end (with the digits'
    images as thumbnails); ``on_step`` is called with a short description before each
    step (for a progress display).

    >>> report = run_demo(budget=100)
    >>> (report.n_flipped, report.found == report.fixed, report.broken)
    (180, True, 0)
    """
    step = on_step or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="labelmend-demo-") as tmp:
        work = Path(tmp)
        url = db or f"sqlite:///{work / 'labelmend.db'}"
        step("Training a cross-validated model on noisy digits")
        data = noisy_digits(noise_rate=noise_rate, random_state=random_state)
        ids = np.char.add("digit-", np.char.zfill(np.arange(len(data.labels)).astype(str), 4))
        classes = np.asarray(data.classes)
        images = _write_digit_images(data.features, ids, work / "images")
        samples = write_table(
            pd.DataFrame({"sample_id": ids, "label": classes[data.labels], "image": images}),
            work / "samples.csv",
        )
        # Shuffled on purpose: predictions are matched to samples by id, not by position.
        shuffled = np.random.default_rng(0).permutation(len(ids))
        probs = pd.DataFrame(data.pred_probs[shuffled], columns=data.classes)
        probs.insert(0, "sample_id", ids[shuffled].tolist())
        predictions = write_table(probs, work / "predictions.parquet")
        true_label = pd.Series(classes[data.true_labels], index=ids)

        engine = create_store_engine(url)
        try:
            step("Creating the dataset and importing samples and predictions")
            with session_scope(engine) as session:
                workflow.init_dataset(session, DATASET, data.classes)
            with session_scope(engine) as session:
                workflow.import_samples(session, samples, dataset=DATASET)
            with session_scope(engine) as session:
                workflow.import_predictions(session, predictions, model=MODEL, dataset=DATASET)
            step("Scoring every sample and queueing the most suspicious")
            with session_scope(engine) as session:
                before = workflow.score(session, dataset=DATASET)
            with session_scope(engine) as session:
                workflow.create_queue(session, "review-1", dataset=DATASET, budget=budget)
            with session_scope(engine) as session:
                queue = workflow.queue_items(session, "review-1", dataset=DATASET)
            step("The expert answers the queue")
            answers = write_table(
                pd.DataFrame(
                    {
                        "sample_id": queue[ID_COLUMN],
                        "annotator": EXPERT,
                        "label": true_label.loc[queue[ID_COLUMN]].to_numpy(),
                    }
                ),
                work / "answers.csv",
            )
            with session_scope(engine) as session:
                import_annotations(
                    session, "review-1", str(answers), dataset=DATASET,
                    aggregation="single-expert",
                )  # fmt: skip
            step("Rescoring with the corrected labels")
            with session_scope(engine) as session:
                workflow.score(session, dataset=DATASET)
            with session_scope(engine) as session:
                status = workflow.dataset_status(session, dataset=DATASET)
            with session_scope(engine) as session:
                current = workflow.queue_items(
                    session, "review-1", dataset=DATASET, open_only=False
                )
            if report is not None:
                step("Writing the dataset's HTML report")
                report = write_dataset_report(report, db=url, dataset=DATASET, images=work)
        finally:
            engine.dispose()
    truly_wrong = (queue["given_label"] != true_label.loc[queue[ID_COLUMN]].to_numpy()).to_numpy()
    corrected = (
        current["current_label"] == true_label.loc[current[ID_COLUMN]].to_numpy()
    ).to_numpy()
    was_right = (current["given_label"] == true_label.loc[current[ID_COLUMN]].to_numpy()).to_numpy()
    return DemoReport(
        database=mask_url(url) if db else "a temporary SQLite file",
        n_samples=len(ids),
        n_flipped=int(data.is_error.sum()),
        queue=queue.assign(truly_wrong=np.where(truly_wrong, "yes", "")),
        found=int(truly_wrong.sum()),
        fixed=int((corrected & ~was_right).sum()),
        broken=int((~corrected & was_right).sum()),
        remaining_errors=int(data.is_error.sum()) - int((corrected & ~was_right).sum()),
        errors_before=before.errors,
        status=status,
        report=None if report is None else Path(report),
    )


def _write_digit_images(features: np.ndarray, ids: np.ndarray, folder: Path) -> list[str]:
    """Each digit's 8×8 pixels (values 0-16) as a PNG; paths relative to ``folder``'s parent."""
    from PIL import Image

    folder.mkdir()
    pixels = (255 - features.reshape(-1, 8, 8) * 255 / 16).round().astype(np.uint8)
    for sample_id, image in zip(ids, pixels, strict=True):
        Image.fromarray(image, mode="L").save(folder / f"{sample_id}.png")
    return [f"{folder.name}/{sample_id}.png" for sample_id in ids]

"""Write a repair's results to a directory: the files ``labelmend repair`` promises."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelmend.io import write_table
from labelmend.repair.evaluate import RepairResult, relabel_queue
from labelmend.repair.identify import as_classifier
from labelmend.repair.models import write_model
from labelmend.repair.plot import plot_repair
from labelmend.report.page import write_page
from labelmend.report.repair import repair_page


def write_repair(
    result: RepairResult, directory: str | Path, *, train: tuple[Any, Any]
) -> dict[str, Path]:
    """Write ``suspects.csv``, ``relabel_queue.csv``, ``report.json``, the repaired model,
    ``repair.png`` and the page ``report.html`` into ``directory``; return their paths by
    name.

    ``suspects.csv`` has one row per training example in input order: ``index``,
    ``score`` (higher = more harmful) and ``removed``. ``relabel_queue.csv`` is
    :func:`~labelmend.repair.evaluate.relabel_queue` with the repaired model's
    predictions as suggested labels.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    features, labels = train
    suggested = as_classifier(result.after, len(labels)).predict(np.asarray(features))
    paths = {
        "suspects": write_table(
            pd.DataFrame(
                {
                    "index": np.arange(len(result.scores)),
                    "score": result.scores,
                    "removed": result.removed,
                }
            ),
            directory / "suspects.csv",
        ),
        "relabel_queue": write_table(
            relabel_queue(
                result.scores, labels, suggested_labels=suggested, removed=result.removed
            ),
            directory / "relabel_queue.csv",
        ),
        "model": write_model(result.after, directory),
        "plot": plot_repair(result.report, directory / "repair.png", k_curve=result.k_curve),
    }
    report = {key: (None if math.isnan(value) else value) for key, value in result.report.items()}
    report["k_removed"] = int(result.report["k_removed"])
    paths["report"] = directory / "report.json"
    paths["report"].write_text(json.dumps(report, indent=2) + "\n")
    paths["page"] = write_page(repair_page(result), directory / "report.html")
    return paths

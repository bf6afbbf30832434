"""The relabelling workflow on the store: one function per CLI command.

Each function takes an open :class:`~sqlalchemy.orm.Session` (one transaction, owned by
the caller), validates its input completely before writing anything, and returns a
result for the caller to print. Scores come from :mod:`labelmend.cleaner`; nothing here
computes a score itself.

>>> import tempfile, pathlib, pandas as pd
>>> from labelmend import workflow
>>> from labelmend.storage import open_store
>>> with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/x.db") as session:
...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
...     samples = pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"]})
...     workflow.import_samples(session, samples).inserted
2

Modules load on first use of one of their names, so that ``labelmend status`` reads the
store without importing pandas or scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelmend._lazy import attach

if TYPE_CHECKING:
    from labelmend.workflow.features import FeatureImport, feature_matrix, import_features
    from labelmend.workflow.fit import FitResult, RoundResult, active_round, fit
    from labelmend.workflow.imports import (
        PredictionImport,
        SampleImport,
        import_predictions,
        import_samples,
    )
    from labelmend.workflow.init import init_dataset, parse_classes
    from labelmend.workflow.labels import (
        export_labels,
        label_history,
        set_label,
        set_labels,
        undo_label,
    )
    from labelmend.workflow.queue import (
        QUEUE_STRATEGIES,
        QueueResult,
        create_queue,
        delete_queue,
        export_queue,
        queue_items,
    )
    from labelmend.workflow.score import ScoreResult, score, score_shards
    from labelmend.workflow.status import (
        DatasetStatus,
        dataset_status,
        decided_since_predictions,
        errors_remaining,
        list_datasets,
        list_queues,
        stale_scores,
    )

__all__ = [
    "QUEUE_STRATEGIES",
    "DatasetStatus",
    "FeatureImport",
    "FitResult",
    "PredictionImport",
    "QueueResult",
    "RoundResult",
    "SampleImport",
    "ScoreResult",
    "active_round",
    "create_queue",
    "dataset_status",
    "decided_since_predictions",
    "delete_queue",
    "errors_remaining",
    "export_labels",
    "export_queue",
    "feature_matrix",
    "fit",
    "import_features",
    "import_predictions",
    "import_samples",
    "init_dataset",
    "label_history",
    "list_datasets",
    "list_queues",
    "parse_classes",
    "queue_items",
    "score",
    "score_shards",
    "set_label",
    "set_labels",
    "stale_scores",
    "undo_label",
]

__getattr__, __dir__ = attach(
    __name__, ("status", "init", "labels", "queue", "imports", "score", "features", "fit")
)

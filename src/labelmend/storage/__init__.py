"""The relabelling store: tables, ORM models, repository functions, Alembic migrations.

>>> import tempfile
>>> from labelmend.storage import open_store, repository
>>> with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/x.db") as session:
...     repository.create_dataset(session, "pets", ["cat", "dog"]).classes
['cat', 'dog']

Modules load on first use of one of their names: the tables
(:mod:`~labelmend.storage.schema`) and the reads behind ``labelmend status``
(:mod:`~labelmend.storage.reads`) need SQLAlchemy Core only, the models and
:mod:`~labelmend.storage.repository` its ORM as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelmend._lazy import attach

if TYPE_CHECKING:
    from labelmend.storage.engine import (
        DEFAULT_URL,
        create_store_engine,
        mask_url,
        open_store,
        read_connection,
        read_store,
        resolve_url,
        session_scope,
    )
    from labelmend.storage.models import (
        Annotation,
        Base,
        Dataset,
        LabelChange,
        PredictionBlock,
        PredictionRun,
        Queue,
        QueueItem,
        Sample,
        Score,
        ScoreRun,
    )
    from labelmend.storage.schema import LABEL_SOURCES, OPEN_STATUSES, QUEUE_STATUSES

__all__ = [
    "DEFAULT_URL",
    "LABEL_SOURCES",
    "OPEN_STATUSES",
    "QUEUE_STATUSES",
    "Annotation",
    "Base",
    "Dataset",
    "LabelChange",
    "PredictionBlock",
    "PredictionRun",
    "Queue",
    "QueueItem",
    "Sample",
    "Score",
    "ScoreRun",
    "create_store_engine",
    "mask_url",
    "open_store",
    "read_connection",
    "read_store",
    "resolve_url",
    "session_scope",
]

__getattr__, __dir__ = attach(__name__, ("schema", "engine", "models"))

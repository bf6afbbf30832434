"""The relabelling store: SQLAlchemy models, repository functions, Alembic migrations.

>>> import tempfile
>>> from labelmend.storage import open_store, repository
>>> with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/x.db") as session:
...     repository.create_dataset(session, "pets", ["cat", "dog"]).classes
['cat', 'dog']
"""

from labelmend.storage import repository
from labelmend.storage.engine import (
    DEFAULT_URL,
    create_store_engine,
    mask_url,
    open_store,
    read_store,
    resolve_url,
    session_scope,
)
from labelmend.storage.models import (
    LABEL_SOURCES,
    OPEN_STATUSES,
    QUEUE_STATUSES,
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
    "read_store",
    "repository",
    "resolve_url",
    "session_scope",
]

"""Sync relabel queues with annotation tools (Label Studio, or files).

One function per ``labelmend push`` / ``pull`` / ``sync …`` command: each takes an open
session and commits nothing (a caller that wants every batch or page kept passes a
``checkpoint``, typically ``session.commit``). :class:`LabelStudioClient` is the tool's
HTTP client; the file route (``export_tasks`` / ``import_annotations``) serves any other
tool.

>>> from labelmend.sync import import_annotations  # ``labelmend sync import-annotations``

Modules load on first use of one of their names: ``import labelmend.sync`` imports
neither SQLAlchemy nor pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelmend._lazy import attach

if TYPE_CHECKING:
    from labelmend.sync.label_studio import LabelStudioClient, RemoteAnnotation
    from labelmend.sync.service import (
        TIE_BREAKS,
        Decisions,
        PullResult,
        PushResult,
        SyncStatus,
        decide_queue,
        export_tasks,
        import_annotations,
        pull_queue,
        push_queue,
        sync_status,
    )

__all__ = [
    "TIE_BREAKS",
    "Decisions",
    "LabelStudioClient",
    "PullResult",
    "PushResult",
    "RemoteAnnotation",
    "SyncStatus",
    "decide_queue",
    "export_tasks",
    "import_annotations",
    "pull_queue",
    "push_queue",
    "sync_status",
]

__getattr__, __dir__ = attach(__name__, ("label_studio", "service"))

"""Simulate relabelling budgets on real annotator data (pure numpy core, no I/O).

Reproduces the active label cleaning protocol (Bernhardt et al., Nature Comms 2022):
initial noisy labels drawn from a sharpened annotator distribution, relabels drawn one
annotation at a time until a unique plurality, a budget counted in annotations, and
selectors compared by the noisy labels they fix. File writing and plots live in
:mod:`labelmend.simulator.report`.
"""

from labelmend.simulator.annotators import (
    AnnotatorModel,
    initial_labels,
    sharpened,
)
from labelmend.simulator.crowd import CrowdModel, fit_crowd
from labelmend.simulator.relabel import draw_streams, relabel
from labelmend.simulator.selectors import MODEL_FREE, SELECTORS, Ranking, SelectorState
from labelmend.simulator.simulation import (
    CHECKPOINTS,
    CURVE_COLUMNS,
    Features,
    RunResult,
    annotation_grid,
    simulate_run,
    stopping,
)

__all__ = [
    "CHECKPOINTS",
    "CURVE_COLUMNS",
    "MODEL_FREE",
    "SELECTORS",
    "AnnotatorModel",
    "CrowdModel",
    "Features",
    "Ranking",
    "RunResult",
    "SelectorState",
    "annotation_grid",
    "draw_streams",
    "fit_crowd",
    "initial_labels",
    "relabel",
    "sharpened",
    "simulate_run",
    "stopping",
]

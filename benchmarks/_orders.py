"""The orders every quality benchmark compares, computed in one run, and their metrics.

Ours: the default priority and the ``p_error`` (``posterior``) order. cleanlab's:
``get_label_quality_scores`` with each of its three scores, and ``find_label_issues``
(a flagged set, ranked by self-confidence; rows it does not flag come after, in row
order). Each order is a permutation of the rows, review-first first.
"""

from __future__ import annotations

import numpy as np
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores

from labelmend.cleaner import DEFAULT_METHOD, SampleScores, score_samples

CLEANLAB_SCORES = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
OURS_DEFAULT = f"labelmend {DEFAULT_METHOD} (default)"
OURS_P_ERROR = "labelmend p_error (posterior)"
FIND_LABEL_ISSUES = "cleanlab find_label_issues"


def orders(
    labels: np.ndarray, probs: np.ndarray, *, n_jobs: int | None = None
) -> tuple[dict[str, np.ndarray], SampleScores, int]:
    """Orders (name → (N,) row permutation), our default :class:`SampleScores`, and how
    many rows ``find_label_issues`` flags.

    Our p_error order and the default come from one :func:`score_samples` call, whose
    ``p_error`` is the same under every method. ``n_jobs``: threads of ours and
    processes of ``find_label_issues`` (None: every core; the orders do not depend on it).
    """
    ours = score_samples(labels, probs, n_jobs=n_jobs)
    scores = {OURS_DEFAULT: ours.priority, OURS_P_ERROR: ours.p_error}
    for method in CLEANLAB_SCORES:
        scores[f"cleanlab {method}"] = -get_label_quality_scores(labels, probs, method=method)
    ranked = {name: np.argsort(-score, kind="stable") for name, score in scores.items()}
    flagged = find_label_issues(
        labels, probs, return_indices_ranked_by="self_confidence", n_jobs=n_jobs
    )
    rest = np.setdiff1d(np.arange(labels.size), flagged)
    ranked[FIND_LABEL_ISSUES] = np.concatenate([flagged, rest])
    return ranked, ours, int(flagged.size)


def order_scores(order: np.ndarray) -> np.ndarray:
    """(N,) score of each row from its position in ``order``: first row highest."""
    score = np.empty(order.size)
    score[order] = np.arange(order.size, 0, -1)
    return score


def found_in_top(order: np.ndarray, is_error: np.ndarray, top: int) -> int:
    """Number of rows flagged in ``is_error`` among the first ``top`` of ``order``."""
    return int(is_error[order[:top]].sum())

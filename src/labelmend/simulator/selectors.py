"""Who gets reviewed next: random, the oracle, every engine ranking, cleanlab's ActiveLab.

Every selector maps the current state of a simulation to a :class:`Ranking`. Engine
rankings come from :func:`labelmend.cleaner.score_samples` (never re-implemented here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelmend.cleaner import (
    DEFAULT_METHOD,
    RANKING_METHODS,
    learn_from_answers,
    score_samples,
)
from labelmend.cleaner.cost import compute_expected_annotations
from labelmend.errors import InputError
from labelmend.simulator.annotators import AnnotatorModel
from labelmend.simulator.relabel import outcome_probabilities

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class SelectorState:
    """What a selector may look at before choosing the next batch.

    Attributes
    ----------
    labels : (N,) int
        Current labels.
    pred_probs : (N, K) float or None
        Model probabilities, already combined with the collected votes.
    answers : (N, A) float
        Every label so far per sample (column 0 = the initial label), NaN where none.
    annotators : AnnotatorModel
        The truth, for the oracle only.
    rng : numpy Generator
    votes : (N, K) float, optional
        Expert answers collected per sample and class (the initial label not counted).
    model_probs : (N, K) float, optional
        The model's probabilities before the votes were combined in: what the engine
        fits the experts' reliability on (:func:`~labelmend.cleaner.fit_expert_reliability`).
    """

    labels: IntArray
    pred_probs: FloatArray | None
    answers: FloatArray
    annotators: AnnotatorModel
    rng: np.random.Generator
    votes: FloatArray | None = None
    model_probs: FloatArray | None = None


@dataclass(frozen=True)
class Ranking:
    """Review order keys: ``priority`` descending, then ``secondary`` descending, then random.

    ``p_error`` (the engine's calibrated error probability) feeds the stopping rule.
    """

    priority: FloatArray
    secondary: FloatArray
    p_error: FloatArray | None = None

    def order(self, rng: np.random.Generator) -> IntArray:
        """(N,) row indices, first = review first."""
        tiebreak = rng.random(self.priority.size)
        return np.lexsort((tiebreak, -self.secondary, -self.priority)).astype(np.intp)


Selector = Callable[[SelectorState], Ranking]


def _needs_probs(state: SelectorState, name: str) -> FloatArray:
    if state.pred_probs is None:
        raise InputError(
            f"Selector {name!r} needs model probabilities: pass pred_probs.", inputs=("pred_probs",)
        )
    return state.pred_probs


def engine_selector(method: str, *, name: str | None = None) -> Selector:
    """The engine's ranking ``method`` (a key of RANKING_METHODS); once experts have
    answered, with their reliability learnt from the answers, as ``labelmend round``.

    ``name``: what its messages call the selector, the key users pick it by (default
    ``method``; ``default`` for the engine's default method)."""

    def select(state: SelectorState) -> Ranking:
        probs = _needs_probs(state, method if name is None else name)
        noise_model = reliability = None
        if state.votes is not None and state.model_probs is not None and state.votes.any():
            noise_model, reliability = learn_from_answers(
                state.labels, probs, state.votes, model_probs=state.model_probs, n_jobs=1
            )
        scores = score_samples(
            state.labels,
            probs,
            method=method,
            noise_model=noise_model,
            reliability=reliability,
            n_jobs=1,
        )
        return Ranking(scores.priority, scores.p_error, scores.p_error)

    return select


def _random(state: SelectorState) -> Ranking:
    zeros = np.zeros(state.labels.size)
    return Ranking(state.rng.random(state.labels.size), zeros)


def _oracle(state: SelectorState) -> Ranking:
    """Expected net labels fixed per expected annotation, from the true distribution.

    p*(fix) = P(the review ends on the true label) − [current label is true], exactly
    (:func:`~labelmend.simulator.relabel.outcome_probabilities`), divided by the expected
    annotations (:func:`labelmend.cleaner.expected_annotations`). Using p*(wrong) =
    [current label is wrong] instead sends the oracle first to wrong labels the experts
    tend to confirm (they are cheap because an expert often repeats the wrong class).
    """
    truth = state.annotators
    rows = np.arange(state.labels.size)
    right = outcome_probabilities(truth.probs, state.labels)[rows, truth.true_labels]
    gain = right - (state.labels == truth.true_labels)
    cost = compute_expected_annotations(truth.probs, state.labels)
    return Ranking(gain / cost, gain)


def _activelab(state: SelectorState) -> Ranking:
    from cleanlab.multiannotator import get_active_learning_scores

    probs = _needs_probs(state, "activelab")
    answers = state.answers[:, ~np.all(np.isnan(state.answers), axis=0)]
    scores, _ = get_active_learning_scores(answers, probs)
    zeros = np.zeros(state.labels.size)
    return Ranking(-np.asarray(scores, dtype=np.float64), zeros)


#: Selector names: ``random``, ``oracle``, ``default`` (the engine's default method),
#: every engine method name, and ``activelab`` (cleanlab's peer).
SELECTORS: dict[str, Selector] = {
    "random": _random,
    "oracle": _oracle,
    "default": engine_selector(DEFAULT_METHOD, name="default"),
    **{name: engine_selector(name) for name in RANKING_METHODS},
    "activelab": _activelab,
}
#: Selectors that need no model probabilities.
MODEL_FREE = frozenset({"random", "oracle"})

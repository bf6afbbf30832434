"""Per-sample scores for one block of rows: correctness, difficulty, posterior, priority.

Every score is a pure function of a block of predicted probabilities, its labels and a
fitted :class:`~labelmend.cleaner.noise.NoiseModel`, so the in-memory, chunked and
distributed paths all call the same code. Intermediate quantities are computed lazily
and at most once per block (:class:`BlockScores`).

Registries
----------
:data:`RANKING_METHODS` maps a method name to a :class:`RankingMethod`: how it scores
correctness in [0, 1] (higher = label more likely right) and the priority it orders the
relabel queue by (higher = review sooner). :data:`DIFFICULTY_METHODS` maps a name to a
label-blind difficulty in [0, 1].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from labelmend._numeric import logit, row_sums
from labelmend._validation import check_number
from labelmend.cleaner.cost import COST_TERMS, compute_expected_annotations, fix_probabilities
from labelmend.cleaner.noise import NoiseModel, floored
from labelmend.errors import InputError

if TYPE_CHECKING:
    from labelmend.cleaner.reliability import ExpertReliability

FloatArray = npt.NDArray[np.float64]

#: Normalised entropy above which a sample is ambiguous (the active label cleaning paper).
AMBIGUITY_THRESHOLD = 0.3
#: Log-odds of p_error over which the default priority's error weight rises: ≈ 0 well
#: below the low end, linear in the log-odds up to the high end, 1 from there on. Kept
#: by leave-one-group-out over the simulator's sets (benchmarks/simulation.py).
ERROR_LOG_ODDS_RANGE = (-4.0, 6.0)
#: Pseudo-counts per true class of the confusion the default priority's fixability reads
#: (:func:`fix_table`): the same confident joint as p_error's likelihood, smoothed less
#: (p_error: :data:`~labelmend.cleaner.noise.NOISE_PRIOR_STRENGTH`) and at confident
#: learning's amount of noise. The two answer different questions: p_error needs rare
#: confusions kept possible, the fixability how reliably experts who answer like the
#: labellers settle each class pair, which strong smoothing flattens. Chosen by
#: leave-one-group-out over {10, 30, 100, 300} × {confident learning's amount, p_error's}
#: in benchmarks/simulation.py (docs/ranking.md, "How the default priority was chosen").
EXPERT_PRIOR_STRENGTH = 30.0
#: Smallest probability inside logarithms.
_TINY = 1e-12


def error_weight(
    p_error: npt.NDArray[np.floating[Any]],
    log_odds_range: tuple[float, float] = ERROR_LOG_ODDS_RANGE,
) -> FloatArray:
    """Weight in (0, 1] of a label by how surely it is wrong, same shape as ``p_error``.

    softplus(ℓ − low) / (high − low), capped at 1, where ℓ = log(p_error / (1 −
    p_error)) and (low, high) = ``log_odds_range``. Each tenfold in the odds of an error
    adds the same weight, so with the default range p_error 0.99 weighs 1.4× p_error 0.9
    (p_error itself: 1.1×) and dividing by the expected annotations no longer defers
    near-certain errors behind likely ones; errors with p_error ≥ 0.998 all weigh 1.

    >>> error_weight(np.array([0.5, 0.9, 0.99, 0.999])).round(2)
    array([0.4 , 0.62, 0.86, 1.  ])
    """
    low, high = log_odds_range
    clipped = np.clip(np.asarray(p_error, dtype=np.float64), _TINY, 1.0 - _TINY)
    return np.minimum(1.0, np.logaddexp(0.0, logit(clipped) - low) / (high - low))


def fix_table(noise_model: NoiseModel, prior_strength: float = EXPERT_PRIOR_STRENGTH) -> FloatArray:
    """(K, K) P(a review settles on t | given y, true t), ``[y, t]``, for the fixability.

    :func:`~labelmend.cleaner.cost.fix_probabilities` of experts answering like the
    labelling process (:func:`expert_confusion`): the noise model's likelihood smoothed
    with ``prior_strength`` pseudo-counts per class (:data:`EXPERT_PRIOR_STRENGTH`), at
    confident learning's own amount of noise, not at :attr:`NoiseModel.scale` (fitted to
    the given labels' share of errors, which is not how often experts err).

    >>> from labelmend.cleaner.noise import NoiseModel, ThresholdStats
    >>> stats = ThresholdStats(np.array([0.5, 0.5]), np.array([10, 10]))
    >>> model = NoiseModel.from_counts(stats, np.array([[8, 2], [0, 10]]))
    >>> fix_table(model, prior_strength=0.0).round(2)  # a true 1 labelled 0: 0.69
    array([[1.  , 0.69],
           [1.  , 0.97]])
    >>> fix_table(model).round(2)  # smoothed: a true 0 labelled 1 is no longer sure
    array([[0.99, 0.73],
           [0.8 , 0.98]])
    """
    return fix_probabilities(expert_confusion(noise_model, prior_strength), max_terms=COST_TERMS)


def expert_confusion(
    noise_model: NoiseModel,
    prior_strength: float = EXPERT_PRIOR_STRENGTH,
    scale: float | None = None,
) -> FloatArray:
    """(K, K) P(an expert answers s | true t), ``[s, t]``, as the fixability takes it:
    the noise model's likelihood smoothed with ``prior_strength`` pseudo-counts per
    class, at confident learning's amount of noise (``scale`` None; :func:`fix_table`).

    >>> from labelmend.cleaner.noise import NoiseModel, ThresholdStats
    >>> stats = ThresholdStats(np.array([0.5, 0.5]), np.array([10, 10]))
    >>> model = NoiseModel.from_counts(stats, np.array([[8, 2], [0, 10]]))
    >>> expert_confusion(model, prior_strength=0.0).round(2)
    array([[1.  , 0.17],
           [0.  , 0.83]])
    """
    if not isinstance(noise_model, NoiseModel):
        raise InputError(
            "noise_model must be a NoiseModel (fit_noise_model's). "
            f"Got {type(noise_model).__name__} instead.",
            inputs=("noise_model",),
        )
    check_number("prior_strength", prior_strength)
    if scale is not None:
        # T = I + s (T - I) keeps every column a distribution while s (1 - T[t, t]) ≤ 1.
        unscaled = dataclasses.replace(noise_model, prior_strength=prior_strength, scale=None)
        lost = float((1.0 - np.diagonal(unscaled.likelihood())).max())
        check_number("scale", scale, high=1.0 / lost if lost > 0 else np.inf)
    experts = dataclasses.replace(noise_model, prior_strength=prior_strength, scale=scale)
    return experts.likelihood()


class BlockScores:
    """Lazily computed quantities for one block of samples.

    Parameters
    ----------
    pred_probs : (n, K) array
        Predicted probabilities of the block (never modified).
    labels : (n,) int array
        Given labels of the block.
    noise_model : NoiseModel
        Fitted on the whole dataset.
    likelihood : (K, K) array, optional
        ``noise_model.likelihood()`` in the probabilities' dtype; pass it when scoring
        many blocks so that it is computed once.
    fix_table : (K, K) array, optional
        :func:`fix_table` of the noise model, likewise.
    reliability : ExpertReliability, optional
        The experts' reliability learnt from their answers
        (:func:`~labelmend.cleaner.reliability.fit_expert_reliability`): the fixability
        then reads it per row instead of the class-level :func:`fix_table`.

    Examples
    --------
    >>> from labelmend.cleaner.noise import NoiseModel, ThresholdStats
    >>> probs, labels = np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0])
    >>> stats = ThresholdStats(np.array([1.1, 0.0]), np.array([2, 0]))
    >>> model = NoiseModel.from_counts(stats, np.array([[1, 1], [0, 0]]))
    >>> BlockScores(probs, labels, model).self_confidence
    array([0.9, 0.2])
    """

    def __init__(
        self,
        pred_probs: npt.NDArray[np.floating[Any]],
        labels: npt.NDArray[np.intp],
        noise_model: NoiseModel,
        likelihood: npt.NDArray[np.floating[Any]] | None = None,
        fix_table: npt.NDArray[np.float64] | None = None,
        reliability: ExpertReliability | None = None,
    ):
        self.pred_probs = pred_probs
        self.labels = labels
        self.noise_model = noise_model
        self.n_classes = pred_probs.shape[1]
        self._rows = np.arange(labels.size)
        if likelihood is None:
            likelihood = noise_model.likelihood().astype(pred_probs.dtype)
        self._likelihood = likelihood
        self._fix_table = fix_table
        self._reliability = reliability

    @cached_property
    def self_confidence(self) -> FloatArray:
        """(n,) probability of the given label, p[y]."""
        return self.pred_probs[self._rows, self.labels].astype(np.float64)

    @cached_property
    def largest_other(self) -> FloatArray:
        """(n,) largest probability among the classes other than the given one."""
        top = self.pred_probs.argmax(axis=1)
        largest = self.pred_probs[self._rows, top].astype(np.float64)
        ties = np.nonzero(top == self.labels)[0]
        if ties.size:
            masked = self.pred_probs[ties].astype(np.float64, copy=True)
            masked[np.arange(ties.size), self.labels[ties]] = -np.inf
            largest[ties] = masked.max(axis=1)
        return largest

    @cached_property
    def top_two(self) -> tuple[FloatArray, FloatArray]:
        """Largest and second-largest probability of each row (label-blind)."""
        part = np.partition(self.pred_probs, self.n_classes - 2, axis=1)
        return part[:, -1].astype(np.float64), part[:, -2].astype(np.float64)

    @cached_property
    def normalized_entropy(self) -> FloatArray:
        """(n,) entropy of the predicted distribution in base K, in [0, 1]."""
        probs = self.pred_probs
        # Base-2 logarithms are the fastest; rescaled to base K at the end.
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.einsum("ij,ij->i", probs, np.log2(probs)).astype(np.float64)
        # 0 · log 0 is NaN above; only rows holding exact zeros take the slower path.
        zeros = np.nonzero(np.isnan(entropy))[0]
        if zeros.size:
            rows = probs[zeros]
            logs = np.log2(np.maximum(rows, _TINY, dtype=rows.dtype))
            entropy[zeros] = -np.einsum("ij,ij->i", rows, logs)
        return np.clip(entropy / np.log2(self.n_classes), 0.0, 1.0)

    @cached_property
    def cross_entropy(self) -> FloatArray:
        """(n,) −log_K p[y]."""
        return -np.log(np.maximum(self.self_confidence, _TINY)) / np.log(self.n_classes)

    @cached_property
    def _joint(self) -> tuple[npt.NDArray[np.floating[Any]], FloatArray]:
        """Unnormalised posterior p(j | x) · P(given = y | true = j), (n, K), and row sums.

        Probabilities below the noise model's ``zero_floor`` count as their column's floor
        (0 unless some given label of that class has probability exactly 0), so p_error
        stays monotone.
        """
        joint = np.take(self._likelihood, self.labels, axis=0)
        joint *= floored(self.pred_probs, self.noise_model.zero_floor)
        totals = row_sums(joint).astype(np.float64)
        # A row with no support anywhere keeps the model's own distribution.
        empty = totals <= 0
        if np.any(empty):
            joint[empty] = self.pred_probs[empty]
            totals[empty] = self.pred_probs[empty].sum(axis=1)
        return joint, totals

    @property
    def posterior(self) -> FloatArray:
        """(n, K) P(true = j | x, given y) ∝ p(j | x) · P(given = y | true = j); at a
        noise model :attr:`~labelmend.cleaner.noise.NoiseModel.temperature` τ ≠ 1, the
        given label's entry is 1 − :attr:`p_error` and the others share p_error in
        those proportions."""
        joint, totals = self._joint
        if self.noise_model.temperature == 1.0:
            return joint / totals[:, None]
        others = totals - joint[self._rows, self.labels]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(others > 0, self.p_error / others, 0.0)
        posterior = joint * share[:, None]
        posterior[self._rows, self.labels] = 1.0 - self.p_error
        return posterior

    @cached_property
    def plain_p_error(self) -> FloatArray:
        """(n,) p_error of the plain posterior (temperature 1), 1 − joint[y] / Σ joint.

        The default priority's error weight reads it: its log-odds range
        (:data:`ERROR_LOG_ODDS_RANGE`) was chosen on this scale in the simulator, where
        the tempered :attr:`p_error` makes the queue no better (docs/ranking.md).
        """
        joint, totals = self._joint
        return np.clip(1.0 - joint[self._rows, self.labels] / totals, 0.0, 1.0)

    @cached_property
    def p_error(self) -> FloatArray:
        """(n,) calibrated probability that the given label is wrong.

        At τ = :attr:`~labelmend.cleaner.noise.NoiseModel.temperature` ≠ 1 the model's
        evidence a / q[y] is raised to β = 1 / τ, at the tempered scale t
        (:func:`~labelmend.cleaner.noise.p_error_sum`). From the joint at the plain
        scale s: O = Σ_{j≠y} joint[j] = s a, own = joint[y] = q[y] d, d = T_s[y, y],
        so a / q[y] = O d / (s own), T_t[y, y] = 1 − t (1 − d) / s and
        p_error = t (O d)^β / (t (O d)^β + (s own)^β T_t[y, y]).
        """
        model = self.noise_model
        if model.temperature == 1.0 or model.tempered_scale is None:
            return self.plain_p_error
        joint, totals = self._joint
        own = joint[self._rows, self.labels].astype(np.float64)
        beta = 1.0 / model.temperature
        scale = model.scale if model.scale is not None else 1.0
        tempered = model.tempered_scale
        diagonal = np.diagonal(self._likelihood)[self.labels].astype(np.float64)
        evidence = tempered * (np.maximum(totals - own, 0.0) * diagonal) ** beta
        kept = (scale * own) ** beta * (1.0 - tempered * (1.0 - diagonal) / scale)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_error = evidence / (evidence + kept)
        # A row with no support anywhere keeps the model's own distribution (_joint).
        return np.where(np.isnan(p_error), self.plain_p_error, np.clip(p_error, 0.0, 1.0))

    @cached_property
    def error_weight(self) -> FloatArray:
        """(n,) :func:`error_weight` of :attr:`plain_p_error`."""
        return error_weight(self.plain_p_error)

    @cached_property
    def alternative(self) -> npt.NDArray[np.intp]:
        """(n,) most probable true class under the posterior other than the given label."""
        joint, _ = self._joint
        given = joint[self._rows, self.labels]  # a copy (fancy indexing)
        joint[self._rows, self.labels] = -1.0
        alternative = joint.argmax(axis=1)
        joint[self._rows, self.labels] = given
        return alternative

    @cached_property
    def suggested_label(self) -> npt.NDArray[np.intp]:
        """(n,) most probable true class under the posterior (lowest class on ties)."""
        joint = self._joint[0] if self.noise_model.temperature == 1.0 else self.posterior
        given = joint[self._rows, self.labels]
        other = joint[self._rows, self.alternative]
        keep = (given > other) | ((given == other) & (self.labels < self.alternative))
        return np.where(keep, self.labels, self.alternative)

    @cached_property
    def fixability(self) -> FloatArray:
        """(n,) P(a review settles on :attr:`alternative` if that is the true class).

        Experts are taken to answer like the labelling process the noise model describes
        (its likelihood, smoothed with :data:`EXPERT_PRIOR_STRENGTH` pseudo-counts rather
        than the posterior's): a class pair that process confuses often is hard to fix,
        because the experts repeat the confusion. Exact under the plurality protocol
        (:func:`fix_table`). With a ``reliability`` learnt from the experts' answers,
        each row's experts are that much surer or less sure than the labellers
        (:meth:`~labelmend.cleaner.reliability.ExpertReliability.fixability`).
        """
        if self._reliability is not None:
            return self._reliability.fixability(self.pred_probs, self.labels, self.alternative)
        table = self._fix_table
        if table is None:
            table = fix_table(self.noise_model)
        return table[self.labels, self.alternative]

    @cached_property
    def adjusted_self_confidence(self) -> FloatArray:
        """(n,) p[y] after subtracting each class's confident threshold and renormalising.

        Confident learning's adjustment: classes the model over-predicts lose mass.
        """
        thresholds = np.minimum(self.noise_model.thresholds, 1.0).astype(self.pred_probs.dtype)
        adjusted = self.pred_probs - thresholds
        adjusted += thresholds.max()
        totals = adjusted.sum(axis=1, dtype=np.float64)
        return adjusted[self._rows, self.labels].astype(np.float64) / totals

    @cached_property
    def expected_annotations(self) -> FloatArray:
        """(n,) expected expert annotations to settle the sample (plurality protocol)."""
        return compute_expected_annotations(self.pred_probs, self.labels, max_terms=COST_TERMS)


@dataclass(frozen=True)
class RankingMethod:
    """A correctness score and the relabelling priority derived from it."""

    name: str
    correctness: Callable[[BlockScores], FloatArray]
    priority: Callable[[BlockScores], FloatArray]
    description: str


def _inverse(score: Callable[[BlockScores], FloatArray]) -> Callable[[BlockScores], FloatArray]:
    def priority(block: BlockScores) -> FloatArray:
        return 1.0 - score(block)

    return priority


def _normalized_margin(block: BlockScores) -> FloatArray:
    return (block.self_confidence - block.largest_other + 1.0) / 2.0


def _cross_entropy(block: BlockScores) -> FloatArray:
    return 1.0 / (1.0 + block.cross_entropy)


def _ce_minus_entropy(block: BlockScores) -> FloatArray:
    # CE(p, y) − max(0, H(p) − 0.3) lies in [−0.7, ∞); map it decreasingly onto (0, 1].
    paper_score = block.cross_entropy - np.maximum(
        0.0, block.normalized_entropy - AMBIGUITY_THRESHOLD
    )
    return 1.0 / (1.0 + paper_score + (1.0 - AMBIGUITY_THRESHOLD))


def _posterior(block: BlockScores) -> FloatArray:
    return 1.0 - block.p_error


def _errors_per_annotation(block: BlockScores) -> FloatArray:
    return block.error_weight * block.fixability / block.expected_annotations


def _registry(*methods: RankingMethod) -> dict[str, RankingMethod]:
    return {method.name: method for method in methods}


RANKING_METHODS: dict[str, RankingMethod] = _registry(
    RankingMethod(
        "errors_per_annotation",
        _posterior,
        _errors_per_annotation,
        "Default. Label errors fixed per expert annotation: the error weight (rising "
        "with the log-odds of p_error) times the probability that a review settles on "
        "the most likely other class (experts confusing classes as the noise model "
        "does; once they have answered, per row as reliable as their answers show at "
        "the model's confidence), divided by the expected annotations to settle the "
        "sample, so ambiguous samples and class pairs experts confuse wait.",
    ),
    RankingMethod("posterior", _posterior, _inverse(_posterior), "p_error alone, highest first."),
    RankingMethod(
        "self_confidence",
        lambda b: b.self_confidence,
        _inverse(lambda b: b.self_confidence),
        "p[y], the model's probability of the given label.",
    ),
    RankingMethod(
        "normalized_margin",
        _normalized_margin,
        _inverse(_normalized_margin),
        "(p[y] − max_{j≠y} p[j] + 1) / 2.",
    ),
    RankingMethod(
        "cross_entropy",
        _cross_entropy,
        _inverse(_cross_entropy),
        "1 / (1 + CE) with CE = −log_K p[y] (same order as self_confidence).",
    ),
    RankingMethod(
        "ce_minus_entropy",
        _ce_minus_entropy,
        _inverse(_ce_minus_entropy),
        "The active label cleaning paper's CE(p, y) − max(0, H(p) − 0.3), logs base K.",
    ),
    RankingMethod(
        "confident_learning",
        lambda b: b.adjusted_self_confidence,
        _inverse(lambda b: b.adjusted_self_confidence),
        "Self-confidence after subtracting confident-learning class thresholds.",
    ),
)

MethodName = Literal[
    "errors_per_annotation",
    "posterior",
    "self_confidence",
    "normalized_margin",
    "cross_entropy",
    "ce_minus_entropy",
    "confident_learning",
]
#: The order of relabelling queues, score runs and the simulator: where the next expert
#: annotation fixes most.
DEFAULT_METHOD: MethodName = "errors_per_annotation"
#: The order ``labelmend rank`` lists by default, an audit of which labels are wrong:
#: p_error alone. On the CIFAR-10 and music sets of benchmarks/quality.py it finds at
#: least as many true errors in the top k as cleanlab's best score, where the default
#: order trails on both music sets (docs/ranking.md).
AUDIT_METHOD: MethodName = "posterior"
assert set(get_args(MethodName)) == set(RANKING_METHODS), "MethodName must list every method"


def _margin_difficulty(block: BlockScores) -> FloatArray:
    largest, second = block.top_two
    return 1.0 - (largest - second)


DIFFICULTY_METHODS: dict[str, Callable[[BlockScores], FloatArray]] = {
    "entropy": lambda b: b.normalized_entropy,
    "margin": _margin_difficulty,
}

DEFAULT_DIFFICULTY = "entropy"
DifficultyName = Literal["entropy", "margin"]
assert set(get_args(DifficultyName)) == set(DIFFICULTY_METHODS), "DifficultyName must list all"

"""Rank samples for expert relabelling and pick the next batch.

Glossary: N samples, K classes, ``labels`` (N,) ints in [0, K), ``pred_probs`` (N, K)
(or an ensemble: (M, N, K) or a list of M (N, K) arrays, averaged).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend._validation import (
    check_choice,
    check_count,
    check_labels,
    check_number,
    check_same_length,
    check_unique,
    row_name,
)
from labelmend.cleaner._source import ProbabilitySource
from labelmend.cleaner.noise import (
    ANCHOR_EDGES,
    NOISE_PRIOR_STRENGTH,
    RATE_PRIOR_ROWS,
    SCALE_ROWS,
    TEMPERATURE_CELLS,
    NoiseModel,
    ThresholdStats,
    anchor_histogram,
    confident_pairs,
    fit_temperature,
    matching_scale,
    p_error_sum,
    pooled_error_rate,
    scale_terms,
    threshold_stats,
    zero_cells,
)
from labelmend.cleaner.reliability import ExpertReliability, fit_expert_reliability
from labelmend.cleaner.scores import (
    AMBIGUITY_THRESHOLD,
    DEFAULT_DIFFICULTY,
    DEFAULT_METHOD,
    DIFFICULTY_METHODS,
    RANKING_METHODS,
    BlockScores,
    expert_confusion,
    fix_table,
)
from labelmend.errors import InputError

T = TypeVar("T")
#: Reason codes, in the order they are checked.
REASONS = ("ambiguous", "confident_other_class", "low_confidence", "likely_correct")
#: p_error at or above which a clear sample is called confidently mislabelled.
CONFIDENT_ERROR = 0.5
#: Self-confidence below which a clear, probably right label is still called doubtful.
LOW_CONFIDENCE = 0.5
#: The trade-off users steer by: an expert annotation is worth spending while it fixes at
#: least this many labels (the simulator's best point maximises net fixes − TRADE_OFF ×
#: annotations).
TRADE_OFF = 0.1
#: The stopping rule (:func:`stopping_point`, the report, the simulator): stop once the
#: next batch of samples, in review order, holds fewer than this many expected label
#: errors per sample (mean p_error). Kept at TRADE_OFF's value: on the simulator's real
#: sets a threshold chosen leave-one-set-out against TRADE_OFF lost more held-out labels
#: than 0.1 (``python benchmarks/stopping.py``; docs/simulator.md).
STOP_THRESHOLD = 0.1

RANKING_COLUMNS = (
    "sample_id",
    "given_label",
    "suggested_label",
    "p_error",
    "correctness",
    "difficulty",
    "priority",
    "rank",
    "reason",
)


@dataclass(frozen=True)
class SampleScores:
    """Every per-sample score, as arrays in the input's row order.

    Attributes
    ----------
    given_label, suggested_label : (N,) int
    p_error, correctness, difficulty, priority : (N,) float in [0, 1]
    reason : (N,) int8 codes into :data:`REASONS`
    noise_model : NoiseModel fitted on the whole input
    """

    given_label: npt.NDArray[np.intp]
    suggested_label: npt.NDArray[np.intp]
    p_error: npt.NDArray[np.float64]
    correctness: npt.NDArray[np.float64]
    difficulty: npt.NDArray[np.float64]
    priority: npt.NDArray[np.float64]
    reason: npt.NDArray[np.int8]
    noise_model: NoiseModel

    def frame(
        self, sample_ids: npt.NDArray[Any], rows: npt.NDArray[np.intp] | None = None
    ) -> pd.DataFrame:
        """The scores as a table (every ranking column but ``rank``), rows in ``rows`` order.

        ``sample_ids`` (N,) are in input order; ``rows`` defaults to input order.

        >>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
        >>> scores = score_samples([0, 0, 0, 1, 1, 1], probs)
        >>> scores.frame(np.array(list("abcdef")), np.array([5, 1]))[["sample_id", "reason"]]
          sample_id                 reason
        0         f  confident_other_class
        1         b              ambiguous
        """
        take = slice(None) if rows is None else rows
        return pd.DataFrame(
            {
                "sample_id": sample_ids[take],
                "given_label": self.given_label[take],
                "suggested_label": self.suggested_label[take],
                "p_error": self.p_error[take],
                "correctness": self.correctness[take],
                "difficulty": self.difficulty[take],
                "priority": self.priority[take],
                "reason": pd.Categorical.from_codes(
                    self.reason[take], categories=pd.Index(REASONS)
                ),
            },
            copy=False,
        )


def _checked_input(
    labels: Any,
    pred_probs: Any,
    *,
    from_logits: bool = False,
    normalize: bool = False,
    rescale_hint: bool = True,
) -> tuple[npt.NDArray[np.intp], ProbabilitySource]:
    """The labels (N,) checked against the classes and rows of ``pred_probs``, and
    ``pred_probs`` as a :class:`ProbabilitySource` (``rescale_hint=False`` for a caller
    without ``from_logits`` / ``normalize``: its messages do not offer them)."""
    if isinstance(labels, pd.Series) and isinstance(pred_probs, pd.DataFrame):
        _check_same_index(labels.index, pred_probs.index)
    source = ProbabilitySource(
        pred_probs, from_logits=from_logits, normalize=normalize, rescale_hint=rescale_hint
    )
    checked = check_labels(labels, n_classes=source.n_classes)
    check_same_length("pred_probs", source.n_samples, "labels", checked.size)
    return checked, source


def _check_same_index(labels: pd.Index, probs: pd.Index) -> None:
    """Refuse pandas inputs whose indexes hold the same rows in another order: numpy reads
    both by position, so they would be scored against the wrong labels. Indexes that
    name different rows (a filtered frame's against a fresh RangeIndex) are left alone."""
    if len(labels) != len(probs) or labels.equals(probs):
        return  # a length mismatch has its own message
    try:
        same_rows = labels.sort_values().equals(probs.sort_values())
    except TypeError:  # labels of mixed types do not sort
        same_rows = False
    if not same_rows:
        return
    row = int(np.flatnonzero(labels.to_numpy() != probs.to_numpy())[0])
    raise InputError(
        f"labels and pred_probs have different indexes ({row_name(row)}: {labels[row]!r} and "
        f"{probs[row]!r}); they are read by position: align them first, e.g. "
        "pred_probs.loc[labels.index].",
        inputs=("labels", "pred_probs"),
    )


#: ``map_parts(stage, function)``: ``function(labels, source)`` applied to every part of a
#: dataset (the whole in-memory input, or each shard), the results in the parts' order.
PartMap = Callable[[str, Callable[[npt.NDArray[np.intp], ProbabilitySource], T]], Iterable[T]]


class _BlockOptions(TypedDict):
    """How each part is read: rows per block and threads (the passes' keyword arguments)."""

    block_rows: int | None
    n_jobs: int | None


def _labelled_blocks(
    labels: npt.NDArray[np.intp],
    source: ProbabilitySource,
    function: Callable[[npt.NDArray[np.intp], npt.NDArray[np.floating[Any]]], T],
    *,
    block_rows: int | None,
    n_jobs: int | None,
    validate: bool = False,
    max_rows: int | None = None,
) -> Iterator[T]:
    """``function(labels of the block (rows,), block (rows, K))`` for every block of
    ``source`` in order (:meth:`ProbabilitySource.map_blocks` with the labels aligned)."""
    return source.map_blocks(
        lambda start, block: function(labels[start : start + len(block)], block),
        block_rows=block_rows,
        validate=validate,
        n_jobs=n_jobs,
        max_rows=max_rows,
    )


def _threshold_part(
    labels: npt.NDArray[np.intp],
    source: ProbabilitySource,
    *,
    block_rows: int | None,
    n_jobs: int | None,
) -> ThresholdStats:
    """First pass over one part: the sums behind the confident thresholds."""
    k = source.n_classes
    stats = ThresholdStats(np.zeros(k), np.zeros(k, dtype=np.int64))
    for partial in _labelled_blocks(
        labels, source, threshold_stats, block_rows=block_rows, n_jobs=n_jobs
    ):
        stats = stats + partial
    return stats


def _joint_part(
    labels: npt.NDArray[np.intp],
    source: ProbabilitySource,
    *,
    thresholds: npt.NDArray[np.float64],
    count_zeros: bool,
    block_rows: int | None,
    n_jobs: int | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Second pass over one part: its raw confident joint (K, K), its number of zero
    probabilities per class (K,; all 0 unless ``count_zeros``), and its
    :func:`anchor_histogram`.

    The second pass reads every value anyway, so it also validates the blocks;
    thresholds computed from invalid rows are never used.
    """

    def second_pass(given: npt.NDArray[np.intp], block: npt.NDArray[np.floating[Any]]) -> Any:
        top = block.argmax(axis=1)
        # The block's pairs, not its (K, K) count (confident_counts): at K = 1,000 a count
        # per block is 8 MB to zero and add, +36 MB peak and about 20% of the time at
        # 200k × 1,000 (benchmarks/ranking_speed.py).
        pairs = confident_pairs(given, block, thresholds, top)
        return pairs, zero_cells(block) if count_zeros else 0, anchor_histogram(block, top, given)

    k = source.n_classes
    joint = np.zeros((k, k), dtype=np.int64)
    zeros = np.zeros(k, dtype=np.int64)
    anchors = np.zeros((2, k * (ANCHOR_EDGES.size + 1)))
    for (given, guess), block_zeros, block_anchors in _labelled_blocks(
        labels, source, second_pass, block_rows=block_rows, validate=True, n_jobs=n_jobs
    ):
        np.add.at(joint, (given, guess), 1)
        zeros += block_zeros
        anchors += block_anchors
    return joint, zeros, anchors


def _scale_part(
    labels: npt.NDArray[np.intp],
    source: ProbabilitySource,
    *,
    likelihood: npt.NDArray[np.float64],
    floor: npt.NDArray[np.float64],
    block_rows: int | None,
    n_jobs: int | None,
) -> npt.NDArray[np.float64]:
    """Third pass over a sample of one part (at most :data:`SCALE_ROWS` rows, evenly
    spread): its :func:`scale_terms`, shape (3, n)."""
    likelihood = likelihood.astype(source.dtype)
    terms = _labelled_blocks(
        labels,
        source,
        lambda given, block: scale_terms(given, block, likelihood, floor),
        block_rows=block_rows,
        n_jobs=n_jobs,
        max_rows=SCALE_ROWS,
    )
    return np.concatenate(list(terms), axis=1)


def _sample_part(
    labels: npt.NDArray[np.intp],
    source: ProbabilitySource,
    *,
    block_rows: int | None,
    n_jobs: int | None,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Fourth pass over a sample of one part (at most :data:`TEMPERATURE_CELLS` / K
    rows, evenly spread): its labels (n,) and probabilities (n, K), for
    :func:`~labelmend.cleaner.noise.fit_temperature`."""
    blocks = list(
        _labelled_blocks(
            labels,
            source,
            lambda given, block: (given, block.astype(np.float64)),
            block_rows=block_rows,
            n_jobs=n_jobs,
            max_rows=max(1, TEMPERATURE_CELLS // source.n_classes),
        )
    )
    return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])


def fit_noise_model_in_parts(
    map_parts: PartMap[Any],
    *,
    block_rows: int | None = None,
    n_jobs: int | None = None,
    prior_strength: float = NOISE_PRIOR_STRENGTH,
    rate_prior_rows: float = RATE_PRIOR_ROWS,
) -> NoiseModel:
    """Confident learning in four passes over a dataset held in one or many parts.

    The one fit behind :func:`fit_noise_model` (one part, in memory) and
    :func:`labelmend.scale.rank_dataset` (one part per shard, possibly on a cluster).
    The passes, each over every part:

    1. "statistics" (every row): the per-class confident thresholds, and a histogram of
       the self-confidences;
    2. "confident joint" (every row, validated): the confident joint counted with those
       thresholds, and the anchors; with the histogram they give the labels' own
       estimate of the error rate (:meth:`NoiseModel.from_counts`);
    3. "noise scale" (a sample of rows): confident learning's amount of noise (Σ p_error
       under the unscaled likelihood), pooled with the labels' estimate
       (:func:`~labelmend.cleaner.noise.pooled_error_rate`);
    4. "temperature" (a smaller sample): the temperature of the model's evidence
       (:func:`~labelmend.cleaner.noise.fit_temperature`).

    Last, the noise scales at which Σ p_error equals the pooled count without and with
    that temperature (:attr:`NoiseModel.scale`, :attr:`NoiseModel.tempered_scale`).

    Parameters
    ----------
    map_parts : callable(stage, function) -> iterable
        Applies ``function(labels, source)`` to every part (labels (n,), a
        :class:`ProbabilitySource` of (n, K)) and returns the results in order;
        ``stage`` ("statistics", "confident joint", "noise scale", "temperature") names
        the pass for progress bars.
        ``function`` is picklable, so parts may be processed on other machines.
    block_rows, n_jobs : int, optional
        Rows per block and threads within each part.
    prior_strength : float
        Pseudo-counts of the noise matrix's shrinkage (:attr:`NoiseModel.prior_strength`).
    rate_prior_rows : float
        Pseudo-rows of the prior on the share of wrong labels
        (:func:`~labelmend.cleaner.noise.pooled_error_rate`).

    Examples
    --------
    Two parts give the model of their concatenation:

    >>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
    >>> labels = np.array([0, 0, 0, 1, 1, 1])
    >>> parts = [(labels[:3], probs[:3]), (labels[3:], probs[3:])]
    >>> def map_parts(stage, function):
    ...     return [function(y, ProbabilitySource(p)) for y, p in parts]
    >>> fit_noise_model_in_parts(map_parts).confident_errors
    1.0
    """
    check_number("prior_strength", prior_strength)
    check_number("rate_prior_rows", rate_prior_rows)
    options: _BlockOptions = {"block_rows": block_rows, "n_jobs": n_jobs}
    partial_stats = list(map_parts("statistics", functools.partial(_threshold_part, **options)))
    per_part = [stats.label_counts.size for stats in partial_stats]
    if len(set(per_part)) > 1:
        raise InputError(f"Shards disagree on the number of classes: {per_part} (in order).")
    stats = functools.reduce(operator.add, partial_stats)
    # Zero probabilities are counted only when some given label has one (zero_floor).
    joint_pass = functools.partial(
        _joint_part,
        thresholds=stats.thresholds,
        count_zeros=bool(np.any(stats.zero_given)),
        **options,
    )
    joints, zeros, anchors = zip(*map_parts("confident joint", joint_pass), strict=True)
    model = NoiseModel.from_counts(
        stats,
        np.sum(joints, axis=0),
        np.sum(zeros, axis=0),
        np.sum(anchors, axis=0),
        prior_strength=prior_strength,
    )
    return _fit_noise_amount(
        model,
        map_parts,
        n_samples=int(stats.label_counts.sum()),
        rate_prior_rows=rate_prior_rows,
        options=options,
    )


def _fit_noise_amount(
    model: NoiseModel,
    map_parts: PartMap[Any],
    *,
    n_samples: int,
    rate_prior_rows: float,
    options: _BlockOptions,
) -> NoiseModel:
    """Passes 3 and 4 of :func:`fit_noise_model_in_parts`: ``model`` with its error rate
    pooled with confident learning's amount, its evidence's temperature and the noise
    scales at which Σ p_error matches that rate, without and with the temperature."""
    assert model.error_rate is not None, "both passes count the error rate's histograms"
    scale_pass = functools.partial(
        _scale_part, likelihood=model.likelihood(), floor=model.zero_floor, **options
    )
    terms = np.concatenate(list(map_parts("noise scale", scale_pass)), axis=1)
    # One column order whatever the rows' order, so the sums below round the same way.
    # (Not every score is bit-for-bit shuffle-free: the histograms behind error_rate
    # are summed in row order and may differ in their last bits.)
    terms = terms[:, np.lexsort(terms)]
    counted = p_error_sum(terms, 1.0) / max(terms.shape[1], 1)
    rate = pooled_error_rate(model.error_rate, counted, n_samples, rate_prior_rows)
    model = dataclasses.replace(model, error_rate=rate)
    errors, largest = rate * terms.shape[1], model.largest_scale
    temperature_pass = functools.partial(_sample_part, **options)
    labels, probs = zip(*map_parts("temperature", temperature_pass), strict=True)
    temperature = fit_temperature(
        np.concatenate(labels),
        np.concatenate(probs),
        model.likelihood(),
        model.zero_floor,
        rate,
        largest,
    )
    return dataclasses.replace(
        model,
        scale=matching_scale(terms, errors, largest),
        temperature=temperature,
        tempered_scale=matching_scale(terms, errors, largest, temperature),
    )


def fit_noise_model(
    labels: Any,
    pred_probs: Any,
    *,
    from_logits: bool = False,
    normalize: bool = False,
    block_rows: int | None = None,
    n_jobs: int | None = None,
    prior_strength: float = NOISE_PRIOR_STRENGTH,
    rate_prior_rows: float = RATE_PRIOR_ROWS,
) -> NoiseModel:
    """Estimate the label noise of a dataset, in streaming passes
    (:func:`fit_noise_model_in_parts` on one part).

    Parameters
    ----------
    labels : array-like (N,)
    pred_probs : array (N, K), (M, N, K) or list of (N, K) arrays
    from_logits, normalize : bool
        Apply a softmax to each row / rescale rows to sum to one.
    block_rows : int, optional
        Rows per block (default: about 4 MiB of probabilities).
    n_jobs : int, optional
        Threads working on blocks; None or -1 uses every core.
    prior_strength : float
        Pseudo-counts of the noise matrix's shrinkage (:attr:`NoiseModel.prior_strength`).
    rate_prior_rows : float
        Pseudo-rows of the prior on the share of wrong labels
        (:func:`~labelmend.cleaner.noise.pooled_error_rate`).

    Examples
    --------
    >>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
    >>> labels = [0, 0, 0, 1, 1, 1]
    >>> fit_noise_model(labels, probs).confident_errors
    1.0
    """
    checked, source = _checked_input(
        labels, pred_probs, from_logits=from_logits, normalize=normalize
    )
    return _fit_noise_model(checked, source, block_rows, n_jobs, prior_strength, rate_prior_rows)


def learn_from_answers(
    labels: Any,
    pred_probs: Any,
    votes: Any,
    *,
    model_probs: Any = None,
    n_jobs: int | None = None,
) -> tuple[NoiseModel, ExpertReliability | None]:
    """The labels' noise model and the experts' reliability learnt from their answers.

    What :func:`score_samples` takes as ``noise_model`` and ``reliability`` once experts
    have answered (``labelmend score`` / ``round``, the simulator's active runs): the
    noise model of ``labels`` under ``pred_probs``, and
    :func:`~labelmend.cleaner.reliability.fit_expert_reliability` on the experts'
    confusion it implies (:func:`~labelmend.cleaner.scores.expert_confusion`).

    Parameters
    ----------
    labels : array-like (N,)
    pred_probs : array (N, K), array (M, N, K) or list of M arrays (N, K)
        The probabilities that are scored: one model's, or an ensemble's (averaged row
        by row, as :func:`score_samples` does).
    votes : array (N, K)
        Expert answers collected per sample and class, the current label not counted.
    model_probs : array (N, K), optional
        The model's own probabilities when ``pred_probs`` already holds the answers (the
        simulator combines them): the reliability is fitted on these. Default
        ``pred_probs``.

    Returns
    -------
    (NoiseModel, ExpertReliability or None): None when nobody has answered yet.

    Examples
    --------
    >>> probs = np.tile([[0.9, 0.1], [0.2, 0.8]], (20, 1))
    >>> labels, votes = probs.argmax(1), np.zeros((40, 2))
    >>> learn_from_answers(labels, probs, votes)[1] is None
    True
    >>> votes[:10, 0] = 1
    >>> learn_from_answers(labels, probs, votes)[1].confusion.shape
    (2, 2)
    """
    checked, source = _checked_input(labels, pred_probs, rescale_hint=False)
    shape = (source.n_samples, source.n_classes)
    if model_probs is not None and np.shape(model_probs) != shape:
        raise InputError(
            f"model_probs must have the shape of pred_probs {shape}. Got {np.shape(model_probs)}.",
            inputs=("model_probs", "pred_probs"),
        )
    noise_model = _fit_noise_model(checked, source, None, n_jobs)
    if model_probs is not None:
        fitted_on, name = model_probs, "model_probs"
    elif source.n_models > 1:  # the ensemble's average, the probabilities that are scored
        fitted_on = np.concatenate(list(source.map_blocks(lambda _start, block: block)))
        name = "pred_probs"
    else:
        fitted_on, name = pred_probs, "pred_probs"
    try:
        reliability = fit_expert_reliability(expert_confusion(noise_model), fitted_on, votes)
    except InputError as exc:  # fit_expert_reliability's probs is this function's `name`
        inputs = [name if i == "probs" else i for i in exc.inputs]
        raise InputError(exc.renamed({"probs": name}), inputs=inputs) from None
    return noise_model, reliability


def _fit_noise_model(
    labels: npt.NDArray[np.intp],
    source: ProbabilitySource,
    block_rows: int | None,
    n_jobs: int | None,
    prior_strength: float = NOISE_PRIOR_STRENGTH,
    rate_prior_rows: float = RATE_PRIOR_ROWS,
) -> NoiseModel:
    """:func:`fit_noise_model_in_parts` on one part, held in memory."""
    return fit_noise_model_in_parts(
        lambda _stage, function: [function(labels, source)],
        block_rows=block_rows,
        n_jobs=n_jobs,
        prior_strength=prior_strength,
        rate_prior_rows=rate_prior_rows,
    )


def _reasons(
    difficulty: npt.NDArray[np.float64],
    p_error: npt.NDArray[np.float64],
    self_confidence: npt.NDArray[np.float64],
    ambiguity_threshold: float,
) -> npt.NDArray[np.int8]:
    """(N,) codes into :data:`REASONS`: the first of its conditions that holds."""
    conditions = [
        difficulty > ambiguity_threshold,
        p_error >= CONFIDENT_ERROR,
        self_confidence < LOW_CONFIDENCE,
    ]
    return np.select(conditions, [0, 1, 2], default=3).astype(np.int8)


def score_samples(
    labels: Any,
    pred_probs: Any,
    *,
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    ambiguity_threshold: float = AMBIGUITY_THRESHOLD,
    noise_model: NoiseModel | None = None,
    reliability: ExpertReliability | None = None,
    from_logits: bool = False,
    normalize: bool = False,
    block_rows: int | None = None,
    n_jobs: int | None = None,
) -> SampleScores:
    """Score every sample, block by block, with bounded extra memory.

    Parameters
    ----------
    labels : array-like (N,)
        Given labels, ints in [0, K).
    pred_probs : array (N, K), (M, N, K) or list of (N, K) arrays
        Out-of-sample predicted probabilities (one model, or an ensemble averaged).
    method : str
        A key of :data:`~labelmend.cleaner.scores.RANKING_METHODS`.
    difficulty : str
        A key of :data:`~labelmend.cleaner.scores.DIFFICULTY_METHODS`.
    ambiguity_threshold : float
        Difficulty above which a sample's reason is ``"ambiguous"``.
    noise_model : NoiseModel, optional
        Reuse a fitted noise model instead of estimating one (none of the fit's passes).
    reliability : ExpertReliability, optional
        The experts' reliability learnt from the answers collected so far
        (:func:`~labelmend.cleaner.reliability.fit_expert_reliability`, on
        ``noise_model``): the default priority's fixability reads it per row.
    from_logits, normalize : bool
        Apply a softmax to each row / rescale rows to sum to one.
    block_rows : int, optional
        Rows per block (default: about 4 MiB of probabilities).
    n_jobs : int, optional
        Threads working on blocks; None or -1 uses every core.

    Returns
    -------
    SampleScores
        Arrays of shape (N,) in the input's row order.

    Examples
    --------
    >>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
    >>> labels = [0, 0, 0, 1, 1, 1]
    >>> score_samples(labels, probs).suggested_label
    array([0, 0, 0, 1, 1, 0])
    """
    check_choice("method", method, RANKING_METHODS)
    check_choice("difficulty", difficulty, DIFFICULTY_METHODS)
    check_number("ambiguity_threshold", ambiguity_threshold, high=1.0)
    for name, given, kind, maker in (
        ("noise_model", noise_model, NoiseModel, "fit_noise_model"),
        ("reliability", reliability, ExpertReliability, "learn_from_answers"),
    ):
        if given is not None and not isinstance(given, kind):
            raise InputError(
                f"{name} must be a{'n' if kind.__name__[0] in 'AEIOU' else ''} "
                f"{kind.__name__} (from {maker}). Got {type(given).__name__}.",
                inputs=(name,),
            )
    checked, source = _checked_input(
        labels, pred_probs, from_logits=from_logits, normalize=normalize
    )
    # Fitting the noise model validates every block; a caller's model skips that pass.
    validate = noise_model is not None
    if noise_model is None:
        noise_model = _fit_noise_model(checked, source, block_rows, n_jobs)
    elif noise_model.n_classes != source.n_classes:
        raise InputError(
            f"noise_model has {noise_model.n_classes} classes but pred_probs has "
            f"{source.n_classes} columns."
        )
    if reliability is not None and len(reliability.confusion) != source.n_classes:
        raise InputError(
            f"reliability has {len(reliability.confusion)} classes but pred_probs has "
            f"{source.n_classes} columns."
        )
    ranking_method = RANKING_METHODS[method]
    difficulty_of = DIFFICULTY_METHODS[difficulty]
    n = source.n_samples
    out = {
        name: np.empty(n)
        for name in ("p_error", "correctness", "difficulty", "priority", "self_confidence")
    }
    suggested = np.empty(n, dtype=np.intp)
    # Computed once for every block.
    likelihood = noise_model.likelihood().astype(source.dtype)
    fixes = fix_table(noise_model)

    def score_block(start: int, block: npt.NDArray[np.floating[Any]]) -> None:
        rows = slice(start, start + len(block))
        scores = BlockScores(block, checked[rows], noise_model, likelihood, fixes, reliability)
        out["p_error"][rows] = scores.p_error
        out["correctness"][rows] = ranking_method.correctness(scores)
        out["difficulty"][rows] = difficulty_of(scores)
        out["priority"][rows] = ranking_method.priority(scores)
        out["self_confidence"][rows] = scores.self_confidence
        suggested[rows] = scores.suggested_label

    for _ in source.map_blocks(
        score_block, block_rows=block_rows, validate=validate, n_jobs=n_jobs
    ):
        pass
    reason = _reasons(
        out["difficulty"], out["p_error"], out["self_confidence"], ambiguity_threshold
    )
    return SampleScores(
        given_label=checked,
        suggested_label=suggested,
        p_error=out["p_error"],
        correctness=np.clip(out["correctness"], 0.0, 1.0),
        difficulty=np.clip(out["difficulty"], 0.0, 1.0),
        priority=np.clip(out["priority"], 0.0, 1.0),
        reason=reason,
        noise_model=noise_model,
    )


def ranking_order(
    priority: npt.NDArray[np.float64],
    p_error: npt.NDArray[np.float64],
    tie_breaker: npt.NDArray[Any] | None = None,
) -> npt.NDArray[np.intp]:
    """Row indices in relabelling order: priority, then p_error, both descending.

    Remaining ties go by ``tie_breaker`` ascending (sample ids, so the order does not
    depend on row order), else by row. One sort does the work; the secondary
    keys are sorted only within runs of equal priority.

    >>> ranking_order(np.array([0.1, 0.9, 0.5, 0.5]), np.array([0, 0, 0.2, 0.3]))
    array([1, 3, 2, 0])
    """
    check_same_length("p_error", len(p_error), "priority", len(priority))
    if tie_breaker is not None:
        check_same_length("tie_breaker", len(tie_breaker), "priority", len(priority))
    order = np.argsort(-priority)
    sorted_priority = priority[order]
    equal_next = sorted_priority[1:] == sorted_priority[:-1]
    if not equal_next.any():
        return order
    tied = np.zeros(order.size, dtype=bool)
    tied[:-1] |= equal_next
    tied[1:] |= equal_next
    members = order[tied]
    keys: list[npt.NDArray[Any]] = [members]
    if tie_breaker is not None:
        try:
            keys.append(pd.factorize(tie_breaker[members], sort=True)[0])
        except TypeError:  # ids of mixed types do not sort; their text does
            keys.append(pd.factorize(tie_breaker[members].astype(str), sort=True)[0])
    keys += [-p_error[members], -priority[members]]
    order[tied] = members[np.lexsort(keys)]
    return order


def rank_samples(
    labels: Any,
    pred_probs: Any,
    *,
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    sample_ids: Sequence[Any] | npt.NDArray[Any] | None = None,
    ambiguity_threshold: float = AMBIGUITY_THRESHOLD,
    noise_model: NoiseModel | None = None,
    reliability: ExpertReliability | None = None,
    from_logits: bool = False,
    normalize: bool = False,
    block_rows: int | None = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Rank every sample for relabelling: the first row is the one to review first.

    Parameters are those of :func:`score_samples`, plus ``sample_ids`` (N,), unique,
    defaulting to row positions.

    Returns
    -------
    pandas.DataFrame
        One row per sample, sorted by ``rank`` (1 = review first), with columns
        ``sample_id, given_label, suggested_label, p_error, correctness, difficulty,
        priority, rank, reason``. ``p_error.cumsum()`` is the expected number of real
        label errors among the first k rows.

    Examples
    --------
    >>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
    >>> labels = [0, 0, 0, 1, 1, 1]
    >>> rank_samples(labels, probs)[["sample_id", "suggested_label", "p_error"]].head(2)
       sample_id  suggested_label   p_error
    0          5                0  0.863000
    1          1                0  0.076227
    """
    scores = score_samples(
        labels,
        pred_probs,
        method=method,
        difficulty=difficulty,
        ambiguity_threshold=ambiguity_threshold,
        noise_model=noise_model,
        reliability=reliability,
        from_logits=from_logits,
        normalize=normalize,
        block_rows=block_rows,
        n_jobs=n_jobs,
    )
    n = scores.given_label.size
    if sample_ids is None:
        ids: npt.NDArray[Any] = np.arange(n)
    else:
        ids = np.asarray(sample_ids)
        check_same_length("sample_ids", ids.size, "labels", n)
        missing = np.flatnonzero(pd.isna(ids))
        if missing.size:
            found = ids[missing[0]]
            found = found.item() if isinstance(found, np.generic) else found
            raise InputError(
                f"sample_ids must not be missing; {row_name(int(missing[0]))} is {found!r}.",
                inputs=("sample_ids",),
            )
        check_unique("sample_ids", ids)
    order = ranking_order(scores.priority, scores.p_error, ids if sample_ids is not None else None)
    frame = scores.frame(ids, order)
    frame.insert(RANKING_COLUMNS.index("rank"), "rank", np.arange(1, n + 1))
    return frame


def _check_ranking(
    ranking: pd.DataFrame, where: str, *, also: Sequence[str] = (), why: str = ""
) -> None:
    """Refuse what is not a ranking; ``also``: columns needed for an option (``why``)."""
    if not isinstance(ranking, pd.DataFrame):
        raise InputError(
            f"{where} expects a ranking from rank_samples (a DataFrame). "
            f"Got {type(ranking).__name__}.",
            inputs=("ranking",),
        )
    needed = ("sample_id", "p_error", "rank", *also)
    missing = [c for c in needed if c not in ranking.columns]
    if missing:
        because = f" ({why})" if why and set(missing) <= set(also) else ""
        raise InputError(
            f"{where} expects a ranking from rank_samples; columns {missing} are missing{because}.",
            inputs=("ranking",),
        )


def select_batch(
    ranking: pd.DataFrame,
    budget: int,
    *,
    exclude: Iterable[Any] | None = None,
    per_class: int | None = None,
) -> pd.DataFrame:
    """Pick the next ``budget`` samples to relabel, in rank order.

    Parameters
    ----------
    ranking : DataFrame from :func:`rank_samples`
    budget : int
        Number of samples to pick (0 ≤ budget; fewer come back when fewer remain).
    exclude : iterable of sample ids, optional
        Samples already reviewed or queued.
    per_class : int, optional
        At most this many samples of each given label, so that one noisy class does
        not take the whole batch.

    Examples
    --------
    >>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
    >>> labels = [0, 0, 0, 1, 1, 1]
    >>> select_batch(rank_samples(labels, probs), 2, exclude=[5])["sample_id"].tolist()
    [1, 4]
    """
    by_class = () if per_class is None else ("given_label",)
    _check_ranking(ranking, "select_batch", also=by_class, why="per_class")
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 0:
        raise InputError(f"budget must be a non-negative integer. Got {budget!r}.")
    if per_class is not None and (
        isinstance(per_class, bool) or not isinstance(per_class, int | np.integer) or per_class < 1
    ):
        raise InputError(f"per_class must be a positive integer or None. Got {per_class!r}.")
    if exclude is not None and (
        isinstance(exclude, str | bytes) or not isinstance(exclude, Iterable)
    ):
        # A string is iterable, but as its characters: exclude="a1" is not ids 'a' and '1'.
        raise InputError(
            "exclude must be a collection of sample ids (a list, set, array or Series). "
            f"Got {type(exclude).__name__} {exclude!r}.",
            inputs=("exclude",),
        )
    candidates = ranking.sort_values("rank", kind="stable")
    if exclude is not None:
        candidates = candidates[~candidates["sample_id"].isin(list(exclude))]
    if per_class is not None:
        within_class = candidates.groupby("given_label", sort=False).cumcount()
        candidates = candidates[within_class.to_numpy() < per_class]
    return candidates.head(int(budget))


def expected_errors_curve(ranking: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Expected number of real label errors among the first k samples, for k = 1..N.

    >>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
    >>> labels = [0, 0, 0, 1, 1, 1]
    >>> expected_errors_curve(rank_samples(labels, probs)).round(2)
    array([0.86, 0.94, 1.02, 1.07, 1.11, 1.14])
    """
    _check_ranking(ranking, "expected_errors_curve")
    ordered = ranking.sort_values("rank", kind="stable")["p_error"].to_numpy()
    return np.cumsum(ordered)


def expected_error_rate(
    curve: npt.NDArray[np.floating[Any]], *, window: int
) -> npt.NDArray[np.float64]:
    """Expected label errors per sample among the next ``window`` samples, from each position.

    The quantity the stopping rule reads (:func:`stopping_point`): at position k
    (0-based, k samples already reviewed), the mean p_error of samples k .. k + window − 1
    in review order, or of what is left near the end.

    Parameters
    ----------
    curve : (N,) float
        :func:`expected_errors_curve` of the samples still to review, in rank order.
    window : int
        Samples looked ahead (a batch).

    Returns
    -------
    (N,) float array, one rate per position.

    Examples
    --------
    >>> expected_error_rate(np.cumsum([0.9, 0.8, 0.3, 0.05, 0.01, 0.0]), window=2)
    array([0.85 , 0.55 , 0.175, 0.03 , 0.005, 0.   ])
    """
    check_count("window", window, minimum=1)
    values = np.asarray(curve)
    if values.dtype.kind not in "biuf":
        raise InputError(
            f"curve must be numbers of shape (N,). Got dtype {values.dtype}.", inputs=("curve",)
        )
    values = values.astype(np.float64, copy=False)
    if values.ndim != 1:
        raise InputError(f"curve must have shape (N,). Got {values.shape}.", inputs=("curve",))
    if not np.isfinite(values).all():
        raise InputError("curve contains NaN or infinite values.", inputs=("curve",))
    n = values.size
    padded = np.concatenate([[0.0], values])
    starts = np.arange(n)
    ends = np.minimum(starts + window, n)
    rate: npt.NDArray[np.float64] = (padded[ends] - padded[starts]) / (ends - starts)
    return rate


def stopping_point(
    curve: npt.NDArray[np.floating[Any]], *, window: int, threshold: float = STOP_THRESHOLD
) -> int:
    """How many samples to review before the stopping rule says stop.

    The rule stops at the first position k (0-based) where the next ``window`` samples
    hold fewer than ``threshold`` expected errors per sample
    (:func:`expected_error_rate`); ``len(curve)`` when it never does.

    Parameters
    ----------
    curve : (N,) float
        :func:`expected_errors_curve` of the samples still to review, in rank order.
    window : int
        Samples looked ahead (a batch); the last positions look at what is left.

    Examples
    --------
    >>> stopping_point(np.cumsum([0.9, 0.8, 0.3, 0.05, 0.01, 0.0]), window=2)
    3
    """
    check_count("window", window, minimum=1)
    check_number("threshold", threshold)
    rate = expected_error_rate(curve, window=window)
    below = np.nonzero(rate < threshold)[0]
    return int(below[0]) if below.size else rate.size

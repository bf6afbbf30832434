"""Decide labels from expert votes.

:func:`plurality_vote` is the protocol of active label cleaning: the current label
counts as one vote; a sample is decided when one class has more votes than any other,
and stays open on a tie (it needs another vote). :func:`dawid_skene` weighs each
annotator by a confusion matrix fitted by expectation maximisation, for samples that
several experts of unequal reliability labelled. :func:`consensus` decides samples from
long-form votes with either of them, or with CROWDLAB (cleanlab's multi-annotator
model, which also weighs the model's probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend._validation import (
    check_choice,
    check_labels,
    check_probability_block,
    check_same_length,
    check_unique,
    row_name,
)
from labelmend.errors import InputError

#: Marks an undecided sample in :func:`plurality_vote`'s output.
UNDECIDED = -1
#: Marks a missing answer in :func:`dawid_skene`'s (N, M) annotations; the only negative.
MISSING = -1
#: Pseudo-count added to every cell of a Dawid–Skene confusion matrix (Laplace smoothing).
CONFUSION_SMOOTHING = 0.01

Aggregation = Literal["single-expert", "plurality", "dawid-skene", "crowdlab"]
#: The ways :func:`consensus` decides a sample from its votes.
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def vote_counts(
    sample_index: Any, votes: Any, *, n_samples: int, n_classes: int
) -> npt.NDArray[np.int64]:
    """(N, K) number of votes per sample and class from long-form votes.

    >>> vote_counts([0, 0, 1], [2, 2, 0], n_samples=2, n_classes=3)
    array([[0, 0, 2],
           [1, 0, 0]])
    """
    index = _whole_numbers(sample_index, "sample_index", "row numbers in [0, N)")
    labels = _whole_numbers(votes, "votes", "class indices in [0, K)")
    if labels.size:
        check_labels(labels, n_classes=n_classes, name="votes")
    check_same_length("sample_index", index.size, "votes", labels.size)
    if index.size and (index.min() < 0 or index.max() >= n_samples):
        raise InputError(f"sample_index must lie in [0, {n_samples}).", inputs=("sample_index",))
    flat = np.bincount(index * n_classes + labels, minlength=n_samples * n_classes)
    return flat.reshape(n_samples, n_classes).astype(np.int64)


def vote_counts_by_id(
    ids: Any, answer_ids: Any, answers: Any, *, n_classes: int
) -> npt.NDArray[np.int64]:
    """(N, K) :func:`vote_counts` of the N samples ``ids`` (unique) from long-form answers
    keyed by sample id; answers for ids not among ``ids`` are ignored.

    >>> vote_counts_by_id(["a", "b"], ["b", "x", "b", "a"], [1, 0, 1, 0], n_classes=2)
    array([[1, 0],
           [0, 2]])
    """
    check_same_length("answer_ids", len(answer_ids), "answers", len(answers))
    index = pd.Index(ids)
    if not index.is_unique:
        check_unique("ids", ids)
    position = index.get_indexer(pd.Index(answer_ids))
    known = position >= 0
    return vote_counts(
        position[known],
        np.asarray(answers)[known],
        n_samples=len(ids),
        n_classes=n_classes,
    )


def plurality_vote(
    counts: npt.NDArray[np.integer[Any]], current_labels: Any | None = None
) -> npt.NDArray[np.intp]:
    """The class with strictly the most votes per sample, or :data:`UNDECIDED` on a tie.

    Parameters
    ----------
    counts : (N, K) int
        Expert votes per sample and class (see :func:`vote_counts`).
    current_labels : (N,) int, optional
        The label in place, counted as one more vote (the paper's protocol). Pass -1
        for a sample without one.

    Examples
    --------
    One expert disagreeing with the current label is a tie; a second settles it:

    >>> plurality_vote(np.array([[0, 1], [0, 2]]), current_labels=[0, 0])
    array([-1,  1])
    """
    given = np.asarray(counts)
    if given.ndim != 2:
        raise InputError(f"counts must have shape (N, K). Got {given.shape}.", inputs=("counts",))
    if given.dtype.kind not in "biuf":
        raise InputError(
            f"counts must hold whole vote counts ≥ 0. Got dtype {given.dtype}.", inputs=("counts",)
        )
    bad = given < 0
    if given.dtype.kind == "f":  # 0.5 votes would be cut to 0, NaN to a huge negative
        bad |= ~np.isfinite(given) | (given != np.round(given))
    if bad.any():
        row, column = (int(i[0]) for i in np.nonzero(bad))
        raise InputError(
            f"counts must hold whole vote counts ≥ 0; found {given[row, column].item()!r} "
            f"in {row_name(row)}.",
            inputs=("counts",),
        )
    totals = given.astype(np.int64, copy=True)
    if current_labels is not None:
        current = _whole_numbers(current_labels, "current_labels", "class indices, -1 for none")
        check_same_length("current_labels", current.size, "counts", totals.shape[0])
        has = _check_current(current, totals.shape[1])
        totals[np.nonzero(has)[0], current[has]] += 1
    best = totals.argmax(axis=1)
    top = totals[np.arange(len(best)), best]
    unique = (totals == top[:, None]).sum(axis=1) == 1
    return np.where(unique & (top > 0), best, UNDECIDED)


def _whole_numbers(values: Any, name: str, what: str) -> npt.NDArray[np.intp]:
    """``values`` as a 1-D int array (empty allowed); floats only when every value is a
    whole number, never truncated. ``what``: what the integers are, for the message."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(
            f"{name} must be 1-D with shape (N,). Got shape {array.shape}.", inputs=(name,)
        )
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise InputError(
                f"{name} must be whole numbers; found non-integer values.", inputs=(name,)
            )
    elif array.dtype.kind not in "biu" and array.size:
        raise InputError(
            f"{name} must be integers ({what}). Got dtype {array.dtype}.", inputs=(name,)
        )
    return array.astype(np.intp)


def _check_current(current: npt.NDArray[np.integer[Any]], n_classes: int) -> npt.NDArray[np.bool_]:
    """Check that current labels lie in [0, K) or are -1 (no label); the mask of those
    with one."""
    has = current >= 0
    if has.any():
        check_labels(current[has], n_classes=n_classes, name="current_labels")
    return has


@dataclass(frozen=True)
class DawidSkene:
    """Per-annotator confusion matrices fitted by expectation maximisation.

    Attributes
    ----------
    confusions : (M, K, K) float
        ``confusions[m, t, s]`` = P(annotator m answers s | true = t).
    class_prior : (K,) float
    posterior : (N, K) float
        P(true = t | every answer for sample i).
    label_counts : (M,) int
        Answers given by each annotator.
    n_iter : int
        EM iterations run.

    Examples
    --------
    The third annotator disagrees with the other two on four samples of six; EM learns
    that it answers at random and follows the other two:

    >>> votes = np.array([[0, 0, 1], [1, 1, 0], [0, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1]])
    >>> fitted = dawid_skene(votes)
    >>> fitted.labels.tolist(), fitted.label_counts.tolist()
    ([0, 1, 0, 1, 0, 1], [6, 6, 6])
    >>> np.diagonal(fitted.confusions, axis1=1, axis2=2).round(2)  # P(right | true t)
    array([[1.  , 1.  ],
           [1.  , 1.  ],
           [0.33, 0.33]])
    """

    confusions: FloatArray
    class_prior: FloatArray
    posterior: FloatArray
    label_counts: npt.NDArray[np.int64]
    n_iter: int

    @property
    def labels(self) -> IntArray:
        """(N,) most probable true class per sample."""
        return self.posterior.argmax(axis=1).astype(np.intp)


def long_form(annotations: Any, n_classes: int | None) -> tuple[IntArray, IntArray, IntArray, int]:
    """(item, annotator, answer) of each answer in an (N, M) matrix (-1 = missing), and K.

    K is ``n_classes``, or the largest answer + 1.

    >>> long_form(np.array([[0, -1], [1, 0]]), None)[2].tolist()
    [0, 1, 0]
    """
    matrix = np.asarray(annotations)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise InputError(f"annotations must have shape (N, M). Got shape {matrix.shape}.")
    if matrix.dtype.kind not in "iu":
        raise InputError(f"annotations must be integers (-1 = missing). Got {matrix.dtype}.")
    below = np.argwhere(matrix < MISSING)  # only -1 means missing; -2 is no label
    if below.size:
        row, column = (int(i) for i in below[0])
        raise InputError(
            f"annotations must hold labels in [0, {n_classes or 'K'}) with -1 for missing. "
            f"Got {int(matrix[row, column])} in {row_name(row)}, "
            f"{row_name(column, what='column')}.",
            inputs=("annotations",),
        )
    item, worker = np.nonzero(matrix != MISSING)
    answer = matrix[item, worker].astype(np.intp)
    if answer.size == 0:
        raise InputError("annotations must hold at least one label. Got only -1 (missing).")
    k = int(answer.max()) + 1 if n_classes is None else n_classes
    if answer.max() >= k:
        raise InputError(
            f"annotations must hold labels in [0, {k}) with -1 for missing. "
            f"Got {int(answer.max())}."
        )
    return item.astype(np.intp), worker.astype(np.intp), answer, k


def dawid_skene(
    annotations: Any,
    *,
    n_classes: int | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> DawidSkene:
    """Fit Dawid–Skene (1979) to multi-annotator labels, vectorised over all answers.

    Parameters
    ----------
    annotations : (N, M) int array
        ``annotations[i, m]`` = annotator m's label for sample i, or -1 (``MISSING``)
        when m did not label i (e.g. CIFAR-10N's ``random_label1..3`` stacked as M = 3
        columns). Any other negative value is refused, not taken for missing.
    n_classes : int, optional
        K (default: largest label + 1).
    max_iter, tol : EM stops after ``max_iter`` rounds or when no posterior moves by
        more than ``tol``.

    Examples
    --------
    >>> votes = np.array([[0, 0, 1], [1, 1, 1], [0, 0, 0], [1, 1, 0]])
    >>> dawid_skene(votes).labels.tolist()
    [0, 1, 0, 1]
    """
    item, worker, answer, k = long_form(annotations, n_classes)
    n, m = np.shape(annotations)
    # Start from the vote shares (majority vote, soft).
    posterior = np.zeros((n, k))
    np.add.at(posterior, (item, answer), 1.0)
    unlabelled = posterior.sum(axis=1) == 0
    posterior[unlabelled] = 1.0
    posterior /= posterior.sum(axis=1, keepdims=True)
    cells = worker * k * k + answer  # flat index of (worker, 0, answer); add t * k per class
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        prior = posterior.mean(axis=0)
        flat = np.zeros(m * k * k)
        for t in range(k):
            flat += np.bincount(cells + t * k, weights=posterior[item, t], minlength=m * k * k)
        counts = flat.reshape(m, k, k) + CONFUSION_SMOOTHING
        confusions = counts / counts.sum(axis=2, keepdims=True)
        log_conf = np.log(confusions)
        log_post = np.tile(np.log(np.maximum(prior, 1e-300)), (n, 1))
        for t in range(k):
            log_post[:, t] += np.bincount(item, weights=log_conf[worker, t, answer], minlength=n)
        log_post -= log_post.max(axis=1, keepdims=True)
        updated = np.exp(log_post)
        updated /= updated.sum(axis=1, keepdims=True)
        moved = float(np.abs(updated - posterior).max())
        posterior = updated
        if moved < tol:
            break
    return DawidSkene(
        confusions,
        posterior.mean(axis=0),
        posterior,
        np.bincount(worker, minlength=m).astype(np.int64),
        n_iter,
    )


@dataclass(frozen=True)
class Consensus:
    """Decisions from votes and how sure each one is.

    Attributes
    ----------
    labels : (N,) int
        The decided class, or :data:`UNDECIDED`.
    p_wrong : (N,) float
        Probability that the decided class is wrong: 1 − its posterior under
        ``dawid-skene`` or ``crowdlab``; 0 for ``single-expert`` and for a plurality
        (a strict lead decides); NaN where undecided.
    """

    labels: IntArray
    p_wrong: FloatArray


def consensus(
    sample_index: Any,
    annotators: Any,
    votes: Any,
    *,
    current_labels: Any,
    n_classes: int,
    method: str = "plurality",
    pred_probs: Any = None,
) -> Consensus:
    """Decided class per sample from long-form votes, and the chance it is wrong.

    Parameters
    ----------
    sample_index : (V,) int
        Row in [0, N) of the sample each vote is about.
    annotators : (V,) hashable
        Who gave each vote (names or ids). None or NaN is refused: ``dawid-skene`` and
        ``crowdlab`` weigh each annotator by their own record, and an unknown one can be
        told neither from another unknown nor from a known one; give each an id.
    votes : (V,) int
        The class voted for, in [0, K).
    current_labels : (N,) int
        The label in place for each sample, counted as one (fallible) vote.
    n_classes : int
        K.
    method : {"single-expert", "plurality", "dawid-skene", "crowdlab"}
        ``single-expert``: one trusted expert's answer is the label (the current label
        does not vote); a sample whose experts disagree is undecided, for the caller to
        refuse or settle. ``plurality``: :func:`plurality_vote`, ties undecided.
        ``dawid-skene``: the current labels are one more annotator of
        :func:`dawid_skene`; undecided unless the posterior of the best class exceeds
        one half. ``crowdlab``: cleanlab's
        multi-annotator consensus, which needs ``pred_probs``; its posterior is the
        consensus quality score (self-confidence).
    pred_probs : (N, K) float, optional
        The model's probabilities, for ``crowdlab``.

    Returns
    -------
    Consensus
        ``labels`` (N,) decided class or :data:`UNDECIDED`; ``p_wrong`` (N,).

    Examples
    --------
    Two experts overrule the current label of sample 0; one expert ties with sample 1's:

    >>> consensus([0, 0, 1], ["ann", "bob", "ann"], [1, 1, 0], current_labels=[0, 1],
    ...           n_classes=2).labels.tolist()
    [1, -1]

    Trusting a single expert decides both; two experts who disagree leave a sample open:

    >>> consensus([0, 1], ["ann", "ann"], [1, 0], current_labels=[0, 1], n_classes=2,
    ...           method="single-expert").labels.tolist()
    [1, 0]
    >>> consensus([0, 0], ["ann", "bob"], [1, 0], current_labels=[0], n_classes=2,
    ...           method="single-expert").labels.tolist()
    [-1]

    Dawid–Skene says how sure it is: sample 2, where one expert's vote overrules the
    label in place, is decided with more doubt than the samples two experts agree on.

    >>> votes = consensus([0, 0, 1, 1, 2], ["ann", "bob", "ann", "bob", "ann"],
    ...                   [1, 1, 0, 0, 1], current_labels=[0, 0, 0], n_classes=2,
    ...                   method="dawid-skene")
    >>> votes.labels.tolist(), np.round(votes.p_wrong, 3).tolist()
    ([1, 0, 1], [0.0, 0.0, 0.01])
    """
    check_choice("method", method, AGGREGATIONS)
    rows = _whole_numbers(sample_index, "sample_index", "row numbers in [0, N)")
    labels = _whole_numbers(votes, "votes", "class indices in [0, K)")
    current = _whole_numbers(current_labels, "current_labels", "class indices, -1 for none")
    check_same_length("annotators", len(annotators), "votes", labels.size)
    names = np.asarray(annotators, dtype=object)
    nobody = np.flatnonzero(pd.isna(names)) if names.ndim == 1 else np.array([], np.intp)
    if nobody.size:
        raise InputError(
            "annotators must name who gave each vote (a name or an id); found "
            f"{names[nobody[0]]} for {row_name(int(nobody[0]), what='vote')}.",
            inputs=("annotators",),
        )
    # Checks the votes (classes, rows, lengths) for every method.
    counts = vote_counts(rows, labels, n_samples=len(current), n_classes=n_classes)
    _check_current(current, n_classes)
    if method in ("plurality", "single-expert"):
        if method == "plurality":
            return _certain(plurality_vote(counts, current_labels=current))
        unanimous = (counts > 0).sum(axis=1) == 1
        return _certain(np.where(unanimous, counts.argmax(axis=1), UNDECIDED).astype(np.intp))
    if labels.size == 0:
        raise InputError(f"{method} needs at least one vote; found none.", inputs=("votes",))
    who = pd.factorize(np.asarray(annotators))[0]
    matrix = np.full((len(current), who.max() + 2), -1, dtype=np.int64)
    matrix[rows, who] = labels
    if method == "dawid-skene":
        matrix[:, -1] = current  # the labels in place are one more, fallible annotator
        posterior = dawid_skene(matrix, n_classes=n_classes).posterior
        best = posterior.max(axis=1)
        sure = best > 0.5
        return Consensus(
            np.where(sure, posterior.argmax(axis=1), UNDECIDED).astype(np.intp),
            np.where(sure, 1.0 - best, np.nan),
        )
    if pred_probs is None:
        raise InputError("crowdlab needs model probabilities: import predictions first.")
    if who.max() + 1 < 2:
        raise InputError(
            "crowdlab needs answers from at least 2 annotators; found 1. With one trusted "
            "expert use method single-expert.",
            inputs=("method",),
        )
    probs = np.asarray(pred_probs, dtype=np.float64)
    if probs.shape != (len(current), n_classes):
        raise InputError(
            f"pred_probs must have shape {(len(current), n_classes)}. Got {probs.shape}.",
            inputs=("pred_probs",),
        )
    check_probability_block(probs, rescale_hint=False)
    from cleanlab.multiannotator import get_label_quality_multiannotator

    frame = pd.DataFrame(matrix[:, :-1]).replace(-1, np.nan)
    quality = get_label_quality_multiannotator(
        frame,
        probs,
        verbose=False,
        label_quality_score_kwargs={"method": "self_confidence"},
    )["label_quality"]
    return Consensus(
        quality["consensus_label"].to_numpy().astype(np.intp),
        1.0 - quality["consensus_quality_score"].to_numpy(dtype=np.float64),
    )


def _certain(decided: IntArray) -> Consensus:
    """Decisions taken as certain: p_wrong 0 where decided, NaN where undecided."""
    return Consensus(decided, np.where(decided == UNDECIDED, np.nan, 0.0))

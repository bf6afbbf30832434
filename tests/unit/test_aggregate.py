"""Plurality decisions with the current label as one vote."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from labelmend.cleaner import (
    UNDECIDED,
    consensus,
    dawid_skene,
    plurality_vote,
    vote_counts,
    vote_counts_by_id,
)
from labelmend.errors import InputError
from labelmend.simulator.crowd import fit_crowd


@given(
    arrays(np.int64, st.tuples(st.integers(1, 20), st.integers(2, 5)), elements=st.integers(0, 4))
)
def test_decided_class_has_strictly_most_votes(counts):
    decided = plurality_vote(counts)
    for row, label in zip(counts, decided, strict=True):
        if label == UNDECIDED:
            assert row.max() == 0 or (row == row.max()).sum() > 1
        else:
            assert (row[label] > np.delete(row, label)).all()


def test_current_label_counts_as_one_vote():
    counts = vote_counts([0, 1, 1, 2], [1, 1, 1, 0], n_samples=3, n_classes=2)
    decided = plurality_vote(counts, current_labels=[0, 0, 0])
    assert decided.tolist() == [UNDECIDED, 1, 0]
    # The label in place adds to the experts' votes for it (2 + 1 against 2: decided;
    # 2 against 1 + 1: a tie), and the caller's counts are left as they were.
    counts = np.array([[1, 2], [2, 1]])
    assert plurality_vote(counts, current_labels=[0, 1]).tolist() == [UNDECIDED, UNDECIDED]
    assert plurality_vote(counts, current_labels=[1, 0]).tolist() == [1, 0]
    np.testing.assert_array_equal(counts, [[1, 2], [2, 1]])


def test_plurality_vote_refuses_bad_shapes_by_name():
    with pytest.raises(InputError, match=r"^counts must have shape \(N, K\)\. Got \(3,\)\.$"):
        plurality_vote(np.array([1, 0, 2]))
    with pytest.raises(InputError, match=r"^current_labels has 1 rows but counts has 2\.$"):
        plurality_vote(np.array([[1, 0], [0, 1]]), current_labels=[0])


@pytest.mark.parametrize(
    ("counts", "current", "message"),
    [
        ([[1, 2]], [5], r"^current_labels must lie in \[0, 2\); found values from 5 to 5\.$"),
        (
            [[1, 2], [0, 1]],
            [-1, 2],
            r"^current_labels must lie in \[0, 2\); found values from 2 to 2\.$",
        ),
        (
            [[1, -2]],
            None,
            r"^counts must hold whole vote counts ≥ 0; found -2 in row 1 \(index 0\)\.$",
        ),
    ],
)
def test_plurality_vote_refuses_values_out_of_range_by_name(counts, current, message):
    # A current label past the last class (-1, no label, is allowed) and a negative
    # count: one readable error each, not numpy's IndexError or a silent decision.
    with pytest.raises(InputError, match=message):
        plurality_vote(np.array(counts), current_labels=current)


def test_bad_votes_are_refused():
    with pytest.raises(InputError, match=r"^votes must lie in \[0, 2\)"):
        vote_counts([0], [5], n_samples=1, n_classes=2)
    with pytest.raises(InputError, match="sample_index must lie"):
        vote_counts([3], [0], n_samples=1, n_classes=2)
    # One past the last sample is outside too.
    with pytest.raises(InputError, match=r"sample_index must lie in \[0, 1\)"):
        vote_counts([1], [0], n_samples=1, n_classes=2)
    with pytest.raises(InputError, match=r"^sample_index has 2 rows but votes has 1\.$"):
        vote_counts([0, 0], [1], n_samples=1, n_classes=2)


def test_no_votes_count_zero_everywhere():
    counts = vote_counts([], [], n_samples=2, n_classes=3)
    np.testing.assert_array_equal(counts, np.zeros((2, 3), dtype=np.int64))
    assert plurality_vote(counts, current_labels=[1, -1]).tolist() == [1, UNDECIDED]


@pytest.mark.parametrize(
    ("method", "expected"),
    [("plurality", [1, 0, 1, UNDECIDED, 1]), ("single-expert", [1, 0, UNDECIDED, 0, UNDECIDED])],
)
def test_vote_decisions_are_certain_where_decided_and_nan_where_open(method, expected):
    # By hand. Sample 0: two experts say 1 against the label 0. Sample 1: one agrees with
    # it. Sample 2: experts split, the label in place breaks the tie for plurality only.
    # Sample 3: one expert against the label in place, a plurality tie. Sample 4: no vote.
    decided = consensus(
        [0, 0, 1, 2, 2, 3],
        ["ann", "bob", "ann", "ann", "bob", "ann"],
        [1, 1, 0, 0, 1, 0],
        current_labels=[0, 0, 1, 1, 1],
        n_classes=2,
        method=method,
    )
    assert decided.labels.tolist() == expected
    open_ = np.array(expected) == UNDECIDED
    np.testing.assert_array_equal(decided.p_wrong[~open_], 0.0)
    assert np.isnan(decided.p_wrong[open_]).all()


def test_consensus_refuses_an_unknown_method_by_name():
    with pytest.raises(InputError, match=r"^method must be one of \{'crowdlab', "):
        consensus([0], ["ann"], [1], current_labels=[0], n_classes=2, method="vote")


def test_dawid_skene_consensus_leaves_an_even_split_open():
    # One expert against the label in place and nothing else to go by: both answers are
    # equally credible, the posterior is exactly one half, so the sample stays open
    # (strictly more than one half decides).
    decided = consensus([0], ["ann"], [1], current_labels=[0], n_classes=2, method="dawid-skene")
    assert decided.labels.tolist() == [UNDECIDED]
    assert np.isnan(decided.p_wrong).all()


def crowd():
    """Six samples, three experts (not everyone answers everything), two classes."""
    sample = [0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 5, 5]
    who = ["ann", "bob", "ann", "bob", "cy", "bob", "cy", "ann", "bob", "cy", "cy", "ann", "cy"]
    votes = [1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0]
    probs = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5], [0.9, 0.1], [0.3, 0.7], [0.4, 0.6]])
    return sample, who, votes, probs


def test_crowdlab_consensus_is_cleanlabs_on_the_experts_answers():
    from cleanlab.multiannotator import get_label_quality_multiannotator

    sample, who, votes, probs = crowd()
    decided = consensus(
        sample, who, votes, current_labels=[0] * 6, n_classes=2, method="crowdlab", pred_probs=probs
    )
    # The experts' answers as cleanlab takes them, one column per expert, NaN where an
    # expert did not answer; the labels in place are not an annotator here.
    matrix = np.full((6, 3), np.nan)
    matrix[sample, [{"ann": 0, "bob": 1, "cy": 2}[w] for w in who]] = votes
    theirs = get_label_quality_multiannotator(pd.DataFrame(matrix), probs, verbose=False)
    quality = theirs["label_quality"]
    np.testing.assert_array_equal(decided.labels, quality["consensus_label"])
    np.testing.assert_allclose(decided.p_wrong, 1.0 - quality["consensus_quality_score"])
    assert decided.labels[[0, 3]].tolist() == [1, 0]  # the unanimous votes


def test_crowdlab_needs_probabilities_and_two_experts():
    sample, who, votes, probs = crowd()
    with pytest.raises(InputError, match=r"^crowdlab needs model probabilities: import "):
        consensus(sample, who, votes, current_labels=[0] * 6, n_classes=2, method="crowdlab")
    message = (
        r"^crowdlab needs answers from at least 2 annotators; found 1\. With one trusted "
        r"expert use method single-expert\.$"
    )
    with pytest.raises(InputError, match=message):
        consensus(
            [0, 1],
            ["ann", "ann"],
            [1, 0],
            current_labels=[0, 0],
            n_classes=2,
            method="crowdlab",
            pred_probs=probs[:2],
        )
    two = consensus(
        [0, 0, 1],
        ["ann", "bob", "ann"],
        [1, 1, 0],
        current_labels=[0, 0],
        n_classes=2,
        method="crowdlab",
        pred_probs=probs[:2],
    )
    assert two.labels.tolist() == [1, 0]


def test_one_em_round_of_dawid_skene_by_hand():
    # Two experts, a third who never answers, a sample nobody labelled. Round 1 starts
    # from the vote shares ([1, 0], [.5, .5], [0, 1], [.5, .5]; prior [.5, .5]): expert
    # 0 answered 0 on samples 0 and 1 and 1 on sample 2, so its counts for a true 0 are
    # (1 + .5, 0) and for a true 1 (.5, 1), plus 0.01 each, over 1.52; expert 1 likewise.
    annotations = np.array([[0, 0, -1], [0, 1, -1], [1, 1, -1], [-1, -1, -1]])
    fit = dawid_skene(annotations, max_iter=1)
    np.testing.assert_allclose(
        fit.confusions * 1.52,
        [[[1.51, 0.01], [0.51, 1.01]], [[1.01, 0.51], [0.01, 1.51]], [[0.76, 0.76]] * 2],
    )
    # Sample 0: both said 0, .5 · 1.51 · 1.01 against .5 · .51 · .01; sample 1: the
    # experts cancel out; sample 3 keeps the prior.
    agree = 1.51 * 1.01 / (1.51 * 1.01 + 0.51 * 0.01)
    np.testing.assert_allclose(
        fit.posterior, [[agree, 1 - agree], [0.5, 0.5], [1 - agree, agree], [0.5, 0.5]]
    )
    assert fit.class_prior.shape == (2,)
    np.testing.assert_allclose(fit.class_prior, [0.5, 0.5])
    assert fit.label_counts.tolist() == [3, 3, 0]
    assert fit.n_iter == 1
    assert fit.labels.tolist()[::2] == [0, 1]


def test_dawid_skene_stops_when_the_posterior_settles():
    votes = np.array([[0, 0, 1], [1, 1, 1], [0, 0, 0], [1, 1, 0]])
    fit = dawid_skene(votes)
    assert 1 < fit.n_iter < 100
    again = dawid_skene(votes, max_iter=fit.n_iter + 5)
    np.testing.assert_allclose(again.posterior, fit.posterior, atol=1e-5)
    # K from n_classes, even when no one answered the last class.
    wider = dawid_skene(votes, n_classes=3)
    assert wider.posterior.shape == (4, 3)
    assert wider.labels.tolist() == fit.labels.tolist()
    assert dawid_skene(np.array([[1, 1]])).labels.tolist() == [1]  # a single sample


@pytest.mark.parametrize(
    ("annotations", "n_classes", "message"),
    [
        (
            np.zeros((0, 2), dtype=int),
            None,
            r"^annotations must have shape \(N, M\)\. Got shape \(0, 2\)\.$",
        ),
        (np.array([0, 1]), None, r"^annotations must have shape \(N, M\)\. Got shape \(2,\)\.$"),
        (
            np.array([[0.0, 1.0]]),
            None,
            r"^annotations must be integers \(-1 = missing\)\. Got float64\.$",
        ),
        (
            np.array([[0, 2]]),
            2,
            r"^annotations must hold labels in \[0, 2\) with -1 for missing\. Got 2\.$",
        ),
        (
            np.full((2, 2), -1),
            None,
            r"^annotations must hold at least one label\. Got only -1 \(missing\)\.$",
        ),
        (
            np.full((2, 2), -1),
            2,
            r"^annotations must hold at least one label\. Got only -1 \(missing\)\.$",
        ),
    ],
)
def test_dawid_skene_refuses_bad_annotations(annotations, n_classes, message):
    with pytest.raises(InputError, match=message):
        dawid_skene(annotations, n_classes=n_classes)


@pytest.mark.parametrize("method", ["plurality", "single-expert", "dawid-skene", "crowdlab"])
@pytest.mark.parametrize(
    ("rows", "annotators", "votes", "current", "message"),
    [
        ([0, 1], ["ann"], [0, 1], [0, 1], r"^annotators has 1 rows but votes has 2\.$"),
        ([0, 4], ["ann", "bob"], [0, 1], [0, 1], r"^sample_index must lie in \[0, 2\)\.$"),
        ([0, 1], ["ann", "bob"], [0, 3], [0, 1], r"^votes must lie in \[0, 2\); found .* 3\.$"),
        ([0, 1], ["ann", "bob"], [0, 1], [0, 7], r"^current_labels must lie in \[0, 2\); .*"),
    ],
)
def test_consensus_refuses_inconsistent_votes_by_name_with_every_method(
    method, rows, annotators, votes, current, message
):
    # Each used to pass silently (annotators shorter than the votes) or fail inside
    # numpy or cleanlab for some methods (IndexError at matrix[rows, who], cleanlab's
    # "Each example only has one label").
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(InputError, match=message):
        consensus(
            rows, annotators, votes, current_labels=current, n_classes=2, method=method,
            pred_probs=probs,
        )  # fmt: skip


@pytest.mark.parametrize("method", ["dawid-skene", "crowdlab"])
def test_annotator_models_refuse_no_votes(method):
    # numpy's "zero-size array to reduction operation maximum" before.
    with pytest.raises(InputError, match=rf"^{method} needs at least one vote; found none\.$"):
        consensus([], [], [], current_labels=[0, 1], n_classes=2, method=method,
                  pred_probs=np.full((2, 2), 0.5))  # fmt: skip


@pytest.mark.parametrize(
    ("probs", "message"),
    [
        (np.full((1, 2), 0.5), r"^pred_probs must have shape \(2, 2\)\. Got \(1, 2\)\.$"),
        (np.full((2, 3), 1 / 3), r"^pred_probs must have shape \(2, 2\)\. Got \(2, 3\)\.$"),
        (np.array([[np.nan, 1.0], [0.5, 0.5]]), r"^pred_probs contains NaN"),
        (np.array([[0.5, 0.6], [0.5, 0.5]]), r"^pred_probs rows must sum to 1 .* off by 0\.1\.$"),
    ],
)
def test_crowdlab_refuses_model_probabilities_of_another_shape_or_not_probabilities(probs, message):
    # Wrong rows failed inside cleanlab; wrong columns, NaN and rows off 1 were decided.
    with pytest.raises(InputError, match=message):
        consensus([0, 1, 0, 1], ["ann", "ann", "bob", "bob"], [0, 1, 0, 1],
                  current_labels=[0, 1], n_classes=2, method="crowdlab", pred_probs=probs)  # fmt: skip


@pytest.mark.parametrize(
    ("ids", "answer_ids", "answers", "message"),
    [
        (["a", "a"], ["a"], [0], r"^ids must be unique; 'a' appears 2 times\.$"),
        (["a", "b"], ["a", "b"], [0], r"^answer_ids has 2 rows but answers has 1\.$"),
    ],
)
def test_vote_counts_by_id_refuses_repeated_ids_and_answers_of_another_length(
    ids, answer_ids, answers, message
):
    # pandas' InvalidIndexError (Reindexing only valid with uniquely valued Index
    # objects) and numpy's IndexError (boolean index did not match) before.
    with pytest.raises(InputError, match=message):
        vote_counts_by_id(ids, answer_ids, answers, n_classes=2)


def _fit_crowd(annotations, n_classes):
    return fit_crowd(annotations, [0, 1, 0, 1], n_classes=n_classes, n_levels=1)


@pytest.mark.parametrize("fit", [dawid_skene, _fit_crowd])
@pytest.mark.parametrize("n_classes", [None, 2])
def test_only_minus_one_means_missing(fit, n_classes):
    # Any answer below 0 was taken for missing: -2 (or -7, a bad code) dropped silently.
    annotations = np.array([[0, 1, 0], [1, -1, 1], [0, 0, -2], [1, -7, 1]])
    fit(np.where(annotations < -1, -1, annotations), n_classes=n_classes)  # -1 is missing
    bound = "K" if n_classes is None else "2"
    message = (
        rf"^annotations must hold labels in \[0, {bound}\) with -1 for missing\. "
        r"Got -2 in row 3 \(index 2\), column 3 \(index 2\)\.$"
    )
    with pytest.raises(InputError, match=message) as raised:
        fit(annotations, n_classes=n_classes)
    assert raised.value.inputs == ("annotations",)


@pytest.mark.parametrize("method", ["plurality", "single-expert", "dawid-skene", "crowdlab"])
@pytest.mark.parametrize("unknown", [None, np.nan])
def test_consensus_refuses_votes_from_nobody(method, unknown):
    # pandas took None (and NaN) for a missing code: dawid-skene dropped those votes under
    # the current labels' column, crowdlab counted them as no annotator at all.
    with pytest.raises(
        InputError,
        match=r"^annotators must name who gave each vote \(a name or an id\); found "
        rf"{unknown} for vote 2 \(index 1\)\.",
    ) as raised:
        consensus([0, 0, 1], ["ann", unknown, "bob"], [1, 1, 0], current_labels=[0, 1],
                  n_classes=2, method=method, pred_probs=np.full((2, 2), 0.5))  # fmt: skip
    assert raised.value.inputs == ("annotators",)

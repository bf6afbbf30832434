"""The ranking engine: contracts over every method, properties, and cleanlab as reference."""

from __future__ import annotations

import dataclasses
from functools import partial
from itertools import permutations

import numpy as np
import pandas as pd
import pytest
from cleanlab.count import compute_confident_joint, estimate_latent
from cleanlab.rank import get_label_quality_scores
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from labelmend.cleaner import (
    DIFFICULTY_METHODS,
    RANKING_COLUMNS,
    RANKING_METHODS,
    REASONS,
    BlockScores,
    NoiseModel,
    ThresholdStats,
    confident_counts,
    expected_annotations,
    expected_errors_curve,
    fit_noise_model,
    fix_probabilities,
    learn_from_answers,
    rank_samples,
    ranking_order,
    score_samples,
    select_batch,
    stopping_point,
    threshold_stats,
)
from labelmend.cleaner.ranking import _reasons
from labelmend.cleaner.scores import EXPERT_PRIOR_STRENGTH, error_weight, fix_table
from labelmend.errors import InputError
from labelmend.simulator.relabel import outcome_probabilities
from tests import synthetic

#: The problem most tests here rank: 4 classes, 20% of the labels flipped.
noisy_problem = partial(synthetic.noisy_problem, k=4, noise=0.2)


@st.composite
def problems(draw):
    n = draw(st.integers(2, 40))
    k = draw(st.integers(2, 5))
    raw = draw(arrays(np.float64, (n, k), elements=st.floats(0.0, 1.0, allow_subnormal=False)))
    raw = raw + 1e-3
    probs = raw / raw.sum(axis=1, keepdims=True)
    labels = draw(arrays(np.int64, n, elements=st.integers(0, k - 1)))
    return labels, probs


@pytest.mark.parametrize("method", sorted(RANKING_METHODS))
@pytest.mark.parametrize("difficulty", sorted(DIFFICULTY_METHODS))
def test_every_method_gives_scores_in_range_and_a_permutation(method, difficulty):
    labels, probs, _ = noisy_problem()
    ranking = rank_samples(labels, probs, method=method, difficulty=difficulty)
    assert list(ranking.columns) == list(RANKING_COLUMNS)
    assert sorted(ranking["sample_id"]) == list(range(len(labels)))
    assert ranking["rank"].tolist() == list(range(1, len(labels) + 1))
    for column in ("p_error", "correctness", "difficulty", "priority"):
        assert ranking[column].between(0, 1).all(), column
    assert set(ranking["reason"].cat.categories) == set(REASONS)
    assert ranking["priority"].is_monotonic_decreasing


#: Four samples, three classes, by hand (logs base 3): correctness of each label-only
#: method and the two difficulties.
HAND_PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
HAND_LABELS = np.array([0, 0, 1, 2])
HAND_CORRECTNESS = {
    "self_confidence": [0.7, 0.1, 0.3, 0.6],
    # (p[y] − max other + 1) / 2: (0.7 − 0.2 + 1) / 2, (0.1 − 0.6 + 1) / 2, ...
    "normalized_margin": [0.75, 0.25, 0.4, 0.7],
    # 1 / (1 + CE), CE = −log3 p[y]: −log3 0.7 = 0.32466, −log3 0.1 = 2.0959, ...
    "cross_entropy": [0.75491, 0.32301, 0.47712, 0.68261],
    # 1 / (1.7 + CE − max(0, H − 0.3)): row 0 CE 0.32466, H 0.72985; row 3 CE 0.46497,
    # H 0.86498, so 1 / 1.6.
    "ce_minus_entropy": [0.62703, 0.30501, 0.46325, 0.625],
}
HAND_DIFFICULTY = {
    "margin": [0.5, 0.7, 0.8, 0.6],  # 1 − (largest − second largest)
    "entropy": [0.72985, 0.81735, 0.93723, 0.86497],  # H base 3: row 0 0.80182 / ln 3
}


@pytest.mark.parametrize("method", sorted(HAND_CORRECTNESS))
def test_label_only_methods_score_by_their_formula_by_hand(method):
    scores = score_samples(HAND_LABELS, HAND_PROBS, method=method)
    np.testing.assert_allclose(scores.correctness, HAND_CORRECTNESS[method], atol=1e-5)
    np.testing.assert_allclose(scores.priority, 1 - np.array(HAND_CORRECTNESS[method]), atol=1e-5)


@pytest.mark.parametrize("difficulty", sorted(HAND_DIFFICULTY))
def test_difficulties_by_hand(difficulty):
    scores = score_samples(HAND_LABELS, HAND_PROBS, difficulty=difficulty)
    np.testing.assert_allclose(scores.difficulty, HAND_DIFFICULTY[difficulty], atol=1e-5)


def test_reasons_are_checked_in_order_at_their_boundaries():
    # difficulty > threshold: ambiguous; else p_error ≥ 0.5: confident_other_class; else
    # self-confidence < 0.5: low_confidence; else likely_correct. Each at its boundary.
    codes = _reasons(
        np.array([0.4, 0.3, 0.1, 0.1, 0.1, 0.1]),
        np.array([0.9, 0.9, 0.5, 0.49, 0.2, 0.2]),
        np.array([0.1, 0.1, 0.1, 0.5, 0.49, 0.9]),
        0.3,
    )
    assert [REASONS[c] for c in codes] == [
        "ambiguous",
        "confident_other_class",
        "confident_other_class",
        "likely_correct",
        "low_confidence",
        "likely_correct",
    ]
    # End to end on the hand problem (p_error 0.13, 0.76, 0.45, 0.19; p[y] 0.7, 0.1, 0.3,
    # 0.6): nothing is ambiguous at threshold 1, everything (entropy > 0) at 0.
    reasons = [
        REASONS[c] for c in score_samples(HAND_LABELS, HAND_PROBS, ambiguity_threshold=1.0).reason
    ]
    assert reasons == [
        "likely_correct",
        "confident_other_class",
        "low_confidence",
        "likely_correct",
    ]
    everything = score_samples(HAND_LABELS, HAND_PROBS, ambiguity_threshold=0.0).reason
    assert everything.tolist() == [0, 0, 0, 0]


def test_rank_samples_passes_its_options_on():
    base = rank_samples(HAND_LABELS, HAND_PROBS).set_index("sample_id").sort_index()
    margin = rank_samples(HAND_LABELS, HAND_PROBS, difficulty="margin", ambiguity_threshold=1.0)
    margin = margin.set_index("sample_id").sort_index()
    np.testing.assert_allclose(margin["difficulty"], HAND_DIFFICULTY["margin"])
    assert "ambiguous" not in set(margin["reason"])
    assert set(base["reason"]) == {"ambiguous"}  # entropy above 0.3 everywhere
    # A caller's noise model is the one used.
    model = fit_noise_model(HAND_LABELS, HAND_PROBS, prior_strength=1.0)
    given = rank_samples(HAND_LABELS, HAND_PROBS, noise_model=model).set_index("sample_id")
    expected = score_samples(HAND_LABELS, HAND_PROBS, noise_model=model).p_error
    np.testing.assert_allclose(given.sort_index()["p_error"], expected)
    assert not np.allclose(expected, base["p_error"])
    # Without sample ids the frame keeps the input order.
    scores = score_samples(HAND_LABELS, HAND_PROBS)
    frame = scores.frame(np.array(["a", "b", "c", "d"]))
    assert frame["sample_id"].tolist() == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(frame["p_error"], scores.p_error)


def test_scoring_options_are_checked_by_name():
    with pytest.raises(InputError, match=r"^difficulty must be one of \{'entropy', 'margin'\}"):
        score_samples(HAND_LABELS, HAND_PROBS, difficulty="gini")
    with pytest.raises(InputError, match=r"^method must be one of"):
        score_samples(HAND_LABELS, HAND_PROBS, method="gini")
    for threshold in (0.0, 1.0):
        score_samples(HAND_LABELS, HAND_PROBS, ambiguity_threshold=threshold)
    with pytest.raises(
        InputError, match=r"^ambiguity_threshold must be a finite number in \[0, 1\]\. Got 1\.5\.$"
    ):
        score_samples(HAND_LABELS, HAND_PROBS, ambiguity_threshold=1.5)
    with pytest.raises(InputError, match=r"^sample_ids has 3 rows but labels has 4\.$"):
        rank_samples(HAND_LABELS, HAND_PROBS, sample_ids=[1, 2, 3])
    model = fit_noise_model(HAND_LABELS, HAND_PROBS)
    two = np.array([[0.6, 0.4], [0.3, 0.7]])
    with pytest.raises(
        InputError, match=r"^noise_model has 3 classes but pred_probs has 2 columns\.$"
    ):
        score_samples([0, 1], two, noise_model=model)
    # A caller's model skips the fit, which validates the rows: scoring validates them.
    with pytest.raises(InputError, match="NaN or infinite"):
        score_samples(
            HAND_LABELS, np.where(HAND_PROBS > 0.65, np.nan, HAND_PROBS), noise_model=model
        )


@pytest.mark.parametrize("function", [score_samples, fit_noise_model])
def test_rows_off_one_are_refused_unless_asked_to_normalize(function):
    with pytest.raises(InputError, match=r"off by 0\.1"):
        function([0, 1], np.array([[0.5, 0.6], [0.5, 0.5]]))
    function([0, 1], np.array([[0.5, 0.6], [0.5, 0.5]]), normalize=True)


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        (
            2.0,
            r"^pred_probs rows must sum to 1 \(within 0\.001\); row 1 \(index 0\) is off by 1\.$",
        ),
        (
            -1.0,
            r"^pred_probs contains negative values \(first in row 1 \(index 0\)\); "
            r"expected probabilities\.$",
        ),
    ],
)
def test_learn_from_answers_refuses_probabilities_without_naming_options_it_does_not_have(
    scale, message
):
    # learn_from_answers has no normalize or from_logits: its message used to advise
    # "Pass normalize=True ..." (a TypeError if followed).
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]) * scale
    with pytest.raises(InputError, match=message) as raised:
        learn_from_answers([0, 1, 1], probs, np.zeros((3, 2)))
    assert raised.value.inputs == ("pred_probs",)
    # Shape errors keep their own message.
    with pytest.raises(InputError, match=r"^pred_probs must have shape \(N, K\).*\(3,\)"):
        learn_from_answers([0, 1, 1], np.array([0.9, 0.2, 0.3]), np.zeros((3, 2)))


def test_learn_from_answers_takes_an_ensemble_as_score_samples_does():
    # It used to pass the list on to fit_expert_reliability unaveraged: "pred_probs must
    # have shape (N, K). Got (2, 40, 2)", while score_samples scores the same ensemble.
    rng = np.random.default_rng(0)
    first, second = rng.dirichlet([1.0, 1.0], size=40), rng.dirichlet([1.0, 1.0], size=40)
    labels = ((first + second) / 2).argmax(axis=1)
    votes = np.zeros((40, 2))
    votes[:12, 1] = 1
    averaged = learn_from_answers(labels, (first + second) / 2, votes)
    for ensemble in ([first, second], np.stack([first, second])):
        noise_model, reliability = learn_from_answers(labels, ensemble, votes)
        assert np.array_equal(noise_model.noise_matrix, averaged[0].noise_matrix)
        for field in dataclasses.fields(reliability):
            found, expected = getattr(reliability, field.name), getattr(averaged[1], field.name)
            assert np.array_equal(found, expected), field.name


def test_learn_from_answers_names_its_own_parameters_not_fit_expert_reliability_s():
    # fit_expert_reliability checks the probabilities as its probs: the errors said
    # "votes must have the shape of probs (6, 2)" to a caller who passed pred_probs.
    probs = np.tile([[0.9, 0.1], [0.2, 0.8]], (3, 1))
    labels = probs.argmax(axis=1)
    cases = [
        ({}, r"^votes must have the shape of pred_probs \(6, 2\)\. Got \(5, 2\)\.$"),
        (
            {"model_probs": probs},
            r"^votes must have the shape of model_probs \(6, 2\)\. Got \(5, 2\)\.$",
        ),
    ]
    for options, message in cases:
        with pytest.raises(InputError, match=message) as raised:
            learn_from_answers(labels, probs, np.zeros((5, 2)), **options)
        assert raised.value.inputs == ("votes", "model_probs" if options else "pred_probs")
    bad = probs.copy()
    bad[0] = [1.5, -0.5]
    with pytest.raises(InputError, match=r"^model_probs must hold probabilities in \[0, 1\]"):
        learn_from_answers(labels, probs, np.zeros((6, 2)), model_probs=bad)
    with pytest.raises(
        InputError,
        match=r"^model_probs must have the shape of pred_probs \(6, 2\)\. Got \(5, 2\)\.$",
    ):
        learn_from_answers(labels, probs, np.zeros((6, 2)), model_probs=probs[:5])


def test_select_batch_checks_its_arguments():
    ranking = rank_samples(HAND_LABELS, HAND_PROBS)
    for budget in (-1, True, 2.5):
        with pytest.raises(
            InputError, match=rf"^budget must be a non-negative integer\. Got {budget!r}\.$"
        ):
            select_batch(ranking, budget)
    with pytest.raises(
        InputError, match=r"^per_class must be a positive integer or None\. Got 0\.$"
    ):
        select_batch(ranking, 2, per_class=0)
    # per_class 1: the first-ranked sample of each given label, in rank order.
    one_each = select_batch(ranking, 4, per_class=1)
    firsts = ranking.drop_duplicates("given_label")
    assert one_each["sample_id"].tolist() == firsts["sample_id"].tolist()
    assert len(one_each) == 3
    for function in (partial(select_batch, budget=1), expected_errors_curve):
        name = getattr(function, "func", function).__name__
        with pytest.raises(
            InputError,
            match=rf"^{name} expects a ranking from rank_samples; columns \['p_error'\] are missing\.$",
        ):
            function(ranking.drop(columns="p_error"))


def test_posterior_methods_score_by_p_error():
    # Correctness 1 − p_error for both; "posterior" reviews by p_error itself, the
    # default by error weight × fixability / expected annotations.
    posterior = score_samples(HAND_LABELS, HAND_PROBS, method="posterior")
    default = score_samples(HAND_LABELS, HAND_PROBS)
    np.testing.assert_allclose(posterior.p_error, default.p_error)
    assert np.all((posterior.p_error > 0.1) & (posterior.p_error < 0.9))  # not clipped
    for scores in (posterior, default):
        np.testing.assert_allclose(scores.correctness, 1 - scores.p_error)
    np.testing.assert_allclose(posterior.priority, posterior.p_error)
    block = BlockScores(HAND_PROBS, HAND_LABELS, default.noise_model)
    np.testing.assert_allclose(
        default.priority,
        block.error_weight * block.fixability / block.expected_annotations,
    )


def test_error_weight_is_positive_at_zero_and_one_at_one():
    weight = error_weight(np.array([0.0, 1e-12, 1.0]))
    assert 0 < weight[0] == weight[1] < 1e-10
    assert weight[2] == 1.0


def test_fix_table_reads_the_experts_at_confident_learnings_amount_not_the_scale():
    stats = ThresholdStats(np.array([0.5, 0.5]), np.array([10, 10]))
    model = NoiseModel.from_counts(stats, np.array([[8, 2], [0, 10]]))
    experts = dataclasses.replace(model, prior_strength=EXPERT_PRIOR_STRENGTH)
    scaled = dataclasses.replace(model, scale=0.5)
    np.testing.assert_array_equal(fix_table(scaled), fix_probabilities(experts.likelihood()))
    assert not np.allclose(fix_table(scaled), fix_probabilities(scaled.likelihood()))


@pytest.mark.parametrize("method", sorted(RANKING_METHODS))
def test_every_method_puts_injected_errors_first(method):
    labels, probs, true = noisy_problem(n=1000, noise=0.1)
    ranking = rank_samples(labels, probs, method=method)
    n_errors = int((labels != true).sum())
    top = ranking["sample_id"].to_numpy()[:n_errors]
    assert (labels[top] != true[top]).mean() > 0.8


@settings(max_examples=60, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_scores_are_invariant_to_row_order(problem, random):
    labels, probs = problem
    order = np.array(random.sample(range(len(labels)), len(labels)))
    ids = np.arange(len(labels))
    first = rank_samples(labels, probs, sample_ids=ids).set_index("sample_id").sort_index()
    second = (
        rank_samples(labels[order], probs[order], sample_ids=ids[order])
        .set_index("sample_id")
        .sort_index()
    )
    np.testing.assert_allclose(first["priority"], second["priority"], atol=1e-12)
    np.testing.assert_allclose(first["p_error"], second["p_error"], atol=1e-12)
    assert (first["rank"] == second["rank"]).all()


@settings(max_examples=60, deadline=None)
@given(problems())
def test_scores_in_range_and_ranking_is_permutation(problem):
    labels, probs = problem
    for method in RANKING_METHODS:
        ranking = rank_samples(labels, probs, method=method)
        assert sorted(ranking["sample_id"]) == list(range(len(labels)))
        for column in ("p_error", "correctness", "difficulty", "priority"):
            values = ranking[column].to_numpy()
            assert np.all((values >= 0) & (values <= 1)), (method, column)


@settings(max_examples=30, deadline=None)
@given(problems())
def test_ensemble_of_one_model_equals_the_model(problem):
    labels, probs = problem
    single = rank_samples(labels, probs)
    as_list = rank_samples(labels, [probs])
    as_stack = rank_samples(labels, probs[None])
    for other in (as_list, as_stack):
        np.testing.assert_allclose(single["priority"], other["priority"])
        assert single["sample_id"].tolist() == other["sample_id"].tolist()


def test_ensemble_averages_members():
    labels, probs, _ = noisy_problem()
    other = np.roll(probs, 1, axis=1)
    averaged = rank_samples(labels, (probs + other) / 2)
    ensemble = rank_samples(labels, [probs, other])
    np.testing.assert_allclose(averaged["p_error"], ensemble["p_error"])


def test_a_nested_list_of_rows_is_one_model():
    # rank_samples([0, 1], [[.9, .1], [.2, .8]]) took each row for an ensemble member
    # and refused it: "pred_probs must have shape (N, K), (M, N, K) or be a list of
    # (N, K) arrays. Got an array of shape (2,) (member 0)."
    labels, probs, _ = noisy_problem()
    expected = rank_samples(labels, probs)
    pd.testing.assert_frame_equal(rank_samples(labels.tolist(), probs.tolist()), expected)
    pd.testing.assert_frame_equal(rank_samples(labels, list(probs)), expected)
    two = rank_samples(labels, [probs.tolist(), probs.tolist()])  # a list of models still is
    pd.testing.assert_frame_equal(two, expected)


@pytest.mark.parametrize("block_rows", [1, 7, 64, None])
def test_blocks_and_threads_do_not_change_results(block_rows):
    labels, probs, _ = noisy_problem()
    reference = rank_samples(labels, probs, block_rows=10_000, n_jobs=1)
    chunked = rank_samples(labels, probs, block_rows=block_rows, n_jobs=2)
    np.testing.assert_allclose(reference["priority"], chunked["priority"])
    assert reference["sample_id"].tolist() == chunked["sample_id"].tolist()


def test_memory_mapped_input_is_scored(tmp_path):
    labels, probs, _ = noisy_problem()
    path = tmp_path / "probs.npy"
    np.save(path, probs.astype(np.float32))
    mapped = np.load(path, mmap_mode="r")
    in_memory = rank_samples(labels, probs.astype(np.float32))
    streamed = rank_samples(labels, mapped, block_rows=50)
    np.testing.assert_allclose(in_memory["p_error"], streamed["p_error"], rtol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_confident_joint_matches_cleanlab(seed):
    labels, probs, _ = noisy_problem(n=600, k=5, seed=seed)
    model = fit_noise_model(labels, probs, block_rows=37)
    theirs = compute_confident_joint(labels, probs, calibrate=True)
    np.testing.assert_allclose(model.confident_joint, theirs, atol=1.0)
    _, noise_matrix, _ = estimate_latent(theirs, labels)
    np.testing.assert_allclose(model.noise_matrix, noise_matrix, atol=0.01)


@pytest.mark.parametrize("concentration", [0.2, 1.0, 5.0])
def test_raw_confident_counts_equal_cleanlab_exactly(concentration):
    # Flat rows put several classes above their thresholds, often not the top one.
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.full(6, concentration), size=2000)
    labels = rng.integers(0, 6, size=2000)
    thresholds = threshold_stats(labels, probs).thresholds
    ours = confident_counts(labels, probs, thresholds)
    theirs = compute_confident_joint(labels, probs, calibrate=False)
    np.testing.assert_array_equal(ours, theirs)


def test_confident_learning_method_matches_cleanlab_adjusted_scores():
    labels, probs, _ = noisy_problem()
    ours = score_samples(labels, probs, method="confident_learning").correctness
    theirs = get_label_quality_scores(
        labels, probs, method="self_confidence", adjust_pred_probs=True
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_plain_scores_match_cleanlab(method):
    labels, probs, _ = noisy_problem()
    ours = score_samples(labels, probs, method=method).correctness
    theirs = get_label_quality_scores(labels, probs, method=method)
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_p_error_is_calibrated_on_synthetic_noise():
    # p_error is a posterior given the model's probabilities, so it can only be
    # calibrated when they are: each true label is drawn from its row's probabilities.
    rng = np.random.default_rng(1)
    probs = np.exp(6 * rng.normal(size=(4000, 4)))
    probs /= probs.sum(axis=1, keepdims=True)
    true = (rng.random(4000)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    labels = true.copy()
    flip = rng.random(4000) < 0.15
    labels[flip] = (true[flip] + rng.integers(1, 4, size=flip.sum())) % 4
    p_error = score_samples(labels, probs).p_error
    actual = int((labels != true).sum())
    assert abs(p_error.sum() - actual) < 0.2 * actual
    # Among samples with p_error above one half, most are real errors.
    confident = p_error > 0.5
    assert (labels[confident] != true[confident]).mean() > 0.8


def test_ce_minus_entropy_matches_the_paper_formula():
    labels, probs, _ = noisy_problem(k=3)
    k = probs.shape[1]
    cross_entropy = -np.log(probs[np.arange(len(labels)), labels]) / np.log(k)
    entropy = -(probs * np.log(probs)).sum(axis=1) / np.log(k)
    paper = cross_entropy - np.maximum(0.0, entropy - 0.3)
    priority = score_samples(labels, probs, method="ce_minus_entropy").priority
    assert np.array_equal(np.argsort(-paper, kind="stable"), np.argsort(-priority, kind="stable"))


def test_default_priority_pushes_ambiguous_samples_back():
    # Both samples are labelled 0 and equally likely wrong; the second is spread over
    # many classes, so settling it costs more annotations.
    probs = np.array([[0.2, 0.8, 0.0, 0.0, 0.0], [0.2, 0.2, 0.2, 0.2, 0.2]])
    probs = np.vstack([probs, np.tile([0.9, 0.025, 0.025, 0.025, 0.025], (20, 1))])
    labels = np.zeros(len(probs), dtype=int)
    ranking = rank_samples(labels, probs)
    assert ranking["sample_id"].iloc[0] == 0
    assert ranking.set_index("sample_id").loc[1, "reason"] == "ambiguous"


def symmetric_noise_model(k: int, clean: int = 80, flipped: int = 5) -> NoiseModel:
    """A noise model whose every class keeps `clean` and loses `flipped` to each other."""
    stats = ThresholdStats(np.full(k, 50.0), np.full(k, 100))
    return NoiseModel.from_counts(stats, np.full((k, k), flipped) + np.diag(np.full(k, clean)))


@given(problems())
def test_error_weight_is_in_range_and_follows_p_error(problem):
    labels, probs = problem
    block = BlockScores(probs, labels, symmetric_noise_model(probs.shape[1]))
    weight, p_error = block.error_weight, block.p_error
    assert np.all((weight > 0) & (weight <= 1))
    order = np.argsort(p_error, kind="stable")
    assert np.all(np.diff(weight[order]) >= 0)
    assert np.all(weight[p_error >= 0.998] == 1.0)


def test_default_priority_reviews_a_near_certain_error_before_a_cheaper_likely_one():
    # Sample 0: surely mislabelled, experts split three ways (costlier to settle).
    # Sample 1: likely mislabelled (p_error ≈ 0.91), settled in about two answers.
    probs = np.array([[1e-4, 0.4, 0.29995, 0.29995, 0.0], [0.01, 0.99, 0.0, 0.0, 0.0]])
    block = BlockScores(probs, np.zeros(2, dtype=int), symmetric_noise_model(5))
    assert block.p_error[0] > 0.99
    assert 0.85 < block.p_error[1] < 0.95
    assert block.expected_annotations[0] > 1.4 * block.expected_annotations[1]
    # p_error / E would take sample 1 first; the error weight takes the surer error.
    assert block.p_error[0] / block.expected_annotations[0] < (
        block.p_error[1] / block.expected_annotations[1]
    )
    priority = RANKING_METHODS["errors_per_annotation"].priority(block)
    assert priority[0] > priority[1]


@st.composite
def answer_matrices(draw):
    """(K, K) expert answer distributions [answer, true], columns summing to one."""
    k = draw(st.integers(2, 6))
    raw = draw(arrays(np.float64, (k, k), elements=st.floats(0.0, 1.0, allow_subnormal=False)))
    raw = raw + np.eye(k) * 1e-3
    return raw / raw.sum(axis=0, keepdims=True)


@given(answer_matrices())
@settings(max_examples=60, deadline=None)
def test_fix_probabilities_equal_the_exact_review_outcome(answers):
    # The simulator's dynamic programme over seen sets is the reference: for every
    # current label y and true class t, P(the review ends on t) with answers ~ column t.
    k = answers.shape[0]
    table = fix_probabilities(answers)
    for true in range(k):
        outcome = outcome_probabilities(np.tile(answers[:, true], (k, 1)), np.arange(k))
        np.testing.assert_allclose(table[:, true], outcome[:, true], atol=1e-9)
    assert np.all((table >= 0) & (table <= 1))


@pytest.mark.parametrize(
    ("probs", "current", "message"),
    [
        ([[0.5, 0.5]] * 4, [0, 1], r"^current_labels has 2 rows but probs has 4\.$"),
        (
            [[0.5, 0.5]] * 2,
            [0, 5],
            r"^current_labels must lie in \[0, 2\); found values from 0 to 5\.$",
        ),
        ([0.5, 0.5], [0], r"^probs must have shape \(N, K\)\. Got \(2,\)\.$"),
    ],
)
def test_expected_annotations_refuses_labels_that_do_not_fit_the_probabilities(
    probs, current, message
):
    # numpy's IndexError (shape mismatch: indexing arrays could not be broadcast
    # together; index 5 is out of bounds for axis 1) or ValueError (not enough values
    # to unpack) before.
    with pytest.raises(InputError, match=message):
        expected_annotations(np.array(probs), np.array(current))


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (np.array([0.5, 0.5]), r"^answers must have shape \(K, K\)\. Got \(2,\)\.$"),
        (np.full((2, 3), 0.5), r"^answers must have shape \(K, K\)\. Got \(2, 3\)\.$"),
        (np.array([[np.nan, 0.5], [0.5, 0.5]]), r"^answers contains NaN or infinite values\.$"),
    ],
)
def test_fix_probabilities_refuses_answers_that_are_not_a_finite_square(answers, message):
    # IndexError (too many indices; list index out of range) or a table of NaN before.
    with pytest.raises(InputError, match=message):
        fix_probabilities(answers)


def test_default_priority_defers_errors_in_a_class_pair_the_labellers_confuse():
    # Two samples labelled 0, each surely of another class at the same cost to settle.
    # The labelling process confuses 0 and 1 heavily (experts answering like it often
    # repeat the wrong class) but never 0 and 2, so fixing sample 1 is the better bet.
    probs = np.array([[0.01, 0.99, 0.0], [0.01, 0.0, 0.99]])
    labels = np.zeros(2, dtype=int)
    stats = ThresholdStats(np.full(3, 500.0), np.full(3, 1000))
    model = NoiseModel.from_counts(stats, np.array([[600, 400, 0], [400, 600, 0], [0, 0, 1000]]))
    block = BlockScores(probs, labels, model)
    assert block.alternative.tolist() == [1, 2]
    assert block.fixability[0] < 0.8 < block.fixability[1]
    np.testing.assert_allclose(block.expected_annotations[0], block.expected_annotations[1])
    priority = RANKING_METHODS["errors_per_annotation"].priority(block)
    assert block.error_weight[0] <= block.error_weight[1] * 1.5
    assert priority[1] > priority[0]


def test_fixability_reads_the_labellers_confusion_at_its_own_smoothing():
    # 60 labels per class, half of the 0/1 labels confused with the other class. p_error's
    # likelihood is smoothed with 300 pseudo-counts per class and scaled to its own amount
    # of noise, which flattens that confusion (a wrong 0 for a true 1 looks fixable,
    # 0.81); the fixability reads it with EXPERT_PRIOR_STRENGTH pseudo-counts and
    # confident learning's amount, where experts who answer like the labellers repeat it.
    probs = np.array([[0.01, 0.99, 0.0], [0.01, 0.0, 0.99]])
    labels = np.zeros(2, dtype=int)
    stats = ThresholdStats(np.full(3, 0.5), np.full(3, 60))
    joint = np.array([[36, 24, 0], [24, 36, 0], [0, 0, 60]])
    model = NoiseModel.from_counts(stats, joint, prior_strength=300.0)
    model = dataclasses.replace(model, scale=0.5, error_rate=0.1)
    block = BlockScores(probs, labels, model)
    flattened = fix_probabilities(model.likelihood())[labels, block.alternative]
    assert flattened[0] > 0.8
    assert block.fixability[0] < 0.5 < 0.9 < block.fixability[1]
    # Neither p_error's smoothing nor its noise scale reaches the experts' confusion.
    for other in (dataclasses.replace(model, prior_strength=10.0, scale=2.0), model):
        np.testing.assert_allclose(BlockScores(probs, labels, other).fixability, block.fixability)
    expert = dataclasses.replace(model, prior_strength=EXPERT_PRIOR_STRENGTH, scale=None)
    np.testing.assert_allclose(
        block.fixability, fix_probabilities(expert.likelihood())[labels, block.alternative]
    )
    # ... and the experts' smoothing does not reach p_error (the posterior under p_error's
    # own likelihood), on either path.
    joint_post = probs * model.likelihood()[labels]
    p_error = 1.0 - joint_post[np.arange(2), labels] / joint_post.sum(axis=1)
    np.testing.assert_allclose(block.p_error, p_error)
    assert not np.allclose(BlockScores(probs, labels, expert).p_error, p_error)
    scored = score_samples(labels, probs, noise_model=model, n_jobs=1)
    np.testing.assert_allclose(scored.p_error, p_error)
    priority = RANKING_METHODS["errors_per_annotation"].priority(block)
    np.testing.assert_allclose(scored.priority, priority)


def sparse_problem(seed: int = 0):
    """Issue 12's held-out text shape: 20 classes, about 70% of the cells exactly 0.

    Rows 0-39 give their label p = 0 and spread over four other classes; rows 40-79 are
    confident flips (p[y] = 0.05, one other class 0.95); the other rows are clean.
    """
    rng = np.random.default_rng(seed)
    n, k = 4000, 20
    rows = np.arange(n)
    labels = rng.integers(k, size=n)
    keys = rng.random((n, k))
    keys[rows, labels] = -1.0  # first in every row's order of classes
    order = np.argsort(keys, axis=1)
    probs = np.zeros((n, k))
    np.put_along_axis(probs, order[:, :6], rng.dirichlet(np.full(6, 0.3), size=n), axis=1)
    probs[rows, labels] += 3.0
    probs /= probs.sum(axis=1, keepdims=True)
    saturated, flips = rows[:40], rows[40:80]
    probs[:80] = 0.0
    spread = np.zeros((40, k))
    np.put_along_axis(spread, order[saturated, 1:5], rng.dirichlet(np.ones(4), size=40), axis=1)
    probs[saturated] = spread
    probs[flips, labels[flips]] = 0.05
    probs[flips, order[flips, 1]] = 0.95
    return labels, probs, saturated, flips


def test_given_labels_at_zero_probability_are_ranked_by_evidence_not_saturated():
    # Issue 12, point 4: rows whose given label has p = 0 must not saturate the priority
    # (p_error = 1, then ordered by cost alone); with the confident flips they lead.
    labels, probs, saturated, flips = sparse_problem()
    assert (probs == 0).mean() > 0.65
    scores = score_samples(labels, probs)
    assert np.all(scores.p_error[saturated] < 1.0)
    # Not saturated: the p = 0 rows keep distinct weights, ordered by their evidence.
    weight = BlockScores(probs, labels, scores.noise_model).error_weight
    assert np.all(weight[saturated] < 1.0)
    assert np.unique(scores.p_error[saturated]).size == saturated.size
    # A label the model gives 0 counts as the zero floor (the share of zero cells that
    # hold the given label, far below 0.05): surer wrong than a confident flip's.
    assert scores.p_error[saturated].min() > np.median(scores.p_error[flips])
    position = np.empty(len(labels), dtype=int)
    position[ranking_order(scores.priority, scores.p_error)] = np.arange(len(labels))
    # Both groups lead the clean rows.
    assert position[np.concatenate([saturated, flips])].max() < 200


def annotations_by_enumeration(p, y, terms):
    """E[annotations] of the plurality protocol from its definition: the review goes on
    past vote r exactly when votes 1..r are all different classes other than y, so
    E = Σ_{r=0}^{terms} P(that), summed here over every ordered choice of r classes."""
    others = [j for j in range(len(p)) if j != y]
    return sum(
        np.prod(p[list(chosen)]) for r in range(terms + 1) for chosen in permutations(others, r)
    )


@pytest.mark.parametrize("k", [2, 3, 4, 6, 8])
def test_expected_annotations_equal_the_protocol_enumerated(k):
    rng = np.random.default_rng(k)
    probs = rng.dirichlet(np.full(k, 0.8), size=5)
    labels = rng.integers(k, size=5)
    pairs = list(zip(probs, labels, strict=True))
    exact = [annotations_by_enumeration(p, y, k - 1) for p, y in pairs]
    np.testing.assert_allclose(expected_annotations(probs, labels), exact, rtol=1e-10)
    np.testing.assert_allclose(
        expected_annotations(probs.astype(np.float32), labels), exact, rtol=1e-5
    )
    # Truncated series: the first max_terms terms exactly.
    truncated = [annotations_by_enumeration(p, y, min(2, k - 1)) for p, y in pairs]
    np.testing.assert_allclose(expected_annotations(probs, labels, max_terms=2), truncated)


def test_fix_probabilities_honour_max_terms():
    # Experts who answer every one of 7 classes about equally: terms beyond the second
    # change the table, and max_terms=6 is the whole series.
    answers = np.full((7, 7), 1 / 7)
    exact = fix_probabilities(answers)
    np.testing.assert_allclose(fix_probabilities(answers, max_terms=6), exact)
    assert np.abs(fix_probabilities(answers, max_terms=2) - exact).max() > 0.01


def test_expected_annotations_matches_simulation():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(4, 0.7), size=3)
    labels = np.array([0, 1, 2])
    exact = expected_annotations(probs, labels)
    simulated = []
    for p, y in zip(probs, labels, strict=True):
        costs = []
        for _ in range(4000):
            seen, cost = {y}, 0
            while True:
                vote = rng.choice(4, p=p)
                cost += 1
                if vote in seen:
                    break
                seen.add(vote)
            costs.append(cost)
        simulated.append(np.mean(costs))
    np.testing.assert_allclose(exact, simulated, atol=0.05)


def test_select_batch_respects_budget_exclusions_and_class_caps():
    labels, probs, _ = noisy_problem()
    ranking = rank_samples(labels, probs)
    first = ranking["sample_id"].iloc[0]
    batch = select_batch(ranking, 10, exclude=[first], per_class=2)
    assert len(batch) == 8  # 4 classes × 2
    assert first not in set(batch["sample_id"])
    assert batch["given_label"].value_counts().max() <= 2
    assert batch["rank"].is_monotonic_increasing
    assert len(select_batch(ranking, 0)) == 0
    assert len(select_batch(ranking, 10_000)) == len(labels)


def test_expected_errors_curve_is_cumulative_p_error():
    labels, probs, _ = noisy_problem()
    ranking = rank_samples(labels, probs)
    curve = expected_errors_curve(ranking)
    assert curve.shape == (len(labels),)
    assert np.all(np.diff(curve) >= 0)
    assert curve[-1] == pytest.approx(ranking["p_error"].sum())
    # By hand, on a ranking whose rows are not in rank order.
    shuffled = pd.DataFrame(
        {"sample_id": [7, 8, 9], "p_error": [0.5, 0.25, 0.125], "rank": [2, 1, 3]}
    )
    np.testing.assert_array_equal(expected_errors_curve(shuffled), [0.25, 0.75, 0.875])


def test_stopping_point_by_hand():
    # p_error 0.5, 0.25, 0.125 (exact in binary). One sample ahead: the rates are the
    # values themselves, and the rule stops strictly below the threshold.
    curve = np.cumsum([0.5, 0.25, 0.125])
    assert stopping_point(curve, window=1, threshold=0.25) == 2
    # Two ahead: 0.375 from position 0, 0.1875 from position 1.
    assert stopping_point(curve, window=2, threshold=0.25) == 1
    assert stopping_point(curve, window=1, threshold=0.125) == 3  # never: review all
    with pytest.raises(InputError, match=r"^window must be an integer ≥ 1\. Got 0\.$"):
        stopping_point(curve, window=0)


@pytest.mark.parametrize(
    ("curve", "message"),
    [
        (np.ones((2, 2)), r"^curve must have shape \(N,\)\. Got \(2, 2\)\.$"),
        (np.array([0.5, np.nan, 1.0]), r"^curve contains NaN or infinite values\.$"),
    ],
)
def test_stopping_point_refuses_a_curve_that_is_not_a_finite_row(curve, message):
    # A 2-D curve failed in numpy's concatenate (all the input arrays must have same
    # number of dimensions); a NaN never compared below the threshold: review all.
    with pytest.raises(InputError, match=message):
        stopping_point(curve, window=1)


@pytest.mark.parametrize(
    ("p_error", "tie_breaker", "message"),
    [
        (np.ones(2), None, r"^p_error has 2 rows but priority has 3\.$"),
        (np.ones(3), np.arange(2), r"^tie_breaker has 2 rows but priority has 3\.$"),
    ],
)
def test_ranking_order_refuses_keys_of_another_length(p_error, tie_breaker, message):
    # IndexError (index 2 is out of bounds for axis 0 with size 2) before.
    with pytest.raises(InputError, match=message):
        ranking_order(np.ones(3), p_error, tie_breaker)


@pytest.mark.parametrize(
    ("labels", "probs", "message"),
    [
        ([0, 1], [[0.5, 0.5]], "pred_probs has 1 rows but labels has 2"),
        ([0], [[np.nan, 1.0]], "NaN or infinite"),
        ([0], [[np.inf, 0.0]], "NaN or infinite"),
        ([0], [[-0.5, 1.5]], "negative values"),
        ([0], [[0.5, 0.6]], "off by 0.1"),
        ([2], [[0.5, 0.5]], r"labels must lie in \[0, 2\)"),
        ([-1], [[0.5, 0.5]], "labels must lie"),
        ([0], [[1.0]], "at least 2 columns"),
        ([], np.zeros((0, 2)), "empty"),
        ([0.5], [[0.5, 0.5]], "whole numbers"),
        (["a"], [[0.5, 0.5]], "map class names"),
        ([0], [0.5, 0.5], r"shape \(N, K\)"),
    ],
)
def test_bad_input_raises_a_clear_error(labels, probs, message):
    with pytest.raises(InputError, match=message):
        rank_samples(labels, np.asarray(probs, dtype=float))


def test_unknown_method_lists_the_choices():
    with pytest.raises(InputError, match=r"must be one of \{.*'self_confidence'.*\}. Got 'foo'"):
        rank_samples([0, 1], np.eye(2), method="foo")


def test_normalize_and_logits_options():
    labels, probs, _ = noisy_problem()
    reference = rank_samples(labels, probs)
    scaled = rank_samples(labels, probs * 3.0, normalize=True)
    logits = rank_samples(labels, np.log(probs) + 5.0, from_logits=True)
    np.testing.assert_allclose(reference["p_error"], scaled["p_error"])
    np.testing.assert_allclose(reference["p_error"], logits["p_error"])


def test_duplicate_sample_ids_are_rejected():
    with pytest.raises(InputError, match="sample_ids must be unique; 'a' appears 2 times"):
        rank_samples([0, 1], np.eye(2), sample_ids=["a", "a"])

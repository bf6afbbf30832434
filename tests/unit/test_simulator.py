"""The simulator's maths: annotator models, the relabel protocol, runs and studies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelmend.cleaner import (
    dawid_skene,
    expected_annotations,
    expert_confusion,
    fit_expert_reliability,
    fit_noise_model,
    score_samples,
)
from labelmend.errors import InputError
from labelmend.simulator import (
    CURVE_COLUMNS,
    MODEL_FREE,
    SELECTORS,
    AnnotatorModel,
    draw_streams,
    initial_labels,
    relabel,
    sharpened,
    simulate_run,
    simulation,
)
from labelmend.simulator.relabel import outcome_probabilities
from labelmend.simulator.selectors import Ranking, SelectorState
from labelmend.simulator.simulation import annotation_grid
from labelmend.simulator.study import NoiseLevel, run_study


def synthetic(n=400, k=4, seed=0):
    """Counts from annotators who are right 60-98% of the time, plus a model's probs."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(k, size=n)
    accuracy = rng.uniform(0.6, 0.98, size=n)
    probs = np.full((n, k), 0.0) + ((1 - accuracy) / (k - 1))[:, None]
    probs[np.arange(n), truth] = accuracy
    counts = rng.multinomial(50, probs)
    model = 0.6 * probs + 0.4 * rng.dirichlet(np.ones(k), size=n)
    return counts, model


def run(model, initial, selector, budget, probs=None, **options):
    return simulate_run(
        model,
        initial,
        selector=selector,
        budget=budget,
        seed_sequence=np.random.SeedSequence(1),
        pred_probs=probs,
        **options,
    )


# --- annotators -------------------------------------------------------------------------


def test_counts_give_majority_truth_and_ambiguity():
    model = AnnotatorModel.from_counts([[40, 10, 1], [20, 20, 11], [0, 0, 51]])
    assert model.true_labels.tolist() == [0, 0, 2]
    assert model.ambiguous.tolist() == [True, True, False]
    np.testing.assert_allclose(model.probs.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (
            np.zeros((0, 3)),
            r"^counts must have shape \(N, K\) with N ≥ 1 and K ≥ 2\. Got shape \(0, 3\)\.$",
        ),
        ([["a", "b"]], r"^counts must be numeric\. Got dtype <U1\.$"),
        (np.array([[1, 2], [0, 0]]), "counts row 2 \\(index 1\\) has no votes"),
        (
            np.array([[1, 2], [1, -2]]),
            r"counts hold negative values \(first in row 2 \(index 1\)\)",
        ),
        (
            np.array([[1, np.inf], [1, 2]]),
            r"counts hold NaN or infinite values \(first in row 1 \(index 0\)\)",
        ),
    ],
)
def test_bad_counts_are_refused(counts, message):
    with pytest.raises(InputError, match=message):
        AnnotatorModel.from_counts(counts)


EYE = np.eye(2)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        # The dataclass itself took anything: a 1-D array, NaN, rows of any sum, a
        # true label past K or of another length, each failing later in numpy.
        (
            lambda: AnnotatorModel(np.array([0.5, 0.5]), np.array([0]), np.array([False])),
            r"^probs must have shape \(N, K\) with N ≥ 1 and K ≥ 2\. Got shape \(2,\)\.$",
        ),
        (
            lambda: AnnotatorModel(np.array([[np.nan, 0.5]]), np.array([0]), np.array([False])),
            r"^probs contains NaN or infinite values \(first in row 1 \(index 0\)\)\.$",
        ),
        (
            lambda: AnnotatorModel(np.array([[1.0, 1.0]]), np.array([0]), np.array([False])),
            r"^probs rows must sum to 1 \(within 0\.001\); row 1 \(index 0\) is off by 1\.$",
        ),
        (
            lambda: AnnotatorModel(np.array([[0.5, 0.5]]), np.array([5]), np.array([False])),
            r"^true_labels must lie in \[0, 2\); found values from 5 to 5\.$",
        ),
        (
            lambda: AnnotatorModel(np.array([[0.5, 0.5]]), np.array([0, 1]), np.array([False])),
            r"^true_labels has 2 rows but probs has 1\.$",
        ),
        (
            lambda: AnnotatorModel(np.array([[0.5, 0.5]]), np.array([0]), np.array([0.3])),
            r"^ambiguous must be a bool array of shape \(1,\)\. Got float64 of shape \(1,\)\.$",
        ),
        # "labels must lie in [0, 2)": true_labels was called labels.
        (
            lambda: AnnotatorModel.from_probs([[0.5, 0.5]], true_labels=[3]),
            r"^true_labels must lie in \[0, 2\); found values from 3 to 3\.$",
        ),
        # Columns not summing to 1 were rescaled silently (a [true, answer] matrix read
        # as [answer, true]); a negative cell was called "annotator probabilities". Then
        # the messages said "noise_matrix.T ... row 0" for column 0 of noise_matrix.
        (
            lambda: AnnotatorModel.from_noise_matrix([0, 1], [[0.9, 0.3], [0.3, 0.9]]),
            r"^noise_matrix columns must sum to 1 \(within 0\.001\); "
            r"column 1 \(index 0\) is off by 0\.2\.$",
        ),
        (
            lambda: AnnotatorModel.from_noise_matrix(
                [0, 1, 2], [[1.0, 0.0, -0.2], [0.0, 1.0, 0.2], [0.0, 0.0, 1.0]]
            ),
            r"^noise_matrix contains negative values \(first in column 3 \(index 2\)\); "
            r"expected probabilities\.$",
        ),
        (
            lambda: AnnotatorModel.from_confusions([0, 1], [[[0.9, 0.3], [0.3, 0.9]]]),
            r"^confusions\[0\] rows must sum to 1 \(within 0\.001\); "
            r"row 1 \(index 0\) is off by 0\.2\.$",
        ),
        (
            lambda: AnnotatorModel.from_confusions([0, 1], np.zeros((0, 2, 2))),
            r"^confusions must be numbers of shape \(M, K, K\) with M ≥ 1\. "
            r"Got float64 of shape \(0, 2, 2\)\.$",
        ),
        # Weights of any sign were divided by their sum (inf or NaN answers), a 2-D one
        # failed inside einsum.
        (
            lambda: AnnotatorModel.from_confusions([0, 1], [EYE, EYE], weights=[1, -1]),
            r"^weights must be finite, ≥ 0 and not all 0\. Got \[1, -1\]\.$",
        ),
        (
            lambda: AnnotatorModel.from_confusions([0, 1], [EYE, EYE], weights=[0, 0]),
            r"^weights must be finite, ≥ 0 and not all 0\. Got \[0, 0\]\.$",
        ),
        (
            lambda: AnnotatorModel.from_confusions([0, 1], [EYE, EYE], weights=[[1, 1]]),
            r"^weights must be numbers of shape \(M,\)\. Got int64 of shape \(1, 2\)\.$",
        ),
    ],
)
def test_annotator_models_refuse_inputs_that_are_not_distributions(build, message):
    with pytest.raises(InputError, match=message):
        build()


def test_annotator_model_keeps_arrays_it_is_given_as_lists():
    model = AnnotatorModel([[0.5, 0.5]], [1], [True])
    assert model.probs.shape == (1, 2)
    assert model.true_labels.tolist() == [1]
    assert model.ambiguous.dtype == np.bool_


def test_temperature_two_flattens_and_noise_rate_is_hit():
    counts, _ = synthetic(n=4000)
    model = AnnotatorModel.from_counts(counts)
    wrong = {
        t: (initial_labels(model, temperature=t, random_state=0) != model.true_labels).mean()
        for t in (0.5, 1.0, 2.0)
    }
    assert wrong[0.5] < wrong[1.0] < wrong[2.0]
    at_rate = initial_labels(model, noise_rate=0.25, random_state=0)
    assert abs((at_rate != model.true_labels).mean() - 0.25) < 0.02


def test_initial_labels_needs_exactly_one_noise_spec():
    model = AnnotatorModel.from_counts([[3, 1]])
    with pytest.raises(InputError, match="exactly one"):
        initial_labels(model)
    with pytest.raises(InputError, match="exactly one"):
        initial_labels(model, temperature=2.0, noise_rate=0.1)


def test_dawid_skene_recovers_annotator_confusions():
    rng = np.random.default_rng(0)
    n, k = 3000, 3
    truth = rng.integers(k, size=n)
    good, bad = np.eye(k) * 0.85 + 0.05, np.full((k, k), 1 / 3)
    cdfs = [np.cumsum(matrix[truth], axis=1) for matrix in (good, good, good, bad, bad)]
    votes = np.stack([(rng.random(n)[:, None] >= cdf[:, :-1]).sum(axis=1) for cdf in cdfs], axis=1)
    votes[rng.random(votes.shape) < 0.2] = -1  # some answers missing
    fit = dawid_skene(votes)
    np.testing.assert_allclose(fit.confusions[0], good, atol=0.04)
    np.testing.assert_allclose(fit.confusions[4], bad, atol=0.06)
    majority = np.array([np.bincount(row[row >= 0], minlength=k).argmax() for row in votes])
    assert (fit.labels == truth).mean() > (majority == truth).mean()
    annotators = AnnotatorModel.from_dawid_skene(fit, truth)
    assert annotators.probs.shape == (n, k)


# --- the relabel protocol ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "answers", "message"),
    [
        ([0, 1], [[0, 1, 1]], r"^current has 2 rows but answers has 1\.$"),
        ([0], [0, 1], r"^answers must have shape \(n, K\)\. Got \(2,\)\.$"),
        ([3], [[0, 1]], r"^current must lie in \[0, 2\); found values from 3 to 3\.$"),
        ([0], [[0, 2]], r"^answers must lie in \[0, 2\); found values from 0 to 2\.$"),
    ],
)
def test_relabel_refuses_labels_and_answers_that_do_not_fit(current, answers, message):
    # IndexError from numpy (boolean index did not match; index 3 is out of bounds),
    # ValueError (not enough values to unpack) or, for an answer past K, a new label
    # no class has, before.
    with pytest.raises(InputError, match=message):
        relabel(np.array(current), np.array(answers))


@pytest.mark.parametrize(
    ("probs", "message"),
    [
        ([0.8, 0.2], r"^probs must have shape \(N, K\)\. Got \(2,\)\.$"),
        ([[np.nan, 1.0]], r"^probs contains NaN or infinite values\.$"),
        ([[-0.2, 1.2]], r"^probs must hold values ≥ 0; found -0\.2\.$"),
    ],
)
def test_sharpened_refuses_probs_that_are_not_rows_of_non_negative_numbers(probs, message):
    # numpy's AxisError (axis 1 is out of bounds) before, and NaN rows for NaN or
    # negative entries (a negative number to a fractional power).
    with pytest.raises(InputError, match=message):
        sharpened(np.array(probs), 2.0)


@pytest.mark.parametrize(
    ("initial", "options", "message"),
    [
        (
            [0, 1, 0, 1],
            {"selector": "nope"},
            r"^selector must be one of \{.*\}\. Got 'nope' instead\.$",
        ),
        ([0, 1, 0], {}, r"^initial has 3 rows but counts has 4\.$"),
        ([0, 1, 0, 5], {}, r"^initial must lie in \[0, 2\); found values from 0 to 5\.$"),
        (
            [0, 1, 0, 1],
            {"budget": -1},
            r"^budget must be a non-negative integer \(annotations\)\. Got -1\.$",
        ),
        (
            [0, 1, 0, 1],
            {"pred_probs": np.full((2, 2), 0.5)},
            r"^pred_probs has 2 rows but counts has 4\.$",
        ),
        (
            [0, 1, 0, 1],
            {"max_reviews": 0},
            r"^max_reviews must be an integer ≥ 1\. Got 0\.$",
        ),
        (
            [0, 1, 0, 1],
            {"selector": "default", "budget": 0},
            r"^Selector 'default' ranks with a model: give pred_probs or features "
            r"\(only \['oracle', 'random'\] rank without one\)\.$",
        ),
    ],
)
def test_simulate_run_checks_its_inputs_as_run_study_does(initial, options, message):
    # It trusted them: KeyError 'nope', 'could not broadcast input array from shape (3,)
    # into shape (4,)', IndexError for a label past K or a negative budget, 'operands
    # could not be broadcast together' for probabilities of another N.
    model = AnnotatorModel.from_counts(np.array([[5, 1], [1, 5], [4, 2], [0, 6]]))
    arguments = {"selector": "random", "budget": 4, **options}
    with pytest.raises(InputError, match=message):
        simulate_run(model, np.array(initial), seed_sequence=np.random.SeedSequence(0), **arguments)


@pytest.mark.parametrize(
    ("probs", "options", "message"),
    [
        # "not enough values to unpack", numpy's IndexError for K = 0, and answers drawn
        # from NaN, negative, unnormalised or all-zero rows without a word.
        (
            [0.5, 0.5],
            {},
            r"^probs must have shape \(N, K\) with N ≥ 1 and K ≥ 2\. Got shape \(2,\)\.$",
        ),
        (
            np.zeros((0, 2)),
            {},
            r"^probs must have shape \(N, K\) with N ≥ 1 and K ≥ 2\. Got shape \(0, 2\)\.$",
        ),
        (
            [[np.nan, 0.5]],
            {},
            r"^probs contains NaN or infinite values \(first in row 1 \(index 0\)\)\.$",
        ),
        (
            [[-0.5, 1.5]],
            {},
            r"^probs contains negative values \(first in row 1 \(index 0\)\); "
            r"expected probabilities\.$",
        ),
        (
            [[0.5, 0.5], [0.0, 0.0]],
            {},
            r"^probs rows must sum to 1 \(within 0\.001\); row 2 \(index 1\) is off by 1\.$",
        ),
        # numpy's "negative dimensions are not allowed" and TypeError; 0 drew nothing.
        ([[0.5, 0.5]], {"n_reviews": -1}, r"^n_reviews must be an integer ≥ 1\. Got -1\.$"),
        ([[0.5, 0.5]], {"n_reviews": 0}, r"^n_reviews must be an integer ≥ 1\. Got 0\.$"),
        ([[0.5, 0.5]], {"n_reviews": 1.5}, r"^n_reviews must be an integer ≥ 1\. Got 1\.5\.$"),
        (
            [[0.5, 0.5]],
            {"rng": "seed"},
            r"^rng must be an int, a numpy\.random\.Generator or None\. Got str instead\.$",
        ),
    ],
)
def test_draw_streams_refuses_what_is_not_answer_distributions(probs, options, message):
    arguments = {"n_reviews": 1, "rng": np.random.default_rng(0), **options}
    with pytest.raises(InputError, match=message):
        draw_streams(probs, **arguments)


@pytest.mark.parametrize(
    ("n_samples", "budget", "message"),
    [
        # A grid from -1 for negative N, [-1] for a negative budget, repeated points for
        # a fractional one: curves read at annotation counts that cannot happen.
        (-5, 10, r"^n_samples must be an integer ≥ 1\. Got -5\.$"),
        (0, 10, r"^n_samples must be an integer ≥ 1\. Got 0\.$"),
        (100, -1, r"^budget must be an integer ≥ 0\. Got -1\.$"),
        (100, 2.5, r"^budget must be an integer ≥ 0\. Got 2\.5\.$"),
        (float("nan"), 10, r"^n_samples must be an integer ≥ 1\. Got nan\.$"),
    ],
)
def test_annotation_grid_refuses_counts_that_are_not_counts(n_samples, budget, message):
    with pytest.raises(InputError, match=message):
        annotation_grid(n_samples, budget)
    assert annotation_grid(100, 0).tolist() == [0]


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(2, 6),
    n=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_relabel_stops_at_first_repeated_class(k, n, seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(k) * 0.7, size=n)
    current = rng.integers(k, size=n)
    answers = draw_streams(probs, n_reviews=1, rng=rng)[:, 0]
    outcome, cost = relabel(current, answers)
    assert np.all((cost >= 1) & (cost <= k))
    for i in range(n):  # the protocol written out, one vote at a time
        votes = np.zeros(k, dtype=int)
        votes[current[i]] = 1
        votes[answers[i, 0]] += 1  # at least one expert answers
        spent = 1
        while (votes == votes.max()).sum() > 1:
            votes[answers[i, spent]] += 1
            spent += 1
        assert (outcome[i], cost[i]) == (votes.argmax(), spent)


def test_outcome_probabilities_and_cost_match_monte_carlo():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5) * 0.6, size=6)
    current = rng.integers(5, size=6)
    repeats = 40_000
    answers = draw_streams(np.repeat(probs, repeats, axis=0), n_reviews=1, rng=rng)[:, 0]
    outcome, cost = relabel(np.repeat(current, repeats), answers)
    empirical = np.stack(
        [np.bincount(part, minlength=5) / repeats for part in outcome.reshape(6, repeats)]
    )
    np.testing.assert_allclose(outcome_probabilities(probs, current), empirical, atol=0.01)
    np.testing.assert_allclose(
        expected_annotations(probs, current), cost.reshape(6, repeats).mean(axis=1), atol=0.02
    )


# --- runs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def setting():
    counts, probs = synthetic()
    model = AnnotatorModel.from_counts(counts)
    initial = initial_labels(model, temperature=2.0, random_state=0)
    return model, initial, probs


@pytest.mark.parametrize("selector", sorted(SELECTORS))
def test_every_selector_respects_the_budget_and_counts(setting, selector):
    model, initial, probs = setting
    curve = run(model, initial, selector, 120, probs).curve
    assert tuple(curve.columns) == CURVE_COLUMNS
    n = model.n_samples
    assert curve["annotations"].iloc[0] == 0
    assert curve["annotations"].iloc[-1] == 120
    first = curve.iloc[0]
    assert first["accuracy"] == pytest.approx((initial == model.true_labels).mean())
    assert first["noise_fixed"] == 0
    assert first["clean_broken"] == 0
    floats = curve.select_dtypes("floating").to_numpy()
    assert not np.signbit(floats[floats == 0]).any()  # broken and clean_broken were -0.0
    wrong0 = (initial != model.true_labels).sum()
    np.testing.assert_allclose(
        curve["noise_fixed"] * wrong0, curve["accuracy"] * n - (n - wrong0), atol=1e-9
    )
    assert np.all(np.diff(curve["reviewed"]) >= 0)
    assert curve["reviewed"].iloc[-1] <= 120


def test_full_budget_reviews_everyone_once_whatever_the_order(setting):
    model, initial, probs = setting
    enough = model.n_samples * model.n_classes
    finals = {
        name: run(model, initial, name, enough, probs).curve.iloc[-1]
        for name in ("random", "oracle", "default")
    }
    assert {int(row["reviewed"]) for row in finals.values()} == {model.n_samples}
    assert len({round(row["accuracy"], 12) for row in finals.values()}) == 1


def test_oracle_beats_random_and_default_beats_random(setting):
    # The oracle maximises the *expected* fixes per annotation, so one run's answers can
    # favour another order by a label: compare means over a few runs.
    model, initial, probs = setting
    fixed = {
        name: np.mean(
            [
                simulate_run(
                    model,
                    initial,
                    selector=name,
                    budget=100,
                    seed_sequence=np.random.SeedSequence(seed),
                    pred_probs=probs,
                )
                .curve["noise_fixed"]
                .iloc[-1]
                for seed in (1, 2, 3, 4)
            ]
        )
        for name in ("random", "oracle", "default")
    }
    assert fixed["oracle"] >= fixed["default"] > fixed["random"]


def in_index_order(sign):
    """A selector reviewing samples by index: ascending (sign -1) or descending (+1)."""

    def select(state):
        index = np.arange(state.labels.size, dtype=np.float64)
        return Ranking(sign * index, np.zeros(state.labels.size))

    return select


def review_log(curve, n):
    """(annotations spent, net labels fixed) of each review in order, read off a curve
    that has a row at every annotation count."""
    assert np.all(np.diff(curve["annotations"]) == 1)
    done = np.flatnonzero(np.diff(curve["reviewed"].to_numpy(), prepend=0) > 0)
    spent = np.diff(curve["annotations"].to_numpy()[done], prepend=0)
    fixed = np.diff(curve["accuracy"].to_numpy()[done] * n, prepend=curve["accuracy"].iloc[0] * n)
    return list(zip(spent.tolist(), np.rint(fixed).astype(int).tolist(), strict=True))


def test_runs_are_reproducible_and_share_answers_across_selectors(monkeypatch):
    counts, _ = synthetic(n=100)  # 100 samples: the curve has a row at every annotation
    model = AnnotatorModel.from_counts(counts)
    initial = initial_labels(model, temperature=2.0, random_state=0)
    monkeypatch.setitem(SELECTORS, "forward", in_index_order(-1.0))
    monkeypatch.setitem(SELECTORS, "backward", in_index_order(1.0))
    monkeypatch.setattr(simulation, "MODEL_FREE", MODEL_FREE | {"forward", "backward"})
    enough = model.n_samples * model.n_classes
    forward = run(model, initial, "forward", enough).curve
    backward = run(model, initial, "backward", enough).curve
    assert run(model, initial, "forward", enough).curve.equals(forward)
    # Every sample gets the same answers whichever selector reviews it, and whenever:
    # the reviews of one order, reversed, cost and fix exactly what the other's do.
    log = review_log(forward, model.n_samples)
    assert len(log) == model.n_samples
    assert log == review_log(backward, model.n_samples)[::-1]
    # Another seed draws other answers.
    other = simulate_run(
        model,
        initial,
        selector="forward",
        budget=enough,
        seed_sequence=np.random.SeedSequence(2),
    )
    assert review_log(other.curve, model.n_samples) != log


def test_active_runs_review_samples_again_up_to_max_reviews(setting):
    model, initial, probs = setting
    n = model.n_samples
    result = run(model, initial, "default", 300, probs, batch_size=40, max_reviews=2)
    curve = result.curve
    assert curve["annotations"].iloc[-1] == 300
    assert np.isfinite(curve["predicted_rate"]).all()
    assert result.stop_annotations <= 300
    assert np.isfinite(result.stop_regret)
    # With the budget to review everyone k times over, max_reviews caps the reviews.
    enough = 2 * n * model.n_classes
    once = run(model, initial, "default", enough, probs, batch_size=40, max_reviews=1).curve
    twice = run(model, initial, "default", enough, probs, batch_size=40, max_reviews=2).curve
    assert once["reviewed"].iloc[-1] == n
    assert twice["reviewed"].iloc[-1] == 2 * n
    # A second review (the label in place one vote, the new answers the others) fixes
    # labels the first review left wrong.
    assert twice["accuracy"].iloc[-1] > once["accuracy"].iloc[-1]


def test_active_selectors_see_the_model_combined_with_every_collected_answer(setting, monkeypatch):
    """With revisits, each ranking sees p(j | x) · a^v_j · ((1 − a) / (K − 1))^(n − v_j),
    normalised, where v counts the experts' answers of every review so far (not the
    initial label) and n is their total; the labels are the reviews' outcomes."""
    model, initial, probs = setting
    n, k = probs.shape
    seen = []

    def record(state):
        seen.append((state.labels.copy(), state.pred_probs.copy(), state.answers.copy()))
        return in_index_order(-1.0)(state)  # a fixed order: everyone once, then again

    monkeypatch.setitem(SELECTORS, "record", record)
    accuracy = 0.8
    run(
        model,
        initial,
        "record",
        3 * n,
        probs,
        batch_size=60,
        max_reviews=2,
        annotator_accuracy=accuracy,
    )
    labels, combined, answers = seen[-1]
    assert (labels != initial).any()
    np.testing.assert_array_equal(answers[:, 0], initial)
    collected = answers[:, 1:]
    counted = np.nan_to_num(collected, nan=-1)
    votes = (counted[:, :, None] == np.arange(k)).sum(axis=1)
    assert votes.sum(axis=1).max() > k  # some samples already have two reviews' answers
    weights = accuracy**votes * ((1 - accuracy) / (k - 1)) ** (votes.sum(1, keepdims=True) - votes)
    expected = probs * weights
    np.testing.assert_allclose(combined, expected / expected.sum(axis=1, keepdims=True))


def test_model_selectors_need_probabilities(setting):
    model, initial, _ = setting
    # simulate_run refuses before it draws anything, naming the selector it was given
    # (it said 'errors_per_annotation' for 'default', from inside the selector).
    # The selector called on its own named the method behind 'default' too.
    for name in ("default", "activelab", "posterior"):
        message = rf"^Selector '{name}' ranks with a model: give pred_probs or features "
        with pytest.raises(InputError, match=message):
            run(model, initial, name, 50)
        # The selector itself refuses too, whoever calls it.
        state = SelectorState(initial, None, initial[:, None].astype(float), model, None)
        message = rf"^Selector '{name}' needs model probabilities: pass pred_probs\.$"
        with pytest.raises(InputError, match=message):
            SELECTORS[name](state)


def selector_state(setting, answers=None):
    model, initial, probs = setting
    if answers is None:
        answers = np.full((model.n_samples, 3), np.nan)
        answers[:, 0] = initial
    return SelectorState(initial, probs, answers, model, np.random.default_rng(0))


def test_activelab_reviews_the_lowest_activelab_scores_first(setting):
    from cleanlab.multiannotator import get_active_learning_scores

    state = selector_state(setting)
    ranking = SELECTORS["activelab"](state)
    scores, _ = get_active_learning_scores(state.answers[:, :1], state.pred_probs)
    order = ranking.order(np.random.default_rng(0))
    assert np.all(np.diff(scores[order]) >= 0)
    assert scores[order[0]] < scores[order[-1]]


def test_review_order_is_priority_then_secondary_both_descending():
    ranking = Ranking(np.array([1.0, 1.0, 0.0, 2.0]), np.array([0.2, 0.9, 0.5, 0.0]))
    assert ranking.order(np.random.default_rng(0)).tolist() == [3, 1, 0, 2]


def test_oracle_ranks_by_net_fixes_per_annotation_by_hand():
    # Sample 0: true 0, experts answer 0 at 0.9, labelled 1. The review ends on 0 after
    # two answers for 0 (0.81); it costs 1 + 0.9 annotations on average. Sample 1: true
    # 1 (answered at 0.6), labelled 1: it ends on 1 with 0.6 + 0.4 · 0.6 = 0.84, a net
    # loss of 0.16, at a cost of 1 + 0.4.
    model = AnnotatorModel.from_counts([[90, 10], [40, 60]])
    state = SelectorState(np.array([1, 1]), None, np.full((2, 1), np.nan), model, None)
    ranking = SELECTORS["oracle"](state)
    np.testing.assert_allclose(ranking.priority, [0.81 / 1.9, -0.16 / 1.4])
    np.testing.assert_allclose(ranking.secondary, [0.81, -0.16])


@pytest.mark.parametrize("method", ["posterior", "self_confidence"])
def test_engine_selectors_order_by_the_engines_priority_then_p_error(setting, method):
    from labelmend.cleaner import score_samples

    state = selector_state(setting)
    ranking = SELECTORS[method](state)
    scores = score_samples(state.labels, state.pred_probs, method=method)
    np.testing.assert_array_equal(ranking.priority, scores.priority)
    np.testing.assert_array_equal(ranking.secondary, scores.p_error)
    np.testing.assert_array_equal(ranking.p_error, scores.p_error)


# --- studies ----------------------------------------------------------------------------


def test_study_grid_tables_and_validation():
    counts, probs = synthetic(n=200)
    model = AnnotatorModel.from_counts(counts)
    study = run_study(
        model,
        pred_probs=probs,
        selectors=["random", "oracle", "default"],
        noise_levels=[NoiseLevel(temperature=2.0), NoiseLevel(noise_rate=0.2)],
        seeds=2,
        budget=0.25,
        batch_sizes=[None, 20],
        n_workers=1,
    )
    assert len(study.runs) == 3 * 2 * 2 * 2
    for column in ("selector", "seed", "annotations", "accuracy", "noise_fixed", "clean_broken"):
        assert column in study.results.columns
    assert set(study.summary["noise"]) == {"T=2", "rate=0.2"}
    # auc: the area under a run's accuracy curve over its budget; auc_gain: above the start.
    cell = ["noise", "batch_size", "selector"]  # a summary row: the mean over seeds
    run_keys = [*cell, "seed"]
    area = study.results.groupby(run_keys).apply(
        lambda c: np.trapezoid(c["accuracy"], c["annotations"]) / c["annotations"].iloc[-1]
    )
    runs = study.runs.set_index(run_keys).loc[area.index]
    np.testing.assert_allclose(runs["auc"], area)
    np.testing.assert_allclose(runs["auc_gain"], area - (1 - runs["initial_noise"]))
    summary = study.summary.set_index(cell)
    means = study.runs.groupby(cell)[["auc", "auc_gain"]].mean()
    np.testing.assert_allclose(summary.loc[means.index, ["auc_mean", "auc_gain_mean"]], means)
    gain = summary["auc_gain_mean"]
    assert (gain.xs("oracle", level="selector") > gain.xs("random", level="selector")).all()
    with pytest.raises(InputError, match="selectors must be one of"):
        run_study(model, pred_probs=probs, selectors=["nope"])
    with pytest.raises(InputError, match=r"budget must lie in \(0, ∞\)"):
        run_study(model, pred_probs=probs, budget=0.0)
    with pytest.raises(InputError, match="pred_probs has 10 rows but counts has 200"):
        run_study(model, pred_probs=probs[:10])


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
def test_run_study_refuses_probabilities_without_naming_options_it_does_not_have(scale, message):
    # run_study has no normalize or from_logits: the message used to advise
    # "Pass normalize=True ..." (a TypeError if followed).
    model = AnnotatorModel.from_counts(np.array([[5, 1], [1, 5], [4, 2]]))
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]) * scale
    with pytest.raises(InputError, match=message):
        run_study(model, pred_probs=probs, selectors=["random"], seeds=1)


def test_the_default_reads_the_experts_reliability_once_they_have_answered(setting):
    model, initial, probs = setting
    votes = np.zeros_like(probs)
    votes[:10, model.true_labels[:10]] = 1.0  # ten rows answered right once
    answers = np.column_stack([initial, np.full(model.n_samples, np.nan)])
    answers[:10, 1] = model.true_labels[:10]
    surer = probs.copy()
    surer[:10] = (probs[:10] + np.eye(probs.shape[1])[model.true_labels[:10]]) / 2  # votes in
    state = SelectorState(initial, surer, answers, model, np.random.default_rng(0), votes, probs)
    noise = fit_noise_model(initial, surer)
    reliability = fit_expert_reliability(expert_confusion(noise), probs, votes)
    expected = score_samples(initial, surer, noise_model=noise, reliability=reliability)
    np.testing.assert_allclose(SELECTORS["default"](state).priority, expected.priority)
    without = SelectorState(initial, surer, answers, model, np.random.default_rng(0))
    assert not np.allclose(SELECTORS["default"](without).priority, expected.priority)


def test_active_runs_give_selectors_the_votes_and_the_models_own_probabilities(
    setting, monkeypatch
):
    model, initial, probs = setting
    seen = []

    def record(state):
        seen.append((state.answers.copy(), state.votes.copy(), state.model_probs, state.pred_probs))
        return SELECTORS["random"](state)

    monkeypatch.setitem(SELECTORS, "record", record)
    run(model, initial, "record", 40, probs, batch_size=20)
    answers, votes, model_probs, pred_probs = seen[1]
    counts = np.zeros_like(probs)
    rows, columns = np.nonzero(~np.isnan(answers[:, 1:]))
    np.add.at(counts, (rows, answers[rows, columns + 1].astype(int)), 1.0)
    assert counts.sum() == 20
    np.testing.assert_array_equal(votes, counts)
    np.testing.assert_array_equal(model_probs, probs)
    assert not np.allclose(pred_probs, probs)  # the votes folded in


# --- the stopping rule -------------------------------------------------------------------


def test_the_simulator_stops_where_the_reports_rule_stops(setting, monkeypatch):
    # One rule everywhere: the report's stopping_point on the expected errors curve of
    # the samples left, in review order. With a selector whose p_error is known and
    # decreasing in its own order, the simulator's predicted rate at each grid point is
    # that rule's rate after the samples reviewed, and it stops at the first grid point
    # past the report's stopping point.
    from labelmend.cleaner import expected_error_rate, stopping_point

    model, initial, probs = setting
    n = model.n_samples
    p_error = 0.6 * np.exp(-np.arange(n) / 40)  # review order = index order

    def known(state):
        return Ranking(p_error.copy(), np.zeros(n), p_error.copy())

    monkeypatch.setitem(SELECTORS, "known", known)
    window = 10
    result = run(model, initial, "known", 250, probs, stop_window=window)
    curve = result.curve
    rate = expected_error_rate(np.cumsum(p_error), window=window)
    done = curve["reviewed"].to_numpy()
    np.testing.assert_allclose(curve["predicted_rate"], rate[np.minimum(done, n - 1)])
    stop = stopping_point(np.cumsum(p_error), window=window)
    assert 0 < stop < done[-1]
    assert result.stop_annotations == curve["annotations"].to_numpy()[np.argmax(done >= stop)]


def test_the_stopping_rule_no_longer_stops_early_when_the_model_is_unsure():
    # Experts who are nearly always right and a model whose probabilities are diffuse:
    # the model's expected annotations (2-4 per sample) overstate what a review costs
    # (1-2), so errors per expected annotation (the rule before) fell under 0.1 while a
    # review still fixed far more, and the rule stopped 10-45 annotations early (regret
    # 3.0, 15.5 and 11.5 labels on seeds 0-2). Expected errors per sample stops within
    # 10 annotations of the best point.
    rng = np.random.default_rng(0)
    n, k = 1000, 6
    truth = rng.integers(0, k, n)
    counts = 19 * np.eye(k, dtype=int)[truth] + rng.multinomial(1, np.full(k, 1 / k), n)
    model = AnnotatorModel.from_counts(counts)
    probs = 0.45 * np.eye(k)[truth] + 0.55 * rng.dirichlet(np.ones(k), n)
    regret = []
    for seed in range(3):
        initial = initial_labels(model, noise_rate=0.2, random_state=np.random.default_rng(seed))
        result = simulate_run(
            model,
            initial,
            selector="default",
            budget=600,
            pred_probs=probs,
            seed_sequence=np.random.SeedSequence(seed),
        )
        assert result.best_annotations - result.stop_annotations <= 10
        regret.append(result.stop_regret)
    assert np.mean(regret) < 1.0

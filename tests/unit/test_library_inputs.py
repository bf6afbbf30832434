"""The public Python API as a library user calls it: lists, pandas, other dtypes, odd
shapes. Either the same result as float64 arrays or one InputError naming the input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.svm import LinearSVC

from labelmend.cleaner import (
    consensus,
    count_errors,
    expected_annotations,
    fit_noise_model,
    plurality_vote,
    rank_samples,
    score_samples,
    select_batch,
    stopping_point,
    vote_counts,
)
from labelmend.datasets import flip_labels
from labelmend.errors import InputError, UsageError
from labelmend.fitting import logistic_regression, mlp, out_of_fold_probs, select_regularisation
from labelmend.jobs import rank_files
from labelmend.scale import rank_dataset

PROBS = np.array([[0.9, 0.1], [0.8, 0.2], [0.85, 0.15], [0.1, 0.9], [0.2, 0.8], [0.95, 0.05]])
LABELS = np.array([0, 0, 0, 1, 1, 1])


@pytest.mark.parametrize(
    ("probs", "message"),
    [
        # One sample's row without its outer list: a flat list of numbers was taken for a
        # list of models and reported as "an array of shape () (member 0)".
        ([0.9, 0.1], r"Got an array of shape \(2,\)\.( |$)"),
        (np.array([0.9, 0.1]), r"Got an array of shape \(2,\)\.( |$)"),
        ("probs.npy", r"Got str 'probs\.npy'"),
        (None, r"Got NoneType"),
    ],
)
def test_pred_probs_of_the_wrong_shape_are_named_as_given(probs, message):
    with pytest.raises(InputError, match=r"^pred_probs must have shape \(N, K\)") as raised:
        rank_samples([0], probs)
    assert raised.match(message)
    assert "member" not in str(raised.value)


def test_one_column_of_binary_probabilities_gets_the_two_column_form():
    with pytest.raises(InputError, match=r"np\.column_stack\(\[1 - p, p\]\)"):
        rank_samples(LABELS, PROBS[:, 1])


def test_long_double_probabilities_are_scored_as_float64():
    # np.longdouble rows failed deep in the noise fit: "Cannot cast array data from
    # dtype('float128') to dtype('float64') according to the rule 'safe'".
    expected = rank_samples(LABELS, PROBS)
    found = rank_samples(LABELS, PROBS.astype(np.longdouble))
    assert found["p_error"].dtype == np.float64
    np.testing.assert_array_equal(found["sample_id"], expected["sample_id"])
    np.testing.assert_allclose(found["p_error"], expected["p_error"], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rows_summing_to_the_tolerance_are_taken(dtype):
    # Rows that sum to 0.999 are "within 0.001" of one, but the sum in floating point is
    # 0.001000000000000001 away: "rows must sum to 1 (within 0.001); row 0 is off by 0.001".
    probs = np.array([[0.899, 0.1], [0.4, 0.599], [0.3, 0.7]], dtype=dtype)
    found = rank_samples([0, 1, 1], probs)
    assert len(found) == 3
    with pytest.raises(InputError, match=r"row 1 \(index 0\) is off by 0\.0011"):
        rank_samples([0, 1, 1], np.array([[0.8989, 0.1], [0.4, 0.6], [0.3, 0.7]], dtype=dtype))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # An AssertionError ("both passes count the error rate's histograms") and a
        # TypeError from range() before; 0 silently meant the default.
        ({"block_rows": -5}, r"^block_rows must be an integer ≥ 1\. Got -5\.$"),
        ({"block_rows": 0}, r"^block_rows must be an integer ≥ 1\. Got 0\.$"),
        ({"block_rows": 2.5}, r"^block_rows must be an integer ≥ 1\. Got 2\.5\.$"),
        # A TypeError ("'<=' not supported between instances of 'float' and 'str'").
        (
            {"ambiguity_threshold": "0.5"},
            r"^ambiguity_threshold must be a finite number in \[0, 1\]\. Got '0\.5'\.$",
        ),
    ],
)
def test_scoring_options_of_the_wrong_kind_are_refused_by_name(options, message):
    with pytest.raises(InputError, match=message) as raised:
        rank_samples(LABELS, PROBS, **options)
    assert raised.value.inputs == tuple(options)


@pytest.mark.parametrize(
    ("sample_ids", "message"),
    [
        # numpy's TypeError ("'<' not supported between instances of 'int' and
        # 'NoneType'") for None; a NaN id was ranked as a sample called nan.
        ([0, None, 2, 3, 4, 5], r"^sample_ids must not be missing; row 2 \(index 1\) is None\.$"),
        (
            np.array([0.0, 1.0, np.nan, 3, 4, 5]),
            r"^sample_ids must not be missing; row 3 \(index 2\) is nan\.$",
        ),
        # Ids of mixed types in an object column (a pandas Series): numpy's TypeError.
        (
            pd.Series(["a", 1, "a", 2, 3, 4], dtype=object),
            r"^sample_ids must be unique; 'a' appears 2 times\.$",
        ),
    ],
)
def test_sample_ids_that_are_missing_or_repeat_are_named(sample_ids, message):
    with pytest.raises(InputError, match=message):
        rank_samples(LABELS, PROBS, sample_ids=sample_ids)


def test_sample_ids_of_mixed_types_are_ranked():
    ids = pd.Series(["a", 1, "b", 2, 3, 4], dtype=object)
    found = rank_samples(LABELS, PROBS, sample_ids=ids)
    expected = rank_samples(LABELS, PROBS)
    assert found["sample_id"].tolist() == [ids[i] for i in expected["sample_id"]]


def test_select_batch_refuses_exclusions_that_are_not_a_collection_of_ids():
    ranking = rank_samples(LABELS, PROBS, sample_ids=["a1", "b", "c", "d", "e", "f"])
    # A string was read as its characters: exclude="a1" excluded ids 'a' and '1', not 'a1'.
    with pytest.raises(
        InputError, match=r"^exclude must be a collection of sample ids .* Got str 'a1'\.$"
    ):
        select_batch(ranking, 2, exclude="a1")
    # A single id: Python's TypeError ("'int' object is not iterable").
    with pytest.raises(InputError, match=r"^exclude must be a collection .* Got int 5\.$"):
        select_batch(rank_samples(LABELS, PROBS), 2, exclude=5)
    assert "a1" not in select_batch(ranking, 6, exclude=pd.Series(["a1"]))["sample_id"].tolist()


def test_select_batch_refuses_what_is_not_a_ranking_by_name():
    # AttributeError ("'numpy.ndarray' object has no attribute 'columns'") before.
    with pytest.raises(
        InputError,
        match=r"^select_batch expects a ranking from rank_samples \(a DataFrame\)\. Got ndarray\.$",
    ):
        select_batch(np.zeros((6, 9)), 2)
    # per_class groups by given_label: a KeyError when the ranking had lost it.
    ranking = rank_samples(LABELS, PROBS).drop(columns="given_label")
    select_batch(ranking, 2)
    with pytest.raises(
        InputError,
        match=r"^select_batch expects a ranking from rank_samples; columns \['given_label'\] are missing \(per_class\)\.$",
    ):
        select_batch(ranking, 2, per_class=1)
    # A bool is not a count (True was taken as 1).
    with pytest.raises(
        InputError, match=r"^per_class must be a positive integer or None\. Got True\.$"
    ):
        select_batch(rank_samples(LABELS, PROBS), 2, per_class=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        # A negative n_rest gave an interval ending below its own estimate (high = -2.0).
        ({"rest_sum": 0.0, "n_rest": -3}, r"^n_rest must be an integer ≥ 0\. Got -3\.$"),
        # 2.5 rows were counted into N (high = 3.5).
        ({"rest_sum": 1.0, "n_rest": 2.5}, r"^n_rest must be an integer ≥ 0\. Got 2\.5\.$"),
        # TypeError: '<=' not supported between instances of 'float' and 'str'.
        (
            {"rest_sum": "1", "n_rest": 3},
            r"^rest_sum must lie in \[0, n_rest=3\]\. Got '1'\.$",
        ),
    ],
)
def test_count_errors_refuses_a_remainder_that_is_not_a_count_and_a_sum(kwargs, message):
    with pytest.raises(InputError, match=message) as raised:
        count_errors([0.1], **kwargs)
    assert raised.value.inputs == (message[1:].split()[0],)


@pytest.mark.parametrize(
    ("p_error", "message"),
    [
        # math.fsum's TypeError ("must be real number, not NAType" / "not NoneType").
        (pd.Series([0.1, None, 0.3], dtype="Float64"), r"found <NA> at row 2 \(index 1\)"),
        (np.ma.array([0.1, 0.2, 0.3], mask=[0, 0, 1]), r"found None at row 3 \(index 2\)"),
        ([0.1, float("nan"), 0.2], r"found nan at row 2 \(index 1\)"),
        ([0.1, 0.2, 1.5], r"found 1\.5 at row 3 \(index 2\)"),
    ],
)
def test_count_errors_names_the_first_value_that_is_not_a_probability(p_error, message):
    with pytest.raises(
        InputError, match=r"^p_error must hold probabilities in \[0, 1\]; " + message + r"\.$"
    ):
        count_errors(p_error)


@pytest.mark.parametrize("decided", [["no", "yes"], [0.5, 2.0], [0, 2]])
def test_count_errors_refuses_a_decided_mask_that_is_not_booleans(decided):
    # Any truthy value was taken as decided: ["no", "yes"] decided both samples.
    with pytest.raises(
        InputError, match=r"^decided must be booleans \(True/False or 1/0\); found "
    ):
        count_errors([0.1, 0.9], decided=decided)
    assert count_errors([0.1, 0.9], decided=np.array([0, 1])).decided == 1


def test_count_errors_takes_any_real_number_for_its_own_error():
    # np.float32 was refused ("must be a finite number ≥ 0. Got np.float32(1.6)") while
    # np.float64 passed; True passed as 1.
    expected = count_errors([0.1, 0.9], variance_per_error=1.5, relative_sd=0.25)
    found = count_errors(
        [0.1, 0.9], variance_per_error=np.float32(1.5), relative_sd=np.float32(0.25)
    )
    assert found == expected
    with pytest.raises(InputError, match=r"^relative_sd must be a finite number ≥ 0\. Got True\.$"):
        count_errors([0.1], relative_sd=True)


FEATURES = np.array([[0.0, 1.0], [0.1, 0.9], [0.2, 1.1], [1.0, 0.0], [1.1, 0.2], [0.9, 0.1]])


@pytest.mark.parametrize(
    ("features", "message"),
    [
        # numpy's ValueError ("setting an array element with a sequence").
        (
            sparse.csr_matrix(FEATURES),
            r"^features must be a dense \(N, D\) array of numbers\. Got a scipy sparse matrix "
            r"\(csr_matrix\); pass features\.toarray\(\)\.$",
        ),
        # numpy's ValueError ("could not convert string to float: 'a'").
        (
            pd.DataFrame({"x": FEATURES[:, 0], "colour": list("abcdef")}),
            r"^features must be a dense \(N, D\) array of numbers\. Got a value numpy cannot "
            r"read as a number: could not convert string to float: 'a'\.$",
        ),
    ],
)
def test_features_that_are_not_a_dense_array_of_numbers_are_refused(features, message):
    with pytest.raises(InputError, match=message) as raised:
        out_of_fold_probs(features, LABELS, n_folds=3)
    assert raised.value.inputs == ("features",)


def test_a_model_without_predict_proba_is_refused_before_training():
    # AttributeError ("'LinearSVC' object has no attribute 'predict_proba'") after the
    # first fold's model had been trained.
    with pytest.raises(
        InputError,
        match=r"^model must have predict_proba; LinearSVC has none \(wrap it in "
        r"sklearn\.calibration\.CalibratedClassifierCV\)\.$",
    ) as raised:
        out_of_fold_probs(FEATURES, LABELS, n_folds=3, model=LinearSVC())
    assert raised.value.inputs == ("model",)
    # A model named as the CLI names it is pointed at model_from_spec.
    with pytest.raises(InputError, match=r"Got str 'mlp' \(model_from_spec\('mlp'\) builds"):
        out_of_fold_probs(FEATURES, LABELS, n_folds=3, model="mlp")


def test_chunk_rows_must_be_a_positive_count():
    # range()'s ValueError ("range() arg 3 must not be zero").
    with pytest.raises(InputError, match=r"^chunk_rows must be an integer ≥ 1\. Got 0\.$"):
        out_of_fold_probs(FEATURES, LABELS, n_folds=3, chunk_rows=0)


@pytest.mark.parametrize(
    ("labels", "n_classes", "rate", "message"),
    [
        # AttributeError ("'list' object has no attribute 'size'").
        ([0, 1, 0, 1], 2, 0.5, None),
        # Label 3 with 2 classes came back as 0 or 1, silently.
        (np.array([0, 3]), 2, 0.5, r"^labels must lie in \[0, 2\); found values from 0 to 3\.$"),
        # numpy's ValueError ("low >= high").
        (np.zeros(4, dtype=int), 1, 0.5, r"^n_classes must be an integer ≥ 2\. Got 1\.$"),
        # TypeError ("'<=' not supported between instances of 'float' and 'str'").
        (
            np.array([0, 1]),
            2,
            "0.1",
            r"^noise_rate must lie in \[0, 1\)\. Got '0\.1'\.$",
        ),
        # IndexError ("index 2 is out of bounds for axis 0 with size 2").
        (np.zeros((2, 2), dtype=int), 2, 0.5, r"^labels must be 1-D"),
    ],
)
def test_flip_labels_checks_its_arguments(labels, n_classes, rate, message):
    if message is None:
        flipped = flip_labels(labels, n_classes, rate, random_state=0)
        expected = flip_labels(np.asarray(labels), n_classes, rate, random_state=0)
        assert isinstance(flipped, np.ndarray)
        np.testing.assert_array_equal(flipped, expected)
        return
    with pytest.raises(InputError, match=message):
        flip_labels(labels, n_classes, rate, random_state=0)


@pytest.mark.parametrize(
    ("sample_index", "votes", "message"),
    [
        # A float index was truncated: sample 0.5 counted as sample 0, silently.
        (
            [0.5, 0, 1],
            [2, 2, 0],
            r"^sample_index must be whole numbers; found non-integer values\.$",
        ),
        # numpy's ValueError ("invalid literal for int() with base 10: 'a'").
        (
            ["a", "b"],
            [2, 2],
            r"^sample_index must be integers \(row numbers in \[0, N\)\)\. Got dtype <U1\.$",
        ),
        # numpy's ValueError ("object too deep for desired array").
        ([[0, 1]], [1, 1], r"^sample_index must be 1-D with shape \(N,\)\. Got shape \(1, 2\)"),
        # Python's TypeError ("object of type 'int' has no len()").
        ([0], 1, r"^votes must be 1-D with shape \(N,\)\. Got shape \(\)"),
        ([0, 2], [1, 1], r"^sample_index must lie in \[0, 2\)\.$"),
    ],
)
def test_vote_counts_refuses_indices_and_votes_that_are_not_whole_numbers(
    sample_index, votes, message
):
    with pytest.raises(InputError, match=message):
        vote_counts(sample_index, votes, n_samples=2, n_classes=3)
    empty = vote_counts([], [], n_samples=2, n_classes=3)
    np.testing.assert_array_equal(empty, np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("counts", "current", "message"),
    [
        # 0.5 votes were truncated to 0: [[0.5, 1]] decided class 1 as if unanimous.
        (
            [[0.5, 1.0]],
            None,
            r"^counts must hold whole vote counts ≥ 0; found 0\.5 in row 1 \(index 0\)\.$",
        ),
        # "found -9223372036854775808 in row 0" (NaN cast to int64).
        (
            [[np.nan, 1.0]],
            None,
            r"^counts must hold whole vote counts ≥ 0; found nan in row 1 \(index 0\)\.$",
        ),
        # numpy's ValueError ("invalid literal for int() with base 10: 'a'").
        ([["a", "b"]], None, r"^counts must hold whole vote counts ≥ 0\. Got dtype <U1\.$"),
        # A current label 0.5 was truncated to 0; NaN raised numpy's ValueError.
        ([[0, 1]], [0.5], r"^current_labels must be whole numbers; found non-integer values\.$"),
        ([[0, 1]], [np.nan], r"^current_labels must be whole numbers; found non-integer values\.$"),
    ],
)
def test_plurality_vote_refuses_counts_and_labels_that_are_not_whole(counts, current, message):
    with pytest.raises(InputError, match=message):
        plurality_vote(np.array(counts), current_labels=current)
    np.testing.assert_array_equal(plurality_vote(np.array([[0.0, 2.0]]), [0.0]), [1])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # IndexError ("arrays used as indices must be of integer (or boolean) type").
        ({"window": 1.5}, r"^window must be an integer ≥ 1\. Got 1\.5\.$"),
        # TypeError ("'<' not supported between instances of 'str' and 'int'").
        ({"window": "2"}, r"^window must be an integer ≥ 1\. Got '2'\.$"),
        # numpy's UFuncTypeError.
        (
            {"window": 2, "threshold": "0.1"},
            r"^threshold must be a finite number in \[0, inf\)\. Got '0\.1'\.$",
        ),
    ],
)
def test_stopping_point_refuses_options_of_the_wrong_kind(options, message):
    with pytest.raises(InputError, match=message):
        stopping_point([0.9, 1.7, 2.0], **options)


def test_stopping_point_refuses_a_curve_of_text():
    # numpy's ValueError ("could not convert string to float: 'a'").
    with pytest.raises(
        InputError, match=r"^curve must be numbers of shape \(N,\)\. Got dtype <U1\.$"
    ):
        stopping_point(["a"], window=2)


@pytest.mark.parametrize(
    ("probs", "labels", "options", "message"),
    [
        # AttributeError ("'list' object has no attribute 'ndim'").
        ([[1.0, 0.0], [0.0, 1.0]], [0, 0], {}, None),
        # Whole floats passed the check, then indexed: numpy's IndexError.
        (np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 0.0]), {}, None),
        # Rows that are not probabilities came back as numbers (2.0 → 1 annotation; NaN → nan).
        (
            np.array([[2.0, 0.0], [0.0, 1.0]]),
            [0, 0],
            {},
            r"^probs rows must sum to 1 \(within 0\.001\); row 1 \(index 0\) is off by 1\.$",
        ),
        (
            np.array([[np.nan, 0.0], [0.0, 1.0]]),
            [0, 0],
            {},
            r"^probs contains NaN or infinite values \(first in row 1 \(index 0\)\)\.$",
        ),
        # max_terms 0 kept no term (every sample 1 annotation); "2" raised a TypeError.
        (np.eye(2), [0, 0], {"max_terms": 0}, r"^max_terms must be an integer ≥ 1\. Got 0\.$"),
        (np.eye(2), [0, 0], {"max_terms": "2"}, r"^max_terms must be an integer ≥ 1\. Got '2'\.$"),
    ],
)
def test_expected_annotations_checks_what_it_is_given(probs, labels, options, message):
    if message is None:
        np.testing.assert_array_equal(expected_annotations(probs, labels, **options), [1.0, 2.0])
        return
    with pytest.raises(InputError, match=message):
        expected_annotations(probs, labels, **options)


@pytest.mark.parametrize(
    ("sample_index", "votes", "current", "message"),
    [
        # Each was cut to an integer without a word: sample 0.5 → 0, vote 1.5 → 1, label 0.5 → 0.
        ([0.5, 0, 1], [1, 1, 0], [0, 1], r"^sample_index must be whole numbers"),
        ([0, 0, 1], [1.5, 1, 0], [0, 1], r"^votes must be whole numbers"),
        ([0, 0, 1], [1, 1, 0], [0.5, 1], r"^current_labels must be whole numbers"),
    ],
)
def test_consensus_never_truncates_its_inputs(sample_index, votes, current, message):
    with pytest.raises(InputError, match=message):
        consensus(sample_index, ["a", "b", "a"], votes, current_labels=current, n_classes=2)
    decided = consensus(
        [0.0, 0.0, 1.0], ["a", "b", "a"], [1.0, 1.0, 0.0], current_labels=[0.0, 1.0], n_classes=2
    )
    assert decided.labels.tolist() == [1, -1]


@pytest.fixture
def shards(tmp_path):
    for part in range(2):
        frame = pd.DataFrame(PROBS[part * 3 : part * 3 + 3], columns=["p0", "p1"])
        frame.insert(0, "label", LABELS[part * 3 : part * 3 + 3])
        frame.insert(0, "sample_id", [f"s{part}{row}" for row in range(3)])
        frame.to_parquet(tmp_path / f"part{part}.parquet")
    return tmp_path


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # TypeError ("'<' not supported between instances of 'str' and 'int'").
        ({"top_k": "3"}, r"^top_k must be an integer ≥ 1\. Got '3'\.$"),
        # AttributeError ("'list' object has no attribute 'assign'"), after a full pass.
        (
            {"answers": [("s01", 1)]},
            r"^answers must be a DataFrame with columns 'sample_id' and 'label'\. Got list\.$",
        ),
        # KeyError: 'sample_id', after a full pass over the shards.
        (
            {"answers": pd.DataFrame({"id": ["s01"], "label": [1]})},
            r"^answers: expected a column 'sample_id'; found 2 columns: 'id', 'label'\.$",
        ),
    ],
)
def test_rank_dataset_checks_its_options_before_reading_a_shard(shards, options, message):
    stages = []
    with pytest.raises(InputError, match=message):
        rank_dataset(shards, progress=lambda *done: stages.append(done), **options)
    assert stages == []


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        # scikit-learn's InvalidParameterError after the first folds were trained.
        ((0.1, -1.0), r"^grid must be positive numbers \(values of C\); found -1\.0\.$"),
        # A string was iterated character by character ("Got '0' instead").
        (
            "0.1",
            r"^grid must be a sequence of positive numbers \(values of C\)\. Got str '0\.1'\.$",
        ),
        # TypeError ("object of type 'float' has no len()").
        (0.1, r"^grid must be a sequence of positive numbers \(values of C\)\. Got float 0\.1\.$"),
    ],
)
def test_select_regularisation_checks_its_grid_before_training(grid, message):
    with pytest.raises(InputError, match=message) as raised:
        select_regularisation(FEATURES, LABELS, grid=grid, n_folds=3)
    assert raised.value.inputs == ("grid",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # AttributeError ("'numpy.ndarray' object has no attribute 'n_classes'"): a noise
        # matrix passed where the fitted model goes.
        (
            {"noise_model": np.eye(2)},
            r"^noise_model must be a NoiseModel \(from fit_noise_model\)\. Got ndarray\.$",
        ),
        # AttributeError ("'str' object has no attribute 'confusion'").
        (
            {"reliability": "x"},
            r"^reliability must be an ExpertReliability \(from learn_from_answers\)\. Got str\.$",
        ),
    ],
)
def test_fitted_models_of_the_wrong_type_are_refused_by_name(options, message):
    with pytest.raises(InputError, match=message) as raised:
        rank_samples(LABELS, PROBS, **options)
    assert raised.value.inputs == tuple(options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # TypeError, and a plain ValueError (not an InputError) for -1.
        (
            {"prior_strength": "1"},
            r"^prior_strength must be a finite number in \[0, inf\)\. Got '1'\.$",
        ),
        (
            {"prior_strength": -1},
            r"^prior_strength must be a finite number in \[0, inf\)\. Got -1\.$",
        ),
        # Taken: negative pseudo-rows of the error rate's prior.
        (
            {"rate_prior_rows": -1},
            r"^rate_prior_rows must be a finite number in \[0, inf\)\. Got -1\.$",
        ),
    ],
)
def test_noise_model_priors_are_checked_by_name(options, message):
    with pytest.raises(InputError, match=message):
        fit_noise_model(LABELS, PROBS, **options)


def test_a_table_of_probabilities_with_a_text_column_is_told_which():
    # "pred_probs must be numeric. Got dtype object." did not say that the id column of
    # the predictions table came along.
    table = pd.DataFrame({"sample_id": list("abcdef"), "p0": PROBS[:, 0], "p1": PROBS[:, 1]})
    with pytest.raises(
        InputError,
        match=r"^pred_probs must be numeric; column 'sample_id' is not \(dtype \w+\): "
        r"pass the K probability columns only\.$",
    ):
        rank_samples(LABELS, table)
    found = rank_samples(LABELS, table[["p0", "p1"]])
    assert found["sample_id"].tolist() == rank_samples(LABELS, PROBS)["sample_id"].tolist()


def test_pandas_labels_and_probabilities_in_another_row_order_are_refused():
    # Both were read by position: a table sorted differently from the labels (its index
    # says so) was scored against the wrong labels, silently.
    labels = pd.Series(LABELS, index=list("abcdef"))
    probs = pd.DataFrame(PROBS, index=list("abcdef"), columns=["p0", "p1"])
    expected = rank_samples(labels, probs)
    assert expected["sample_id"].tolist() == rank_samples(LABELS, PROBS)["sample_id"].tolist()
    with pytest.raises(
        InputError,
        match=r"^labels and pred_probs have different indexes \(row 1 \(index 0\): 'f' and "
        r"'a'\); they "
        r"are read by position: align them first, e.g\. pred_probs\.loc\[labels\.index\]\.$",
    ) as raised:
        rank_samples(labels[::-1], probs)
    assert raised.value.inputs == ("labels", "pred_probs")
    aligned = rank_samples(labels[::-1], probs.loc[labels[::-1].index])
    assert len(aligned) == 6
    # A filtered frame's labels against a fresh table of its rows: positions, as given.
    fresh = pd.DataFrame(PROBS, columns=["p0", "p1"])
    assert rank_samples(labels, fresh)["sample_id"].tolist() == expected["sample_id"].tolist()


def test_mlp_takes_one_layer_as_an_int():
    # TypeError ("'int' object is not iterable"); scikit-learn's MLPClassifier takes an int.
    assert mlp(10).steps[-1][1].hidden_layer_sizes == (10,)
    with pytest.raises(InputError, match=r"^hidden must be positive layer sizes; found 0\.$"):
        mlp((0,))


@pytest.mark.parametrize("flag", ["from_logits", "normalize"])
@pytest.mark.parametrize("value", ["no", 1, None, [False]])
@pytest.mark.parametrize("function", [rank_samples, score_samples, fit_noise_model, rank_files])
def test_probability_flags_must_be_true_or_false(function, flag, value, tmp_path):
    # Any truthy value was taken: from_logits="no" applied a softmax to probabilities.
    arguments = (LABELS, PROBS)
    if function is rank_files:
        np.save(tmp_path / "labels.npy", LABELS)
        np.save(tmp_path / "probs.npy", PROBS)
        arguments = (tmp_path / "labels.npy", [tmp_path / "probs.npy"])
    with pytest.raises(
        InputError, match=rf"^{flag} must be True or False\. Got {re.escape(repr(value))}\.$"
    ):
        function(*arguments, **{flag: value})
    assert len(rank_samples(LABELS, PROBS, **{flag: np.True_})) == len(LABELS)


@pytest.mark.parametrize(
    ("C", "shown"), [(-1, "-1"), (0, "0"), ("1", "'1'"), (np.nan, "nan"), (True, "True")]
)
def test_logistic_regression_refuses_a_C_that_is_not_positive_when_built(C, shown):
    # scikit-learn's InvalidParameterError ("The 'C' parameter of LogisticRegression must
    # be a float in the range (0.0, inf]") came at fit time, not labelmend's InputError.
    with pytest.raises(InputError, match=rf"^C must lie in \(0, inf\]\. Got {shown}\.$") as raised:
        logistic_regression(C)
    assert raised.value.inputs == ("C",)
    assert np.isposinf(logistic_regression(np.inf).steps[-1][1].C)  # no regularisation


@pytest.mark.parametrize(
    ("random_state", "message"),
    [
        (-1, r"^random_state must be a non-negative int, a numpy\.random\.Generator or None\. "),
        ("a", r"^random_state must be an int, a numpy\.random\.Generator or None\. Got str "),
        # A bool is not a seed: True was taken as seed 1, False as seed 0.
        (True, r"^random_state must be an int, a numpy\.random\.Generator or None\. Got bool "),
        (
            2**32,
            r"^random_state must be below 2\*\*32 \(scikit-learn's seeds\)\. Got 4294967296\.$",
        ),
    ],
)
def test_mlp_checks_its_random_state_when_built(random_state, message):
    # scikit-learn's InvalidParameterError ("The 'random_state' parameter of MLPClassifier
    # must be an int in the range [0, 4294967295]...") came at fit time.
    with pytest.raises(InputError, match=message) as raised:
        mlp(4, random_state=random_state)
    assert raised.value.inputs == ("random_state",)
    drawn = mlp(4, random_state=np.random.default_rng(0)).steps[-1][1].random_state
    assert drawn == int(np.random.default_rng(0).integers(2**32))


@pytest.mark.parametrize("seed", [True, False, np.True_])
def test_a_bool_is_not_a_seed_anywhere_a_random_state_is_taken(seed):
    with pytest.raises(InputError, match=r"^random_state must be an int, .* Got bool"):
        flip_labels(np.zeros(10, dtype=int), 2, 0.5, random_state=seed)


@pytest.mark.parametrize("flag", ["from_logits", "normalize"])
def test_rank_files_refuses_probability_flags_for_shards_it_cannot_apply(tmp_path, flag):
    # Parquet shards were ranked as stored and the flag dropped without a word: logits
    # were then refused as rows not summing to 1, with the advice to pass from_logits.
    with pytest.raises(UsageError, match=rf"^{flag} is for probability files; Parquet ") as raised:
        rank_files(None, [tmp_path / "*.parquet"], **{flag: True})
    assert raised.value.inputs == (flag,)


def test_analyze_files_repair_flag_must_be_true_or_false(tmp_path):
    # repair="no" was truthy: the failure types were repaired, type by type, and written.
    pytest.importorskip("torch")
    from labelmend.repair.files import analyze_files

    rng = np.random.default_rng(0)
    for name, array in {
        "x": rng.normal(size=(40, 2)),
        "y": np.arange(40) % 2,
        "v": rng.normal(size=(30, 2)),
        "t": np.arange(30) % 2,
    }.items():
        np.save(tmp_path / f"{name}.npy", array)
    files = [tmp_path / f"{name}.npy" for name in "xyvt"]
    with pytest.raises(InputError, match=r"^repair must be True or False\. Got 'no'\.$"):
        analyze_files(*files, tmp_path / "out", repair="no")
    assert not (tmp_path / "out").exists()

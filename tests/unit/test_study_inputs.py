"""run_study as a library user calls it: singletons, numpy integers, and arguments of
the wrong kind refused by name before any run starts."""

from __future__ import annotations

import numpy as np
import pytest

from labelmend.errors import InputError
from labelmend.simulator import AnnotatorModel, initial_labels, relabel, sharpened
from labelmend.simulator.study import NoiseLevel, run_study

COUNTS = np.tile([[9, 1], [2, 8]], (20, 1))
MODEL = AnnotatorModel.from_counts(COUNTS)
OPTIONS = {
    "selectors": ["random", "oracle"],
    "seeds": 1,
    "budget": 0.5,
    "noise_levels": [NoiseLevel(noise_rate=0.2)],
    "n_workers": 1,
}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # AttributeError ("'numpy.ndarray' object has no attribute 'probs'").
        (
            {"annotators": COUNTS},
            r"^annotators must be an AnnotatorModel \(AnnotatorModel\.from_counts\(counts\) "
            r"builds one from vote counts\)\. Got ndarray\.$",
        ),
        # TypeErrors from math.isfinite and comparisons.
        (
            {"budget": "0.5"},
            r"^budget must lie in \(0, ∞\) \(a multiple of N annotations\)\. Got '0\.5'\.$",
        ),
        ({"max_reviews": "2"}, r"^max_reviews must be an integer ≥ 1\. Got '2'\.$"),
        (
            {"annotator_accuracy": "0.9"},
            r"^annotator_accuracy must lie in \(0, 1\)\. Got '0\.9'\.$",
        ),
        # numpy's UFuncTypeError; NaN was taken (the rule never stops).
        (
            {"stop_threshold": "0.1"},
            r"^stop_threshold must be a finite number in \[0, 1\]\. Got '0\.1'\.$",
        ),
        (
            {"stop_threshold": float("nan")},
            r"^stop_threshold must be a finite number in \[0, 1\]\. Got nan\.$",
        ),
    ],
)
def test_arguments_of_the_wrong_kind_are_refused_by_name(options, message):
    options = {**OPTIONS, **options}
    with pytest.raises(InputError, match=message):
        run_study(options.pop("annotators", MODEL), **options)


def test_a_temperature_that_is_not_a_number_is_refused_by_name():
    # TypeError ("must be real number, not str").
    with pytest.raises(InputError, match=r"^temperature must be positive\. Got '2'\.$"):
        NoiseLevel(temperature="2")
    with pytest.raises(InputError, match=r"^noise_rate must lie in \[0, 1\)\. Got '0\.1'\.$"):
        NoiseLevel(noise_rate="0.1")


def test_one_selector_noise_level_or_batch_size_is_taken_as_a_list_of_one():
    # selectors="random" was read letter by letter ("Got 'r' instead"); one NoiseLevel
    # or one batch size raised "object is not iterable"; numpy integers (seeds, batch
    # sizes from an array) were refused as not integers.
    expected = run_study(MODEL, **{**OPTIONS, "selectors": ["random"], "batch_sizes": [10]})
    found = run_study(
        MODEL,
        **{
            **OPTIONS,
            "selectors": "random",
            "noise_levels": NoiseLevel(noise_rate=0.2),
            "batch_sizes": np.array([10])[0],
            "seeds": np.int64(1),
        },
    )
    assert found.runs.equals(expected.runs)


def test_relabel_takes_lists_and_whole_floats():
    # TypeError ("only integer scalar arrays can be converted to a scalar index") for a
    # list of current labels, AttributeError for a list of answers, IndexError for whole
    # floats: the checked labels were not the ones used.
    expected = relabel(np.array([0, 0, 1]), np.array([[0, 2, 1], [1, 1, 0], [2, 0, 0]]))
    for current, answers in (
        ([0, 0, 1], np.array([[0, 2, 1], [1, 1, 0], [2, 0, 0]])),
        (np.array([0.0, 0.0, 1.0]), [[0, 2, 1], [1, 1, 0], [2, 0, 0]]),
    ):
        found = relabel(current, answers)
        for got, want in zip(found, expected, strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # AttributeError ("'numpy.ndarray' object has no attribute 'probs'").
        (
            lambda: initial_labels(np.eye(2), temperature=2.0),
            r"^annotators must be an AnnotatorModel \(AnnotatorModel\.from_counts\(counts\) "
            r"builds one from vote counts\)\. Got ndarray\.$",
        ),
        # TypeError ("'<=' not supported between instances of 'float' and 'str'").
        (
            lambda: initial_labels(MODEL, noise_rate="0.1"),
            r"^noise_rate must lie in \[0, 1\)\. Got '0\.1'\.$",
        ),
        # A temperature "2" was read as 2 here and refused with a TypeError by sharpened.
        (
            lambda: initial_labels(MODEL, temperature="2"),
            r"^temperature must be positive\. Got '2'\.$",
        ),
        (
            lambda: sharpened(np.array([[0.9, 0.1]]), "2"),
            r"^temperature must be positive\. Got '2'\.$",
        ),
    ],
)
def test_initial_labels_and_sharpened_refuse_arguments_of_the_wrong_kind(call, message):
    with pytest.raises(InputError, match=message):
        call()

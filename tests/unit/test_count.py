"""``count_errors`` (standard-library sums) against the Poisson-binomial moments and the
estimate's relative error computed independently with numpy, on arrays, lists and a
sharded run's remainder."""

from __future__ import annotations

import numpy as np
import pytest

from labelmend.cleaner.count import (
    ERROR_VARIANCE_PER_ERROR,
    ESTIMATE_RELATIVE_SD,
    Z_95,
    count_errors,
)
from labelmend.errors import InputError


@pytest.mark.parametrize("as_list", [False, True], ids=["array", "list"])
def test_count_matches_the_poisson_binomial_moments(as_list):
    rng = np.random.default_rng(7)
    p = rng.beta(0.5, 3.0, size=5_000)
    decided = rng.random(p.size) < 0.1
    p_wrong = np.where(decided, rng.random(p.size) * 0.2, 0.0)
    effective = np.where(decided, p_wrong, p)
    rest_sum, n_rest = 12.5, 400
    args = [p, decided, p_wrong]
    if as_list:
        args = [a.tolist() for a in args]
    found = count_errors(
        args[0], decided=args[1], decided_p_wrong=args[2], rest_sum=rest_sum, n_rest=n_rest
    )
    expected = effective.sum() + rest_sum
    estimated = p[~decided].sum() + rest_sum  # the decisions' own uncertainty is not scaled
    own = ERROR_VARIANCE_PER_ERROR * estimated + (ESTIMATE_RELATIVE_SD * estimated) ** 2
    spread = Z_95 * np.sqrt((effective * (1 - effective)).sum() + rest_sum + own)
    assert found.expected == pytest.approx(expected, rel=1e-12)
    assert found.low == pytest.approx(expected - spread, rel=1e-9)
    assert found.high == pytest.approx(expected + spread, rel=1e-9)
    assert found.decided == int(decided.sum())


def test_the_estimates_own_error_widens_the_chance_by_hand():
    # 400 rows at p = 0.25: Σ p = 100, Σ p (1 − p) = 75. Chance alone: 100 ± 1.96 · √75
    # = 100 ± 16.97. Per expected error 2: + 200; relative 0.1: + 10² = 100; both: the
    # sd is √(75 + 200 + 100) = 19.36, so 100 ± 37.96.
    p = [0.25] * 400
    for per_error, relative, half_width in [
        (0.0, 0.0, 16.974),
        (2.0, 0.0, 32.503),
        (0.0, 0.1, 25.928),
        (2.0, 0.1, 37.955),
    ]:
        count = count_errors(p, variance_per_error=per_error, relative_sd=relative)
        assert (count.low, count.high) == pytest.approx(
            (100 - half_width, 100 + half_width), abs=1e-3
        )


@pytest.mark.parametrize("name", ["variance_per_error", "relative_sd"])
@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), "0.1", None])
def test_an_own_error_that_is_not_a_finite_non_negative_number_is_refused(name, value):
    with pytest.raises(InputError, match=rf"^{name} must be a finite number ≥ 0\. Got"):
        count_errors([0.1], **{name: value})


def test_the_interval_is_clipped_to_zero_and_n():
    assert (count_errors([0.0] * 3).low, count_errors([0.0] * 3).high) == (0.0, 0.0)
    near_one = count_errors([0.99, 0.99])
    assert near_one.high == 2.0
    assert near_one.low < near_one.expected


@pytest.mark.parametrize(
    ("p_error", "kwargs", "found"),
    [
        ([0.5, float("nan")], {}, "p_error .* found nan at row 2 \\(index 1\\)"),
        ([0.5, float("inf")], {}, "p_error .* found inf at row 2 \\(index 1\\)"),
        ([1.5, 0.2], {}, r"p_error .* found 1\.5 at row 1 \(index 0\)"),
        ([-0.1, 0.2], {}, r"p_error .* found -0\.1 at row 1 \(index 0\)"),
        (
            [0.5, 0.5],
            {"decided": [True, False], "decided_p_wrong": [2.0, 0.0]},
            r"decided_p_wrong .* found 2\.0 at row 1 \(index 0\)",
        ),
    ],
)
def test_values_outside_probabilities_are_refused(p_error, kwargs, found):
    with pytest.raises(
        InputError, match=r"^\w+ must hold probabilities in \[0, 1\]; found "
    ) as raised:
        count_errors(p_error, **kwargs)
    assert raised.match(f"^{found}\\.$")


def test_a_mask_of_another_length_is_refused():
    with pytest.raises(InputError, match="decided has 1 entries but p_error has 2"):
        count_errors([0.1, 0.2], decided=[True])


@pytest.mark.parametrize(
    ("p_error", "kwargs", "message"),
    [
        (
            np.array([[0.1, 0.5]]),
            {},
            r"^p_error must be numbers of shape \(N,\)\. Got an array of shape \(1, 2\) and dtype float64\.$",
        ),
        ([[0.1, 0.5]], {}, r"^p_error must be numbers of shape \(N,\)\. Got \[\[0\.1, 0\.5\]\]\.$"),
        (np.array(["0.1"]), {}, r"^p_error must be numbers of shape \(N,\)\. Got .*dtype <U3"),
        (0.5, {}, r"^p_error must be numbers of shape \(N,\)\. Got 0\.5\.$"),
        (
            [0.1, 0.2],
            {"decided": [True, True], "decided_p_wrong": [0.0]},
            r"^decided_p_wrong has 1 entries but p_error has 2\.$",
        ),
    ],
)
def test_p_error_that_is_not_a_row_of_numbers_is_refused_by_name(p_error, kwargs, message):
    # Before: TypeError from math.fsum (float() argument must be ... not 'list'), numpy
    # strings counted as errors, 'float' object is not iterable, IndexError.
    with pytest.raises(InputError, match=message):
        count_errors(p_error, **kwargs)


def test_the_interval_is_clipped_to_the_rows_stored_and_the_rows_summed():
    # Two stored rows near 1 and two more known only by their total 1.9: N = 4, so
    # the upper end of the chance alone, 3.88 + 1.96 · sqrt(0.0198 + 1.9) = 6.6 by hand,
    # is clipped to 4.
    count = count_errors(
        [0.99, 0.99], rest_sum=1.9, n_rest=2, variance_per_error=0.0, relative_sd=0.0
    )
    assert count.expected == pytest.approx(3.88)
    assert count.high == 4.0
    assert count.low == pytest.approx(3.88 - Z_95 * np.sqrt(0.0198 + 1.9))


@pytest.mark.parametrize(("rest_sum", "n_rest"), [(0.5, 0), (3.5, 3), (-0.1, 3)])
def test_a_rest_sum_outside_zero_to_n_rest_is_refused(rest_sum, n_rest):
    with pytest.raises(InputError, match=rf"rest_sum must lie in \[0, n_rest={n_rest}\]"):
        count_errors([0.1], rest_sum=rest_sum, n_rest=n_rest)

"""labelmend.repair.failures: Henn et al.'s failure types, metrics checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import require_module

torch = require_module("torch")

from labelmend.errors import InputError  # noqa: E402
from labelmend.repair import make_classifier, set_torch_threads  # noqa: E402
from labelmend.repair.failures import (  # noqa: E402
    _last_layer_columns,
    analyze_failures,
    assign_types,
    embed_failures,
    fine_tune,
    measure_typing,
    split_halves,
    typing_metrics,
    typing_score,
)

set_torch_threads(1)


def test_metrics_of_a_hand_checked_three_type_transfer_matrix():
    # Rows: fine-tuned on type t. Columns: accuracy on the held-out half of types 0, 1, 2,
    # then on the previously correct rows.
    transfer = np.array(
        [
            [0.50, 0.25, 0.00, 0.90],
            [0.10, 0.80, 0.30, 1.00],
            [0.60, 0.60, 0.40, 0.70],
        ]
    )
    fitted = np.array([1.0, 0.8, 0.2])  # accuracy on the half each was tuned on
    table = typing_metrics(fitted, transfer, np.array([8, 6, 4])).set_index("type")
    np.testing.assert_allclose(table["learnability"], [0.5, 0.8, 0.4])
    # 1 − max(0, fit − held)/fit: overfit by half; no gap; held above fit (no penalty).
    np.testing.assert_allclose(table["generalisability"], [0.5, 1.0, 1.0])
    # own − mean(others): 0.5 − 0.125; 0.8 − 0.2; 0.4 − 0.6 (tuning on 2 fixes the others more).
    np.testing.assert_allclose(table["independence"], [0.375, 0.6, -0.2])
    np.testing.assert_allclose(table["compatibility"], [0.9, 1.0, 0.7])
    assert table["size"].tolist() == [8, 6, 4]
    per_type = table[["learnability", "generalisability", "independence", "compatibility"]]
    expected = np.average(per_type.mean(axis=1), weights=[8, 6, 4])
    assert typing_score(table) == pytest.approx(expected)
    assert typing_score(table) == pytest.approx((8 * 0.56875 + 6 * 0.85 + 4 * 0.475) / 18)


def test_a_type_never_learned_scores_zero_generalisability():
    table = typing_metrics(
        np.array([0.0, 1.0]), np.array([[0.0, 0.5, 1.0], [0.0, 1.0, 1.0]]), [5, 5]
    )
    assert table["generalisability"].tolist() == [0.0, 1.0]


def test_group_keys_become_types_largest_first_and_small_groups_merge():
    keys = np.array(["b", "a", "b", "c", "b", "a", "d"])
    assert assign_types(keys, 3).tolist() == [0, 1, 0, 2, 0, 1, 2]
    assert assign_types(keys, 4).tolist() == [0, 1, 0, 2, 0, 1, 3]


def test_random_typing_is_balanced_and_seeded():
    first = assign_types(np.zeros((10, 0)), 3, random_state=1)
    assert np.bincount(first).tolist() == [4, 3, 3]
    assert first.tolist() == assign_types(np.zeros((10, 0)), 3, random_state=1).tolist()


def test_each_type_is_halved():
    assignment = np.array([0] * 5 + [1] * 4)
    halves = split_halves(assignment, random_state=0)
    assert halves[:5].sum() == 3
    assert halves[5:].sum() == 2


class Memoriser:
    """A stand-in for a fine-tuned model with known behaviour: after tuning on some
    failures (features: type, row id; correct label 1) it gets right the rows it saw,
    and every row of type 1 once it saw one (type 1 generalises, type 0 does not);
    tuning on type 1 also predicts 1 for the previously correct rows (label 0)."""

    def __init__(self, rows):
        self.seen = set(rows[0][:, 1].tolist())
        self.type_1 = bool((rows[0][:, 0] == 1).any())

    def predict(self, features):
        features = np.asarray(features)
        right = np.isin(features[:, 1], list(self.seen)) | (self.type_1 & (features[:, 0] == 1))
        return np.where(right | (self.type_1 & (features[:, 0] == 9)), 1, 0)


def test_measure_typing_tunes_on_one_half_and_measures_the_other_by_hand(monkeypatch):
    monkeypatch.setattr(
        "labelmend.repair.failures.fine_tune", lambda model, train, rows: Memoriser(rows)
    )
    assignment = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    halves = np.array([True, True, False, False, True, False, True, False])
    failures = (np.c_[assignment, np.arange(8)], np.ones(8, dtype=int))
    correct = (np.array([[9, 100], [9, 101]]), np.zeros(2, dtype=int))
    table, transfer = measure_typing(None, None, failures, correct, assignment, halves)
    # Tuned on type 0's rows 0, 1: right on them (fit 1.0), not on its held-out rows 2, 3
    # (learnability 0, generalisability 0), not on type 1's, the correct rows untouched.
    # Tuned on type 1's rows 4, 6: right on all of type 1 (5, 7 held out), none of type
    # 0's held-out rows, and every previously correct row now wrong.
    np.testing.assert_array_equal(transfer, [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    assert table["learnability"].tolist() == [0.0, 1.0]
    assert table["generalisability"].tolist() == [0.0, 1.0]
    assert table["independence"].tolist() == [0.0, 1.0]
    assert table["compatibility"].tolist() == [1.0, 0.0]
    assert table["size"].tolist() == [4, 4]


def planted_two_modes(seed: int = 0):
    """Three blobs; in training, labels in two regions are flipped systematically: blob 0's
    rows with x1 > 0 are labelled 1, blob 2's rows with x1 > 0 are labelled 1. Validation
    (true labels) failures then come from two modes, known for each failure."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-4.0, 0.0], [0.0, 4.0], [4.0, 0.0]])

    def draw(n):
        labels = rng.integers(3, size=n)
        return centres[labels] + rng.normal(scale=1.2, size=(n, 2)), labels

    train_x, train_true = draw(600)
    given = train_true.copy()
    given[(train_true != 1) & (train_x[:, 1] > 0)] = 1
    val_x, val_y = draw(600)
    return (train_x, given), (val_x, val_y)


def planted_failures():
    """The planted problem, a linear head fitted on it, and its validation failures and
    correct rows, each ``(features (n, 2), labels (n,))``."""
    train, (val_x, val_y) = planted_two_modes()
    model = make_classifier("linear", train[0], n_classes=3).fit(*train)
    wrong = model.predict(val_x) != val_y
    return model, train, (val_x[wrong], val_y[wrong]), (val_x[~wrong], val_y[~wrong])


def test_fine_tuning_learns_the_rows_and_keeps_the_rest():
    model, train, failures, correct = planted_failures()
    tuned = fine_tune(model, train, (failures[0][::2], failures[1][::2]))
    held_out = (failures[0][1::2], failures[1][1::2])
    assert np.mean(model.predict(held_out[0]) == held_out[1]) == 0.0
    assert np.mean(tuned.predict(held_out[0]) == held_out[1]) > 0.5
    assert np.mean(tuned.predict(correct[0]) == correct[1]) > 0.8


@pytest.mark.parametrize("embedding", ["gradients", "features"])
def test_typing_recovers_the_planted_modes_and_beats_random(embedding):
    from sklearn.metrics import adjusted_rand_score

    model, train, failures, correct = planted_failures()
    types = analyze_failures(model, train, failures, correct, embedding=embedding, n_types=2)
    mode = failures[1]  # the true class says which flipped region a failure came from
    assert adjusted_rand_score(mode, types.assignment) > 0.8
    assert types.score > types.baseline_score + 0.1
    assert types.transfer.shape == (2, 3)
    assert types.table["size"].sum() == len(mode)
    chosen = analyze_failures(model, train, failures, correct, embedding="gradients")
    assert chosen.scores["n_types"].tolist() == [2, 3, 4, 5, 6]
    best = chosen.scores.loc[chosen.scores["score"].idxmax()]
    assert chosen.n_types == best["n_types"]
    assert chosen.score == pytest.approx(best["score"])


def test_last_layer_gradients_are_the_output_layers_parameters():
    features = np.random.default_rng(0).normal(size=(20, 5))
    mlp = make_classifier("mlp", features, n_classes=3, hidden=4)
    assert len(_last_layer_columns(mlp)) == 4 * 3 + 3
    embedded = embed_failures(mlp, (features, np.arange(20) % 3), embedding="gradients")
    assert embedded.shape == (20, 15)
    np.testing.assert_allclose(np.linalg.norm(embedded, axis=1), 1.0)


def test_fp_fn_keys_are_true_and_predicted_class():
    features = np.array([[0.0], [1.0], [2.0]])
    model = make_classifier("linear", features, n_classes=2).fit(features, [0, 1, 1])
    keys = embed_failures(model, (features, [1, 0, 0]), embedding="fp_fn")
    assert keys.tolist() == ["1→0", "0→1", "0→1"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("one_class", r"holds class \[1\] only"),
        ("few", "5 failures cannot make 2 types of at least 4"),
        ("nan", "NaN"),
        ("metadata", "needs a metadata column"),
    ],
)
def test_bad_failure_sets_are_refused(change, message):
    model, train, failures, correct = planted_failures()  # fresh arrays: safe to edit
    embedding = "gradients"
    if change == "one_class":
        failures = (failures[0], np.ones_like(failures[1]))
    elif change == "few":
        failures = (failures[0][:5], np.array([0, 2, 0, 2, 0]))
    elif change == "nan":
        failures[0][3, 1] = np.nan
    else:
        embedding = "metadata"
    with pytest.raises(InputError, match=message):
        analyze_failures(model, train, failures, correct, embedding=embedding, n_types=2)


def test_metadata_typing_follows_the_column():
    model, train, failures, correct = planted_failures()
    region = np.where(failures[0][:, 0] < 0, "left", "right")
    types = analyze_failures(
        model, train, failures, correct, embedding="metadata", metadata=region, n_types=2
    )
    groups = pd.crosstab(region, types.assignment)
    assert (groups.to_numpy() > 0).sum() == 2  # each region is exactly one type


def test_repairing_one_planted_type_fixes_it_and_keeps_the_correct_rows():
    from labelmend.repair.failures import repair_types

    model, train, failures, correct = planted_failures()
    types = analyze_failures(model, train, failures, correct, embedding="gradients", n_types=2)
    # Rows labelled 1 far from class 1's centre are (nearly all) the flipped ones.
    far = (train[1] == 1) & (np.abs(train[0][:, 0]) > 2)
    k = int(far.sum()) // 2  # about one region's flipped rows
    repairs = repair_types(model, train, failures, correct, types, k=k)
    table = repairs.table.set_index("type")
    assert table["k"].tolist() == [k, k]
    # The rows blamed for each type are the flipped rows of that type's own region (its
    # failures sit left (blob 0) or right (blob 2) of class 1's centre), the most harmful
    # first: measured 96% / 82% of the top half, and 66 / 53 own-region flips in all
    # against 4 / 13 of the other region's.
    suspects = repairs.suspects
    assert suspects.groupby("type")["rank"].apply(list).tolist() == [list(range(1, k + 1))] * 2
    for t in range(2):
        side = np.sign(np.median(failures[0][types.assignment == t, 0]))
        blamed = suspects.loc[suspects["type"] == t, "index"].to_numpy()
        own = far[blamed] & (np.sign(train[0][blamed, 0]) == side)
        other = far[blamed] & (np.sign(train[0][blamed, 0]) != side)
        assert own[: k // 2].mean() > 0.75
        assert own.sum() > 3 * other.sum()
    # Each region's failures come from its own flipped training rows: repairing a type
    # fixes its held-out half (measured 0.44 / 0.49; a linear head cannot fix them all)
    # and not the other type's (0.0 / 0.0), and keeps the correct rows (0.99).
    assert (table["fixed"] > table["others_fixed"] + 0.3).all()
    assert (table["retention"] > 0.95).all()


@pytest.mark.parametrize("k", [-3, 2.5, True, 600])
def test_repair_types_refuses_a_k_that_is_not_a_count_of_training_rows(k):
    # k = -3 unlearned every training row but the 3 least harmful (a slice [:-3]) and said
    # k = -3; 2.5 was a TypeError from the slice; 600 said "Cannot remove all 600".
    from labelmend.repair.failures import repair_types

    model, train, failures, correct = planted_failures()
    assert len(train[1]) == 600
    types = analyze_failures(model, train, failures, correct, embedding="features", n_types=2)
    message = rf"^k must be a whole number of training rows in \[0, 600\)\. Got {k!r}\.$"
    with pytest.raises(InputError, match=message) as raised:
        repair_types(model, train, failures, correct, types, k=k)
    assert raised.value.inputs == ("k",)


@pytest.mark.parametrize("rows", [slice(0, 20), slice(None)])
def test_repair_types_refuses_failures_that_are_not_the_typed_ones(rows):
    # A typing of other failures (20 of them, or the same rows with NaN) raised an
    # IndexError from the type masks, or was used unchecked.
    from labelmend.repair.failures import repair_types

    model, train, failures, correct = planted_failures()
    types = analyze_failures(model, train, failures, correct, embedding="features", n_types=2)
    other = (failures[0][rows].copy(), failures[1][rows])
    if rows == slice(None):
        other[0][3, 1] = np.nan
        message = r"^failures features hold NaN or infinite values in 1 rows\.$"
    else:
        n_typed = len(types.assignment)
        message = rf"^failures has 20 rows but types has {n_typed}\.$"
    with pytest.raises(InputError, match=message):
        repair_types(model, train, other, correct, types, k=5)


def test_analyze_failures_says_so_when_there_are_no_previously_correct_rows():
    # It said "previously correct rows labels is empty: expected at least one sample —
    # the model has 3 classes."
    model, train, failures, correct = planted_failures()
    none = (correct[0][:0], correct[1][:0])
    message = (
        r"^correct holds no rows: compatibility is measured on rows the model gets right; "
        r"give at least one\.$"
    )
    with pytest.raises(InputError, match=message) as raised:
        analyze_failures(model, train, failures, none, n_types=2)
    assert raised.value.inputs == ("correct",)


@pytest.mark.parametrize("n_types", [1, 2.5, True])
def test_analyze_failures_refuses_a_number_of_types_that_is_not_a_count(n_types):
    # 2.5 reached k-means: "The 'n_clusters' parameter of KMeans must be an int in the
    # range [1, inf). Got 2.5 instead.", a parameter the caller never gave.
    model, train, failures, correct = planted_failures()
    with pytest.raises(InputError, match=rf"^n_types must be an integer ≥ 2\. Got {n_types}\.$"):
        analyze_failures(model, train, failures, correct, n_types=n_types)

"""The project's one out-of-fold trainer: folds, class columns, model kinds, bad input."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from labelmend.errors import InputError
from labelmend.fitting import (
    model_from_spec,
    out_of_fold_probs,
    refit,
    select_regularisation,
    stratified_folds,
)


@pytest.fixture
def blobs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [40, 30, 10])
    features = rng.normal(scale=0.5, size=(80, 3)) + 3.0 * np.eye(3)[labels]
    return features, labels


def test_folds_are_stratified_and_cover_every_sample(blobs):
    _, labels = blobs
    folds = stratified_folds(labels, 5, random_state=1)
    for label, count in zip([0, 1, 2], [40, 30, 10], strict=True):
        assert np.bincount(folds[labels == label], minlength=5).tolist() == [count // 5] * 5


def test_no_sample_is_predicted_by_a_model_that_saw_its_label(blobs):
    features, labels = blobs
    flipped = labels.copy()
    flipped[0] = 2  # a class-0 point labelled 2: an in-sample 1-NN would return its label
    model = KNeighborsClassifier(n_neighbors=1)
    probs = out_of_fold_probs(features, flipped, model=model, random_state=0)
    assert probs[0].argmax() == 0
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_a_class_unseen_by_a_fold_gets_zero_probability_in_its_own_column(blobs):
    features, labels = blobs
    labels = np.array([0, 1, 3])[labels]  # class 2 absent: its column must stay empty
    probs = out_of_fold_probs(features, labels, n_classes=4, random_state=0)
    assert probs.shape == (80, 4)
    assert np.all(probs[:, 2] == 0.0)
    assert np.mean(probs.argmax(axis=1) == labels) > 0.9


def test_a_callable_model_is_called_once_per_fold(blobs):
    features, labels = blobs
    made = []

    def make() -> GaussianNB:
        made.append(1)
        return GaussianNB()

    folds_done = []
    out_of_fold_probs(features, labels, model=make, n_folds=4, on_fold=folds_done.append)
    assert len(made) == 4
    assert folds_done == [0, 1, 2, 3]


def test_regularisation_is_chosen_by_out_of_fold_log_loss(blobs):
    features, labels = blobs
    chosen, probs = select_regularisation(features, labels, grid=(1e-4, 1.0), n_folds=3)
    # C = 1e-4 leaves every row near the class prior: a far worse log-loss on separable blobs.
    assert chosen == 1.0
    assert np.mean(probs.argmax(axis=1) == labels) > 0.9


@pytest.mark.parametrize(
    ("features", "labels", "message"),
    [
        (np.zeros((4, 0)), [0, 0, 1, 1], "D ≥ 1"),
        (np.array([[np.nan], [0], [1], [2]]), [0, 0, 1, 1], "NaN or infinite values in 1 rows"),
        (np.zeros((3, 1)), [0, 0, 1, 1], "features has 3 rows but labels has 4"),
        (np.zeros((6, 1)), [0, 0, 0, 0, 1, 1], "class 1 has 2. Use fewer folds"),
    ],
)
def test_bad_input_says_what_was_expected_and_found(features, labels, message):
    with pytest.raises(InputError, match=message):
        out_of_fold_probs(features, labels, n_folds=3)


def test_a_model_that_is_not_a_classifier_is_refused(blobs):
    features, labels = blobs
    with pytest.raises(InputError, match="scikit-learn estimator or a callable"):
        out_of_fold_probs(features, labels, model="resnet")


def test_predicting_in_chunks_gives_the_same_probabilities(blobs):
    features, labels = blobs
    whole = out_of_fold_probs(features, labels, random_state=3)
    chunked = out_of_fold_probs(features, labels, random_state=3, chunk_rows=7)
    np.testing.assert_array_equal(whole, chunked)


def test_refit_names_the_classes_nobody_has_now(blobs):
    features, labels = blobs
    with pytest.raises(InputError, match=r"label 'owl' now \(nor \['bat'\]\)"):
        refit(features, labels, classes=["cat", "dog", "fox", "owl", "bat"])
    probs = refit(features, labels, classes=["cat", "dog", "fox"], model=GaussianNB())
    assert probs.shape == (80, 3)


def test_models_by_name_and_from_joblib_files(tmp_path):
    rng = np.random.default_rng(1)
    many = np.repeat([0, 1, 2], 300)
    points = rng.normal(scale=0.5, size=(900, 3)) + 3.0 * np.eye(3)[many]
    probs = out_of_fold_probs(points, many, model=model_from_spec("mlp"), n_folds=3)
    assert np.mean(probs.argmax(axis=1) == many) > 0.95
    joblib.dump(KNeighborsClassifier(n_neighbors=3), tmp_path / "knn.joblib")
    loaded = model_from_spec(tmp_path / "knn.joblib")
    assert loaded.n_neighbors == 3
    joblib.dump(StandardScaler(), tmp_path / "scaler.joblib")
    with pytest.raises(InputError, match="found a StandardScaler without predict_proba"):
        model_from_spec(tmp_path / "scaler.joblib")
    with pytest.raises(InputError, match=r"one of logistic, mlp or a \.joblib file\. Got 'svm'"):
        model_from_spec("svm")


def test_the_simulator_refits_through_the_function_labelmend_round_uses(monkeypatch, blobs):
    """The simulator's active mode calls ``fitting.refit`` (the store's round: see the CLI
    tests, whose stored probabilities equal ``refit``'s)."""
    import labelmend.fitting
    from labelmend.simulator import AnnotatorModel, Features
    from labelmend.simulator.simulation import simulate_run

    calls = []
    original = labelmend.fitting.refit

    def spy(*args, **kwargs):
        calls.append(kwargs["classes"])
        return original(*args, **kwargs)

    monkeypatch.setattr(labelmend.fitting, "refit", spy)
    features, labels = blobs
    counts = np.full((80, 3), 1) + 8 * np.eye(3, dtype=int)[labels]
    annotators = AnnotatorModel.from_counts(counts)
    simulate_run(
        annotators, labels.copy(), selector="default", budget=20, batch_size=10,
        seed_sequence=np.random.SeedSequence(0), features=Features(features),
    )  # fmt: skip
    assert calls == [["0", "1", "2"]] * 3  # the start, after the first batch, the end

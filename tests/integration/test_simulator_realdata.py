"""The simulator on real annotator data (skipped when ../shared/data is absent).

CIFAR-10H counts with the label-errors CIFAR-10 out-of-fold probabilities (the active
label cleaning paper's setting, T = 2), music genre (44 real annotators, features,
retraining) and CIFAR-10N (three real annotators per image).
"""

from __future__ import annotations

import numpy as np
import pytest

from labelmend.cleaner import dawid_skene
from labelmend.datasets import cifar10n, music_genre
from labelmend.simulator import AnnotatorModel, Features
from labelmend.simulator.study import NoiseLevel, run_study

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def cifar10h_study(shared_data):
    counts = np.load(shared_data / "cifar-10h" / "cifar10h-counts.npy")
    probs = np.load(
        shared_data
        / "label-errors/cross_validated_predicted_probabilities/cifar10_test_set_pyx.npy"
    )
    return run_study(
        AnnotatorModel.from_counts(counts),
        pred_probs=probs,
        selectors=["random", "oracle", "default", "ce_minus_entropy", "self_confidence"],
        seeds=4,
        budget=0.2,
        n_workers=2,
    )


def test_cifar10h_at_t2_reproduces_the_paper_setting(cifar10h_study):
    runs = cifar10h_study.runs
    assert runs["initial_noise"].between(0.12, 0.14).all()  # η ≈ 13%
    means = runs.groupby("selector")[
        ["noise_fixed@5%", "noise_fixed@10%", "noise_fixed@20%"]
    ].mean()
    # Random review fixes noisy labels in proportion to the annotations spent (≈ 3.5% per 5% of N).
    np.testing.assert_allclose(means.loc["random"], [0.035, 0.069, 0.139], atol=0.012)
    for selector in ("default", "ce_minus_entropy", "self_confidence"):
        assert (means.loc["oracle"] >= means.loc[selector]).all(), selector


def test_cifar10h_default_ranking_targets(cifar10h_study):
    means = cifar10h_study.runs.groupby("selector")[
        ["noise_fixed@5%", "noise_fixed@10%", "noise_fixed@20%"]
    ].mean()
    default = means.loc["default"]
    assert default["noise_fixed@5%"] >= 4.5 * means.loc["random", "noise_fixed@5%"]
    assert default["noise_fixed@10%"] >= 0.9 * means.loc["oracle", "noise_fixed@10%"]
    paper = means.loc["ce_minus_entropy"]
    assert (default >= paper).all(), (default - paper).to_dict()


def test_music_genre_dawid_skene_and_active_retraining(shared_data):
    data = music_genre(shared_data / "music-genre")
    fit = dawid_skene(data.annotations, n_classes=len(data.classes))
    majority_accuracy = (data.answer_counts().argmax(axis=1) == data.true_labels).mean()
    assert (fit.labels == data.true_labels).mean() > majority_accuracy + 0.03
    study = run_study(
        AnnotatorModel.from_dawid_skene(fit, data.true_labels),
        features=Features(data.features, data.test_features, data.test_labels),
        selectors=["random", "default"],
        noise_levels=[NoiseLevel(temperature=1.0)],
        seeds=2,
        budget=0.2,
        batch_sizes=[35],
        n_workers=2,
    )
    fixed = study.runs.groupby("selector")["noise_fixed@20%"].mean()
    assert fixed["default"] > 1.5 * fixed["random"]
    assert study.runs["final_test_accuracy"].between(0.4, 0.9).all()


def test_cifar10n_dawid_skene_matches_the_real_annotators(shared_data):
    data = cifar10n(shared_data / "cifar-10n")
    fit = dawid_skene(data.annotations)
    agree = data.annotations == data.true_labels[:, None]
    assert (fit.labels == data.true_labels).mean() > 0.915  # majority vote: 0.912
    for m in range(3):
        empirical = np.zeros((10, 10))
        np.add.at(empirical, (data.true_labels, data.annotations[:, m]), 1)
        empirical /= empirical.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(fit.confusions[m], empirical, atol=0.07)
        assert abs(np.diag(fit.confusions[m]).mean() - agree[:, m].mean()) < 0.02
    annotators = AnnotatorModel.from_dawid_skene(fit, data.true_labels)
    accuracy = annotators.probs[np.arange(len(data.true_labels)), data.true_labels].mean()
    assert 0.8 < accuracy < 0.86  # real: 0.82 per annotator

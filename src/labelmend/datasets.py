"""Data sets labelmend is demonstrated and checked on.

:func:`noisy_digits` ships with the dependencies: scikit-learn's 1,797 8×8 digits with
injected noise, out-of-fold probabilities from :mod:`labelmend.fitting` (no download).
:func:`music_genre`, :func:`cifar10n` and :func:`truth_inference` read public
multi-annotator data, and :func:`label_errors_test_set` a test set with human-checked
label errors, from the folders their authors distribute (see
``../shared/data/README.md``); nothing of them is bundled with labelmend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend._validation import (
    RandomState,
    check_count,
    check_labels,
    check_random_state,
    is_number,
)
from labelmend.cleaner.aggregate import long_form, vote_counts
from labelmend.errors import InputError
from labelmend.fitting import out_of_fold_probs


@dataclass(frozen=True)
class NoisyDataset:
    """A labelled dataset with known noise.

    Attributes
    ----------
    features : (N, D) float
    labels : (N,) int, the noisy given labels
    true_labels : (N,) int
    classes : list of K class names
    pred_probs : (N, K) float, out-of-fold probabilities of a model trained on ``labels``
    """

    features: npt.NDArray[np.float64]
    labels: npt.NDArray[np.intp]
    true_labels: npt.NDArray[np.intp]
    classes: list[str]
    pred_probs: npt.NDArray[np.float64]

    @property
    def is_error(self) -> npt.NDArray[np.bool_]:
        """(N,) True where the given label is wrong."""
        return self.labels != self.true_labels


def flip_labels(
    labels: Any,
    n_classes: int,
    noise_rate: float,
    *,
    random_state: RandomState = None,
) -> npt.NDArray[np.intp]:
    """Relabel a ``noise_rate`` fraction of samples, chosen at random, as another random class.

    ``labels`` (N,) ints in [0, ``n_classes``), any array-like; a new (N,) int array is
    returned (``labels`` is not changed).

    >>> flip_labels(np.zeros(10, dtype=int), 2, 0.3, random_state=0).sum()
    np.int64(3)
    """
    check_count("n_classes", n_classes, minimum=2)
    labels = check_labels(labels, n_classes=n_classes)
    if not is_number(noise_rate) or not 0.0 <= noise_rate < 1.0:
        raise InputError(
            f"noise_rate must lie in [0, 1). Got {noise_rate!r}.", inputs=("noise_rate",)
        )
    rng = check_random_state(random_state)
    noisy = labels.copy()
    flip = rng.choice(labels.size, size=round(noise_rate * labels.size), replace=False)
    noisy[flip] = (labels[flip] + rng.integers(1, n_classes, size=flip.size)) % n_classes
    return noisy


def noisy_digits(*, noise_rate: float = 0.1, random_state: RandomState = 0) -> NoisyDataset:
    """scikit-learn's digits (1,797 × 64) with ``noise_rate`` of labels flipped at random.

    >>> data = noisy_digits(noise_rate=0.1, random_state=0)
    >>> data.pred_probs.shape, int(data.is_error.sum())
    ((1797, 10), 180)
    """
    from sklearn.datasets import load_digits

    rng = check_random_state(random_state)
    digits = load_digits()
    true = digits.target.astype(np.intp)
    labels = flip_labels(true, 10, noise_rate, random_state=rng)
    probs = out_of_fold_probs(digits.data, labels, random_state=rng)
    classes = [str(d) for d in range(10)]
    return NoisyDataset(digits.data.astype(np.float64), labels, true, classes, probs)


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class MultiAnnotatorData:
    """Samples labelled by several annotators.

    Attributes
    ----------
    annotations : (N, M) int
        Annotator m's label for sample i, -1 where m did not label i.
    true_labels : (N,) int
        Gold labels.
    classes : list of str
    features, test_features : (N, D) and (T, D) float, optional
    test_labels : (T,) int, optional
    """

    annotations: IntArray
    true_labels: IntArray
    classes: list[str]
    features: FloatArray | None = None
    test_features: FloatArray | None = None
    test_labels: IntArray | None = None

    def answer_counts(self) -> IntArray:
        """(N, K) how many annotators gave each sample each class.

        >>> MultiAnnotatorData(np.array([[0, -1], [1, 0]]), np.array([0, 1]), ["a", "b"]).answer_counts()
        array([[1, 0],
               [1, 1]])
        """
        item, _, answer, k = long_form(self.annotations, len(self.classes))
        return vote_counts(item, answer, n_samples=len(self.annotations), n_classes=k)


def _need(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"expected data file not found: {path}")
    return path


def music_genre(root: str | Path) -> MultiAnnotatorData:
    """Rodrigues et al. (ICML 2014): 700 songs, 44 MTurk annotators, 124 audio features.

    ``root`` is the ``music-genre`` folder (holding ``data/Music/*.csv``). Rows follow
    ``music_genre_gold.csv``; annotators are in the order of their ids.

    Examples
    --------
    The folder's layout, with two songs and one feature (the real files hold 124):

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     music = Path(root, "data", "Music")
    ...     music.mkdir(parents=True)
    ...     _ = (music / "music_genre_mturk.csv").write_text(
    ...         "id,annotator,class\\nrock.1.mp3,A1,rock\\nrock.1.mp3,A2,jazz\\njazz.1.mp3,A2,jazz\\n"
    ...     )
    ...     for part in ("gold", "test"):
    ...         _ = (music / f"music_genre_{part}.csv").write_text(
    ...             "id,feature0,class\\nrock.1.mp3,0.5,rock\\njazz.1.mp3,0.1,jazz\\n"
    ...         )
    ...     data = music_genre(root)
    >>> data.classes, data.annotations.tolist(), data.true_labels.tolist()
    (['jazz', 'rock'], [[1, 0], [-1, 0]], [1, 0])
    >>> data.features.shape, data.test_features.shape
    ((2, 1), (2, 1))
    """
    folder = Path(root) / "data" / "Music"
    answers = pd.read_csv(
        _need(folder / "music_genre_mturk.csv"), usecols=["id", "annotator", "class"]
    )
    gold = pd.read_csv(_need(folder / "music_genre_gold.csv"))
    test = pd.read_csv(_need(folder / "music_genre_test.csv"))
    classes = sorted(gold["class"].unique())
    code = {name: i for i, name in enumerate(classes)}
    songs = {song: i for i, song in enumerate(gold["id"])}
    workers = {worker: m for m, worker in enumerate(sorted(answers["annotator"].unique()))}
    annotations = np.full((len(gold), len(workers)), -1, dtype=np.intp)
    annotations[
        answers["id"].map(songs).to_numpy(), answers["annotator"].map(workers).to_numpy()
    ] = answers["class"].map(code).to_numpy()
    feature_columns = [c for c in gold.columns if c.startswith("feature")]
    return MultiAnnotatorData(
        annotations,
        gold["class"].map(code).to_numpy().astype(np.intp),
        classes,
        gold[feature_columns].to_numpy(dtype=np.float64),
        test[feature_columns].to_numpy(dtype=np.float64),
        test["class"].map(code).to_numpy().astype(np.intp),
    )


def cifar10n(root: str | Path) -> MultiAnnotatorData:
    """Wei et al. (ICLR 2022): three MTurk labels for each of CIFAR-10's 50,000 training images.

    ``root`` is the ``cifar-10n`` folder; annotations are ``random_label1..3``, the true
    labels ``clean_label``.

    Examples
    --------
    The ``.npz`` file's layout, with two images:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     labels = {"clean_label": [3, 5], "random_label1": [3, 5], "random_label2": [5, 5],
    ...               "random_label3": [3, 3]}
    ...     np.savez(Path(root, "cifar10n_train_labels.npz"),
    ...              **{key: np.array(value, dtype=np.uint8) for key, value in labels.items()})
    ...     data = cifar10n(root)
    >>> data.annotations.tolist(), [data.classes[label] for label in data.true_labels]
    ([[3, 5, 3], [5, 5, 3]], ['cat', 'dog'])
    """
    data = np.load(_need(Path(root) / "cifar10n_train_labels.npz"))
    annotations = np.stack([data[f"random_label{m}"] for m in (1, 2, 3)], axis=1)
    classes = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    return MultiAnnotatorData(
        annotations.astype(np.intp), data["clean_label"].astype(np.intp), classes
    )


def truth_inference(root: str | Path, name: str) -> MultiAnnotatorData:
    """Zheng et al. (PVLDB 2017), a truth-inference set: ``dog`` (807 items, 109 workers,
    4 classes), ``face`` (584, 27, 4) or ``product`` (8,315, 176, 2); no features.

    ``root`` is the ``crowd_truth_infer`` folder (holding ``datasets/<name>/answer.csv``
    and ``truth.csv``). Rows follow ``truth.csv``; answers to items without a gold label
    are dropped. Classes are the answers' codes as strings, in numeric order.

    Examples
    --------
    The folder's layout, with two items of gold (question 5 has none: its answer goes):

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     dog = Path(root, "datasets", "dog")
    ...     dog.mkdir(parents=True)
    ...     _ = (dog / "answer.csv").write_text(
    ...         "question,worker,answer\\n1,7,2\\n1,9,3\\n2,9,2\\n5,7,0\\n"
    ...     )
    ...     _ = (dog / "truth.csv").write_text("question,truth\\n2,2\\n1,3\\n")
    ...     data = truth_inference(root, "dog")
    >>> data.classes, data.annotations.tolist(), data.true_labels.tolist()
    (['2', '3'], [[-1, 0], [0, 1]], [0, 1])
    """
    folder = Path(root) / "datasets" / name
    answers = pd.read_csv(_need(folder / "answer.csv"), dtype={"question": str, "worker": str})
    gold = pd.read_csv(_need(folder / "truth.csv"), dtype={"question": str})
    items = {item: i for i, item in enumerate(gold["question"])}
    answers = answers[answers["question"].isin(items)]
    codes = np.unique(np.concatenate([answers["answer"].to_numpy(), gold["truth"].to_numpy()]))
    workers, _ = pd.factorize(answers["worker"])
    annotations = np.full((len(gold), workers.max() + 1), -1, dtype=np.intp)
    annotations[answers["question"].map(items).to_numpy(), workers] = np.searchsorted(
        codes, answers["answer"].to_numpy()
    )
    true_labels = np.searchsorted(codes, gold["truth"].to_numpy()).astype(np.intp)
    return MultiAnnotatorData(annotations, true_labels, [str(code) for code in codes])


class CheckedTestSet(NamedTuple):
    """A test set whose flagged labels people checked.

    Attributes
    ----------
    labels : (N,) int, the given labels
    pred_probs : (N, K) float, out-of-fold probabilities
    checked : (N,) bool, the flagged rows shown to annotators
    validated : (N,) bool, the checked rows whose given label the annotators rejected
    """

    labels: IntArray
    pred_probs: FloatArray
    checked: npt.NDArray[np.bool_]
    validated: npt.NDArray[np.bool_]


def label_errors_test_set(root: str | Path, name: str) -> CheckedTestSet:
    """Northcutt et al. (NeurIPS 2021), "Pervasive label errors in test sets": one test set.

    ``root`` is the ``label-errors`` folder; ``name`` a set it holds ("cifar10", "mnist").
    A validated error is a checked row that fewer than 3 of its 5 MTurk workers kept the
    given label of. Only flagged rows were checked: the rest are unverified, not clean.

    On the published folder, ``label_errors_test_set(root, "cifar10")`` gives (10000, 10)
    probabilities, 275 rows checked and 54 validated errors
    (``tests/integration/test_label_errors.py``).

    Examples
    --------
    A set of four test rows in the folder's layout, rows 1 and 3 checked by 5 workers:
    2 of them kept row 1's given label (a validated error), 3 kept row 3's.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = Path(tmp)
    ...     for folder in ("cross_validated_predicted_probabilities", "original_test_labels",
    ...                    "mturk"):
    ...         (root / folder).mkdir()
    ...     probs = np.full((4, 2), 0.5)
    ...     np.save(root / "cross_validated_predicted_probabilities/toy_test_set_pyx.npy", probs)
    ...     labels = np.array([0, 1, 1, 0])
    ...     np.save(root / "original_test_labels/toy_test_set_original_labels.npy", labels)
    ...     checked = [{"id": 1, "mturk": {"given": 2}}, {"id": 3, "mturk": {"given": 3}}]
    ...     _ = (root / "mturk/toy_mturk.json").write_text(json.dumps(checked))
    ...     data = label_errors_test_set(root, "toy")
    >>> data.pred_probs.shape, data.checked.tolist(), data.validated.tolist()
    ((4, 2), [False, True, False, True], [False, True, False, False])
    """
    folder = Path(root)
    probs = np.load(
        _need(folder / "cross_validated_predicted_probabilities" / f"{name}_test_set_pyx.npy")
    )
    labels = np.load(
        _need(folder / "original_test_labels" / f"{name}_test_set_original_labels.npy")
    )
    entries = json.loads(_need(folder / "mturk" / f"{name}_mturk.json").read_text())
    checked = np.zeros(len(labels), dtype=bool)
    checked[[e["id"] for e in entries]] = True
    validated = np.zeros(len(labels), dtype=bool)
    validated[[e["id"] for e in entries if e["mturk"]["given"] < 3]] = True
    return CheckedTestSet(labels.astype(np.intp), probs, checked, validated)

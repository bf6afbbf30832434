"""Readers for the public multi-annotator data the simulator is checked on.

Each reader takes the folder of one data set as distributed by its authors (see
``../shared/data/README.md``) and returns arrays; nothing is bundled with labelmend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend.errors import InputError

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


def _need(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"expected data file not found: {path}")
    return path


def music_genre(root: str | Path) -> MultiAnnotatorData:
    """Rodrigues et al. (ICML 2014): 700 songs, 44 MTurk annotators, 124 audio features.

    ``root`` is the ``music-genre`` folder (holding ``data/Music/*.csv``).
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

    ``root`` is the ``cifar-10n`` folder; annotations are ``random_label1..3``.
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

"""Repair on real annotator noise: music genre, each training song labelled by ONE real
crowd annotator (Rodrigues et al. 2014), gold labels for validation and test songs.

The suspects must be real annotator mistakes far more often than a random song is, and
unlearning them must not lose test accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import require_module

require_module("torch")

from labelmend.repair import find_harmful_examples, make_classifier, set_torch_threads, unlearn  # noqa: E402

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
set_torch_threads(1)


@pytest.fixture(scope="module")
def music(shared_data):
    root = shared_data / "music-genre" / "data" / "Music"
    gold = pd.read_csv(root / "music_genre_gold.csv")
    test = pd.read_csv(root / "music_genre_test.csv")
    answers = pd.read_csv(root / "music_genre_mturk.csv", usecols=["id", "annotator", "class"])
    classes = sorted(gold["class"].unique())
    code = {name: i for i, name in enumerate(classes)}
    columns = [c for c in gold.columns if c.startswith("feature")]
    first_answer = answers.groupby("id", sort=True).head(1).set_index("id")["class"]
    order = np.random.default_rng(0).permutation(len(gold))
    train, val = gold.iloc[order[200:]], gold.iloc[order[:200]]
    given = train["id"].map(first_answer).map(code).to_numpy(np.intp)
    return {
        "train": (train[columns].to_numpy(float), given),
        "is_mistake": given != train["class"].map(code).to_numpy(np.intp),
        "val": (val[columns].to_numpy(float), val["class"].map(code).to_numpy(np.intp)),
        "test": (test[columns].to_numpy(float), test["class"].map(code).to_numpy(np.intp)),
    }


def test_top_suspects_are_mostly_real_annotator_mistakes(music):
    train, val = music["train"], music["val"]
    model = make_classifier("linear", train[0], n_classes=10, weight_decay=1e-2).fit(*train)
    wrong = model.predict(val[0]) != val[1]
    scores = find_harmful_examples(model, train, (val[0][wrong], val[1][wrong]))
    top = np.argsort(-scores)[:50]
    base_rate = music["is_mistake"].mean()
    assert 0.2 < base_rate < 0.7  # single crowd annotators are often wrong
    assert music["is_mistake"][top].mean() > min(0.95, base_rate + 0.25)
    repaired = unlearn(model, train, top)
    test_x, test_y = music["test"]
    before = np.mean(model.predict(test_x) == test_y)
    after = np.mean(repaired.predict(test_x) == test_y)
    assert after >= before - 0.01

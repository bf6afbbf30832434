"""``labelmend repair`` through typer's CliRunner: outputs, and one clear line on bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import require_module

torch = require_module("torch")

from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from labelmend.cli.app import app  # noqa: E402
from labelmend.repair import (  # noqa: E402
    REPORT_KEYS,
    NetworkClassifier,
    load_model,
    make_classifier,
    save_model,
    set_torch_threads,
)

set_torch_threads(1)
runner = CliRunner()
N_TRAIN = 120


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(3, 4))
    true = rng.integers(3, size=300)
    features = centres[true] + rng.normal(size=(300, 4))
    labels = true.copy()
    labels[:12] = (labels[:12] + 1) % 3  # noisy training labels
    np.save(tmp_path / "train_x.npy", features[:N_TRAIN])
    np.save(tmp_path / "train_y.npy", labels[:N_TRAIN])
    pd.DataFrame(features[N_TRAIN:220], columns=[f"f{i}" for i in range(4)]).to_csv(
        tmp_path / "val_x.csv", index=False
    )
    pd.DataFrame({"label": true[N_TRAIN:220]}).to_csv(tmp_path / "val_y.csv", index=False)
    np.save(tmp_path / "test_x.npy", features[220:])
    np.save(tmp_path / "test_y.npy", true[220:])
    return tmp_path


def save_network(folder, width, n_classes=3):
    """A small network trained on the folder's training files, saved whole with
    ``torch.save(module, path)`` as a user would; returns its path."""
    features, labels = np.load(folder / "train_x.npy"), np.load(folder / "train_y.npy")
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(width, 16), nn.Tanh(), nn.Linear(16, n_classes))
    rows = TensorDataset(torch.tensor(features, dtype=torch.float32), torch.as_tensor(labels))
    generator = torch.Generator().manual_seed(0)
    network = NetworkClassifier(module, n_classes=n_classes, epochs=40)
    network.fit(DataLoader(rows, batch_size=16, shuffle=True, generator=generator))
    torch.save(network.module, folder / "net.pt")
    return folder / "net.pt"


def predict_saved(path, features):
    module = torch.load(path, weights_only=False)
    with torch.no_grad():
        return module(torch.tensor(features, dtype=torch.float32)).argmax(1).numpy()


def arguments(files, *extra):
    return [
        "repair",
        "run",
        "--train-features",
        str(files / "train_x.npy"),
        "--train-labels",
        str(files / "train_y.npy"),
        "--val-features",
        str(files / "val_x.csv"),
        "--val-labels",
        str(files / "val_y.csv"),
        "--out",
        str(files / "out"),
        *extra,
    ]


@pytest.mark.slow
def test_repair_writes_suspects_report_model_and_plot(files):
    result = runner.invoke(
        app,
        arguments(
            files,
            "--test-features",
            str(files / "test_x.npy"),
            "--test-labels",
            str(files / "test_y.npy"),
            "--budget",
            "12",
        ),
    )
    assert result.exit_code == 0, result.output
    assert "Repair: 12 of 120 training examples unlearned" in result.output
    assert "output layer" not in result.output  # a head: nothing frozen
    assert "test accuracy" in result.output
    out = files / "out"
    suspects = pd.read_csv(out / "suspects.csv")
    assert suspects.columns.tolist() == ["index", "score", "removed"]
    assert suspects["index"].tolist() == list(range(N_TRAIN))
    assert suspects["removed"].sum() == 12
    top = suspects.nlargest(12, "score")
    assert top["removed"].all()
    report = json.loads((out / "report.json").read_text())
    assert set(REPORT_KEYS) <= set(report)
    assert report["k_removed"] == 12
    queue = pd.read_csv(out / "relabel_queue.csv")
    assert queue["rank"].tolist() == list(range(1, N_TRAIN + 1))
    assert (out / "model.pt").is_file()
    assert (out / "repair.png").read_bytes()[:4] == b"\x89PNG"
    page = (out / "report.html").read_text()
    assert 'data-key="k_removed"><div class="value">12<' in page
    for stem, row in (("test_accuracy", "test accuracy"), ("heldout_accuracy", "held-out")):
        cells = f"<td>{row}" + (" validation accuracy" if stem == "heldout_accuracy" else "")
        expected = "".join(
            f'<td class="num">{report[f"{stem}_{which}"]:.3f}</td>'
            for which in ("before", "after", "oracle")
        )
        assert f"{cells}</td>{expected}" in page


def test_repair_chooses_k_and_accepts_a_trained_model_file(files):
    features, labels = np.load(files / "train_x.npy"), np.load(files / "train_y.npy")
    model = make_classifier("linear", features, n_classes=3).fit(features, labels)
    path = save_model(model, files / "trained.pt")
    result = runner.invoke(app, arguments(files, "--model", str(path), "--method", "tracin"))
    assert result.exit_code == 0, result.output
    report = json.loads((files / "out" / "report.json").read_text())
    suspects = pd.read_csv(files / "out" / "suspects.csv")
    k = report["k_removed"]
    assert k == suspects["removed"].sum()
    counts = (
        *("k_removed", "k_first_round", "k_readmitted", "rounds"),
        *("n_targeting_failures", "n_heldout_failures"),
    )
    assert {key: type(report[key]) for key in counts} == dict.fromkeys(counts, int)  # not 97.0
    # Round 1 removes the top-scored rows; later rounds add rows counted on the rows kept;
    # the rows a model trained on the rows kept gives their label come back.
    first, back = int(report["k_first_round"]), int(report["k_readmitted"])
    assert 0 < first <= k + back
    assert report["rounds"] >= 1
    assert suspects.nlargest(first, "score")["removed"].sum() >= first - back
    assert f"Repair: {k} of 120 training examples unlearned, {back} re-admitted" in result.output
    assert 0.7 * 12 <= k <= 1.3 * 12  # 12 flipped labels; k from the expected errors
    assert "test_accuracy_before" not in report


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("mismatch", "--train-features has 120 rows but --train-labels has 119"),
        ("negative", "--train-labels must lie in [0, K); found values from -1 to 2"),
        ("rare", "--train-labels have 1 row of class 3; k and p_error come from 5-fold"),
        ("outside", "--val-labels must lie in [0, 3)"),
        ("model", "cannot load a labelmend model"),
        ("budget", "--budget must be a whole number of training rows in [0, 120). Got 500."),
        ("nan", "--train-features hold NaN or infinite values in 1 rows"),
        ("width", "--train-features have 4 columns but the model expects 5"),
        ("outputs", "The model has 4 outputs but --classes gives 3 names"),
        ("classes", "--train-labels must lie in [0, 2); found values from 0 to 2 — --classes"),
        ("no_failures", "The model gets all 3 targeting validation rows right"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_1(files, change, message):
    extra: list[str] = []
    features, labels = np.load(files / "train_x.npy"), np.load(files / "train_y.npy")
    if change == "mismatch":
        np.save(files / "train_y.npy", labels[:-1])
    elif change == "negative":
        np.save(files / "train_y.npy", np.r_[-1, labels[1:]])
    elif change == "rare":  # a stray label 3 among classes 0-2
        np.save(files / "train_y.npy", np.r_[3, labels[1:]])
    elif change == "outside":
        pd.DataFrame({"label": np.full(100, 5)}).to_csv(files / "val_y.csv", index=False)
    elif change == "model":
        (files / "broken.pt").write_text("not a model")
        extra = ["--model", str(files / "broken.pt")]
    elif change == "budget":
        extra = ["--budget", "500"]
    elif change == "nan":
        features[7, 2] = np.nan
        np.save(files / "train_x.npy", features)
    elif change == "width":  # a model trained on 5 columns: the files' shape is wrong for it
        wide = np.c_[features, features[:, :1]]
        save_model(make_classifier("linear", wide, n_classes=3).fit(wide, labels), files / "w.pt")
        extra = ["--model", str(files / "w.pt")]
    elif change == "outputs":  # a 4-class model for the 3 classes named
        four = make_classifier("linear", features, n_classes=4).fit(features, labels)
        save_model(four, files / "four.pt")
        extra = ["--model", str(files / "four.pt"), "--classes", "a,b,c"]
    elif change == "classes":
        extra = ["--classes", "a,b"]
    else:  # five validation rows the model gets right: nothing to repair
        val = pd.read_csv(files / "val_x.csv")
        model = make_classifier("linear", features, n_classes=3).fit(features, labels)
        right = np.flatnonzero(
            model.predict(val.to_numpy()) == pd.read_csv(files / "val_y.csv")["label"]
        )
        val.iloc[right[:5]].to_csv(files / "val_x.csv", index=False)
        pd.read_csv(files / "val_y.csv").iloc[right[:5]].to_csv(files / "val_y.csv", index=False)
        save_model(model, files / "right.pt")
        extra = ["--model", str(files / "right.pt")]
    result = runner.invoke(app, arguments(files, *extra))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (files / "out").exists()


def test_test_features_without_test_labels_is_a_usage_error_naming_both_flags(files):
    for given in ("--test-features", "--test-labels"):
        other = "test_y.npy" if given == "--test-labels" else "test_x.npy"
        result = runner.invoke(app, arguments(files, given, str(files / other)))
        assert result.exit_code == 2, result.output
        assert result.output.splitlines()[0] == "Usage: labelmend repair run [OPTIONS]"
        assert result.output.splitlines()[-1] == (
            "Error: --test-features and --test-labels go together: give both or neither."
        )
        assert not (files / "out").exists()


def test_repair_takes_a_pickled_sklearn_model_and_writes_one_back(files):
    import joblib
    from sklearn.linear_model import LogisticRegression

    features, labels = np.load(files / "train_x.npy"), np.load(files / "train_y.npy")
    joblib.dump(LogisticRegression(C=0.5).fit(features, labels), files / "lr.joblib")
    result = runner.invoke(app, arguments(files, "--model", str(files / "lr.joblib")))
    assert result.exit_code == 0, result.output
    repaired = joblib.load(files / "out" / "model.joblib")
    assert isinstance(repaired, LogisticRegression)
    assert repaired.coef_.shape == (3, 4)
    joblib.dump({"not": "a model"}, files / "dict.joblib")
    result = runner.invoke(app, arguments(files, "--model", str(files / "dict.joblib")))
    assert result.exit_code == 1
    assert "expected a fitted LogisticRegression" in result.output


def test_repair_takes_a_saved_network_and_writes_it_back_with_its_output_layer_repaired(files):
    path = save_network(files, width=4)
    original = torch.load(path, weights_only=False)
    result = runner.invoke(
        app,
        arguments(
            files,
            "--model",
            str(path),
            "--device",
            "cpu",
            "--budget",
            "12",
            "--test-features",
            str(files / "test_x.npy"),
            "--test-labels",
            str(files / "test_y.npy"),
        ),
    )
    assert result.exit_code == 0, result.output
    assert "taken through its output layer over the body's features" in result.output
    out = files / "out"
    suspects = pd.read_csv(out / "suspects.csv")
    assert suspects["removed"].sum() == 12
    assert suspects.loc[suspects["removed"], "index"].lt(12).sum() >= 9  # rows 0-11 flipped
    repaired = torch.load(out / "model.pt", weights_only=False)
    assert isinstance(repaired, nn.Sequential)
    torch.testing.assert_close(repaired[0].weight, original[0].weight)  # the body is frozen
    assert not torch.equal(repaired[2].weight, original[2].weight)
    # The file written is the repaired model: its predictions are the queue's suggestions.
    queue = pd.read_csv(out / "relabel_queue.csv").sort_values("sample_id")
    train_x = np.load(files / "train_x.npy")
    assert queue["suggested_label"].tolist() == predict_saved(out / "model.pt", train_x).tolist()
    report = json.loads((out / "report.json").read_text())
    test_x, test_y = np.load(files / "test_x.npy"), np.load(files / "test_y.npy")
    assert report["test_accuracy_before"] == np.mean(predict_saved(path, test_x) == test_y)
    assert report["test_accuracy_after"] == np.mean(
        predict_saved(out / "model.pt", test_x) == test_y
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
@pytest.mark.parametrize("command", ["run", "analyze"])
def test_a_device_this_machine_lacks_is_one_line_exit_1_and_writes_nothing(files, command):
    path = save_network(files, width=4)
    extra = ["--model", str(path), "--device", "cuda"]
    given = arguments(files, *extra)
    given[1] = command
    result = runner.invoke(app, given)
    assert result.exit_code == 1
    assert "Device 'cuda' is not available: this machine has 0 CUDA device(s)" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (files / "out").exists()
    heads = runner.invoke(app, arguments(files, "--model", "linear", "--device", "cuda"))
    assert heads.exit_code == 1
    assert "--device 'cuda' is for a saved network" in heads.output
    assert not (files / "out").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("outputs", "The model has 3 outputs but --classes gives 2 names"),
        (
            "width",
            "Error: --train-features hold 120 rows of 4 columns: The network cannot take "
            "inputs of shape (120, 4)",
        ),
        (  # the training rows fit the network; the validation file has a column more
            "val_width",
            "Error: --val-features hold 100 rows of 5 columns: The network cannot take "
            "inputs of shape (100, 5)",
        ),
        ("nan", "--train-features hold NaN or infinite values in 1 rows"),
        ("pickle", "holds a LogisticRegression; expected a labelmend model or an nn.Module"),
    ],
)
def test_bad_input_for_a_saved_network_is_one_line_exit_1(files, change, message):
    from sklearn.linear_model import LogisticRegression

    path = save_network(files, width=4)
    extra = ["--model", str(path)]
    if change == "outputs":
        extra += ["--classes", "a,b"]
    elif change == "width":  # a network for 5 columns; the files have 4
        torch.save(nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)), path)
    elif change == "val_width":
        val = pd.read_csv(files / "val_x.csv")
        val.assign(f4=val["f0"]).to_csv(files / "val_x.csv", index=False)
    elif change == "nan":
        features = np.load(files / "train_x.npy")
        features[3, 1] = np.nan
        np.save(files / "train_x.npy", features)
    else:
        torch.save(LogisticRegression(), path)
    result = runner.invoke(app, arguments(files, *extra))
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (files / "out").exists()


@pytest.fixture
def typed(tmp_path):
    """Training labels flipped to class 1 in two regions (blob 0 and blob 2, upper half):
    validation failures of two kinds."""
    rng = np.random.default_rng(0)
    centres = np.array([[-4.0, 0.0], [0.0, 4.0], [4.0, 0.0]])
    true = rng.integers(3, size=900)
    features = centres[true] + rng.normal(scale=1.2, size=(900, 2))
    given = true.copy()
    given[(true != 1) & (features[:, 1] > 0)] = 1
    np.save(tmp_path / "train_x.npy", features[:500])
    np.save(tmp_path / "train_y.npy", given[:500])
    np.save(tmp_path / "train_flipped.npy", given[:500] != true[:500])  # for checks only
    np.save(tmp_path / "val_x.npy", features[500:])
    np.save(tmp_path / "val_y.npy", true[500:])
    model = make_classifier("linear", features[:500], n_classes=3).fit(features[:500], given[:500])
    save_model(model, tmp_path / "model.pt")
    return tmp_path


def analyze_arguments(folder, *extra):
    return [
        "repair",
        "analyze",
        "--train-features",
        str(folder / "train_x.npy"),
        "--train-labels",
        str(folder / "train_y.npy"),
        "--val-features",
        str(folder / "val_x.npy"),
        "--val-labels",
        str(folder / "val_y.npy"),
        "--model",
        str(folder / "model.pt"),
        "--out",
        str(folder / "types"),
        *extra,
    ]


def test_analyze_writes_the_typing_table_and_heatmap(typed):
    result = runner.invoke(app, analyze_arguments(typed, "--types", "2"))
    assert result.exit_code == 0, result.output
    assert "2 failure types by gradients" in result.output
    assert "Random typing (baseline)" in result.output
    out = typed / "types"
    assignment = pd.read_csv(out / "types.csv")
    assert assignment.columns.tolist() == ["row", "type", "half"]
    val_x, val_y = np.load(typed / "val_x.npy"), np.load(typed / "val_y.npy")
    model = load_model(typed / "model.pt")
    wrong = np.flatnonzero(model.predict(val_x) != val_y)
    assert assignment["row"].tolist() == wrong.tolist()
    assert set(assignment["half"]) == {"tune", "held_out"}
    report = json.loads((out / "types.json").read_text())
    assert report["n_types"] == 2
    assert np.shape(report["transfer"]) == (2, 3)
    assert report["score"] > report["baseline_score"]
    assert (out / "failure_types.png").read_bytes()[:4] == b"\x89PNG"
    as_json = runner.invoke(app, analyze_arguments(typed, "--types", "2", "--json"))
    assert json.loads(as_json.stdout)["types"] == report["types"]


def test_analyze_repairs_each_type_on_its_own(typed):
    result = runner.invoke(
        app, analyze_arguments(typed, "--types", "2", "--repair", "--budget", "60")
    )
    assert result.exit_code == 0, result.output
    assert "Each type repaired on its own" in result.output
    table = pd.read_csv(typed / "types" / "types_repair.csv")
    assert table.columns.tolist() == ["type", "size", "k", "fixed", "others_fixed", "retention"]
    assert table["k"].tolist() == [60, 60]
    assert (table["fixed"] > table["others_fixed"]).all()  # two independent flipped regions
    report = json.loads((typed / "types" / "types.json").read_text())
    assert report["repair"] == table.to_dict("records")
    suspects = pd.read_csv(typed / "types" / "types_suspects.csv")
    assert suspects.columns.tolist() == ["type", "rank", "index", "score"]
    assert suspects.groupby("type").size().tolist() == [60, 60]
    # Each type's 30 most harmful rows are flipped rows, all from its own region (one
    # type left of class 1's centre, the other right): measured 30 of 30 for both.
    flipped, train_x = np.load(typed / "train_flipped.npy"), np.load(typed / "train_x.npy")
    top = suspects[suspects["rank"] <= 30]
    assert flipped[top["index"]].all()
    sides = top.groupby("type")["index"].apply(lambda rows: np.sign(train_x[rows, 0]).sum())
    assert sorted(sides.tolist()) == [-30, 30]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("one_class", "failure analysis needs failures of at least two classes"),
        ("few", "cannot make 40 types"),
        ("outputs", "The model has 3 outputs but --classes gives 2 names"),
        ("nan", "--val-features hold NaN or infinite values in 1 rows"),
        ("width", "--val-features have 2 columns but the model expects 3"),
        ("no_failures", "The model gets all 5 validation rows right: no failures to type"),
        ("budget", "--budget must be a whole number of training rows in [0, 500). Got 500."),
        ("all_wrong", "The model gets all 5 validation rows wrong: no previously correct rows"),
        ("rare", "--train-labels have 1 row of class 3; k and p_error come from 5-fold"),
    ],
)
def test_analyze_bad_input_is_one_line_exit_1_and_writes_nothing(typed, change, message):
    extra = ["--types", "2"]
    if change == "one_class":
        val_x = np.load(typed / "val_x.npy")
        np.save(typed / "val_y.npy", np.ones(len(val_x), dtype=int))
    elif change == "few":
        extra = ["--types", "40"]
    elif change == "budget":  # as many rows as the training set has, per type
        extra += ["--repair", "--budget", "500"]
    elif change == "outputs":
        extra += ["--classes", "a,b"]
        np.save(typed / "train_y.npy", np.load(typed / "train_y.npy") % 2)
        np.save(typed / "val_y.npy", np.load(typed / "val_y.npy") % 2)
    elif change == "nan":
        val_x = np.load(typed / "val_x.npy")
        val_x[7, 0] = np.nan
        np.save(typed / "val_x.npy", val_x)
    elif change == "width":  # a saved model for 3 columns; the files have 2
        train_x, train_y = np.load(typed / "train_x.npy"), np.load(typed / "train_y.npy")
        wide = np.c_[train_x, train_x[:, :1]]
        model = make_classifier("linear", wide, n_classes=3).fit(wide, train_y)
        save_model(model, typed / "model.pt")
    elif change == "rare":  # a stray label 3 among classes 0-2; k is chosen per type
        np.save(typed / "train_y.npy", np.r_[3, np.load(typed / "train_y.npy")[1:]])
        extra += ["--repair", "--model", "linear"]
    elif change == "all_wrong":  # compatibility is measured on rows the model gets right
        val_x, val_y = np.load(typed / "val_x.npy"), np.load(typed / "val_y.npy")
        wrong = np.flatnonzero(load_model(typed / "model.pt").predict(val_x) != val_y)[:5]
        np.save(typed / "val_x.npy", val_x[wrong])
        np.save(typed / "val_y.npy", val_y[wrong])
    else:
        val_x, val_y = np.load(typed / "val_x.npy"), np.load(typed / "val_y.npy")
        right = np.flatnonzero(load_model(typed / "model.pt").predict(val_x) == val_y)[:5]
        np.save(typed / "val_x.npy", val_x[right])
        np.save(typed / "val_y.npy", val_y[right])
    result = runner.invoke(app, analyze_arguments(typed, *extra))
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (typed / "types").exists()


def test_analyze_types_a_saved_networks_failures_and_repairs_each_type(typed):
    path = save_network(typed, width=2)
    given = analyze_arguments(typed, "--types", "2", "--repair", "--budget", "60")
    given[given.index("--model") + 1] = str(path)
    result = runner.invoke(app, [*given, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "2 failure types by gradients" in result.output
    assert "taken through its output layer over the body's features" in result.output
    val_x, val_y = np.load(typed / "val_x.npy"), np.load(typed / "val_y.npy")
    wrong = np.flatnonzero(predict_saved(path, val_x) != val_y)
    assignment = pd.read_csv(typed / "types" / "types.csv")
    assert assignment["row"].tolist() == wrong.tolist()
    table = pd.read_csv(typed / "types" / "types_repair.csv")
    assert (table["fixed"] > table["others_fixed"]).all()  # two independent flipped regions


def _disk_full_at_the_page(monkeypatch):
    """The disk fills up at the last file a command writes (report.html)."""
    import errno

    import labelmend.repair.files

    def full(page, out):
        raise OSError(errno.ENOSPC, "No space left on device", str(out))

    monkeypatch.setattr(labelmend.repair.files, "write_page", full)


@pytest.mark.parametrize("command", ["run", "analyze"])
def test_a_write_that_fails_leaves_no_output_behind(typed, command, monkeypatch):
    # run left suspects.csv, relabel_queue.csv, model.pt, repair.png and report.json in
    # --out; analyze left types.csv, failure_types.png and types.json.
    _disk_full_at_the_page(monkeypatch)
    given = analyze_arguments(typed, "--types", "2")
    if command == "run":
        given = [part for part in given if part not in ("--types", "2")]
        given[1] = "run"
        given += ["--budget", "5"]
    before = sorted(typed.iterdir())
    result = runner.invoke(app, given)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        f"Error: {typed}/types/report.html: No space left on device"
    ]
    assert sorted(typed.iterdir()) == before  # no --out, no hidden folder left


@pytest.mark.parametrize("command", ["run", "analyze"])
@pytest.mark.parametrize("out", ["model.pt", "model.pt/types"])
def test_an_out_that_cannot_be_a_directory_is_refused_before_reading_anything(
    typed, command, out, monkeypatch
):
    # The command ran to the end (minutes on real data) and then said
    # "Error: …/model.pt: File exists" (or "Not a directory").
    import labelmend.repair.files

    def never(*args, **kwargs):
        raise AssertionError("the inputs were read")

    monkeypatch.setattr(labelmend.repair.files, "load_features", never)
    given = analyze_arguments(typed)
    given[1] = command
    given[given.index("--out") + 1] = str(typed / out)
    result = runner.invoke(app, given)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        f"Error: --out {typed}/{out}: {typed}/model.pt is a file, not a directory."
    ]


@pytest.mark.parametrize("command", ["run", "analyze"])
def test_a_negative_seed_is_a_usage_error(typed, command):
    # It was a traceback ending "ValueError: expected non-negative integer", exit 1.
    given = analyze_arguments(typed, "--seed", "-1")
    given[1] = command
    result = runner.invoke(app, given)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        "Error: Invalid value for '--seed': Input should be greater than or equal to 0"
    )
    assert not (typed / "types").exists()


def test_the_metadata_embedding_without_metadata_is_a_usage_error_naming_both_flags(typed):
    # It said "embedding 'metadata' needs a metadata column (one value a failure).", exit 1,
    # after training the model: neither --embedding nor --metadata was named.
    result = runner.invoke(app, analyze_arguments(typed, "--embedding", "metadata"))
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[0] == "Usage: labelmend repair analyze [OPTIONS]"
    assert result.output.strip().splitlines()[-1] == (
        "Error: The --embedding chosen types failures by a column: give --metadata, a table "
        "with one row per validation row."
    )
    assert not (typed / "types").exists()


def _documented_report_keys() -> set[str]:
    """The keys docs/repair.md's report.json bullet names, `a_before/after/oracle` and
    `retention(_oracle)` spelt out."""
    page = (Path(__file__).parents[2] / "docs" / "repair.md").read_text()
    bullet = page.split("- `report.json` — ", 1)[1].split("\n- ", 1)[0]
    keys: set[str] = set()
    for name in re.findall(r"`([a-z_/()]+)`", bullet):
        if "(" in name:  # retention(_oracle)
            stem, suffix = name.rstrip(")").split("(")
            keys |= {stem, stem + suffix}
        elif "/" in name:  # test_accuracy_before/after/oracle
            first, *rest = name.split("/")
            stem = first.rsplit("_", 1)[0]
            keys |= {first, *(f"{stem}_{end}" for end in rest)}
        else:
            keys.add(name)
    return keys


@pytest.mark.slow
def test_the_docs_name_every_number_of_report_json(files):
    # The page left out heldout_accuracy_before/after/oracle and the failure counts.
    tests = (
        "--test-features",
        str(files / "test_x.npy"),
        "--test-labels",
        str(files / "test_y.npy"),
    )
    result = runner.invoke(app, arguments(files, *tests))
    assert result.exit_code == 0, result.output
    report = json.loads((files / "out" / "report.json").read_text())
    assert set(report) == _documented_report_keys()

"""Errors name what the user typed (issue 13 point 8): the CLI's flags and files, never
the library's Python parameter names, which Python callers keep seeing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cleaner import rank_samples
from labelmend.cli.app import app
from labelmend.errors import InputError, UsageError
from labelmend.jobs import simulate_files

runner = CliRunner()
RANK = ["rank", "--pred-probs", "{d}/probs.npy", "--labels", "{d}/labels.npy"]
SIMULATE = ["simulate", "--counts", "{d}/counts.npy", "--out", "{d}/out"]


@pytest.fixture
def files(tmp_path):
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    np.save(tmp_path / "probs.npy", probs)
    np.save(tmp_path / "labels.npy", np.array([0, 1, 0, 1]))
    np.save(tmp_path / "three.npy", np.array([0, 1, 0]))
    np.save(tmp_path / "empty.npy", np.zeros((0, 2)))
    np.save(tmp_path / "sums.npy", np.array([[0.9, 0.9], *probs[1:]]))
    np.save(tmp_path / "negative.npy", np.array([[1.1, -0.1], *probs[1:]]))
    np.save(tmp_path / "counts.npy", np.array([[3, 0], [0, 3], [2, 1], [1, 2]]))
    return tmp_path


def _fails(*args: str) -> str:
    """Run the real command; it must fail with one line and exit 1: that line."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named", "python_names"),
    [
        (
            ["rank", "--pred-probs", "{d}/empty.npy", "--labels", "{d}/labels.npy"],
            "--pred-probs is empty",
            ["pred_probs"],
        ),
        (
            ["rank", "--pred-probs", "{d}/sums.npy", "--labels", "{d}/labels.npy"],
            "Pass --normalize to rescale rows, or --from-logits for logits.",
            ["pred_probs", "normalize=True", "from_logits"],
        ),
        (
            ["rank", "--pred-probs", "{d}/negative.npy", "--labels", "{d}/labels.npy"],
            "(pass --from-logits for logits)",
            ["pred_probs", "from_logits"],
        ),
        (
            ["rank", "--pred-probs", "{d}/probs.npy", "--labels", "{d}/three.npy"],
            "--pred-probs has 4 rows but --labels has 3.",
            ["pred_probs", " labels has"],
        ),
        (
            [*RANK, "--classes", "a,b,c"],
            "--classes gives 3 names but --pred-probs has 2 columns.",
            ["pred_probs", "class names given"],
        ),
        (
            [*SIMULATE, "--selectors", "random,best"],
            "--selectors must be one of {",
            ["selector'", "run_study", "parameter of"],
        ),
        (
            [*SIMULATE, "--pred-probs", "{d}/empty.npy", "--selectors", "random"],
            "--pred-probs has 0 rows but --counts has 4.",
            ["pred_probs", " counts has"],
        ),
        (
            [*SIMULATE, "--selectors", "random", "--noise-rate", "1.5"],
            "--noise-rate must lie in [0, 1). Got 1.5.",
            ["noise_rate"],
        ),
        (
            [*SIMULATE, "--selectors", "random", "--temperature", "-1"],
            "--temperature must be positive. Got -1.0.",
            ["Error: temperature"],
        ),
        (
            [*SIMULATE, "--selectors", "default"],
            "give --pred-probs or --features (only ['oracle', 'random'] rank without one).",
            ["pred_probs", " features "],
        ),
    ],
)
def test_file_commands_name_their_flags(files, args, named, python_names):
    line = _fails(*[arg.format(d=files) for arg in args])
    assert named in line, line
    for python_name in python_names:
        assert python_name not in line, line
    assert not (files / "out").exists()  # nothing written


def test_import_names_the_file_and_leaves_the_store_unchanged(tmp_path, snapshot):
    db = f"sqlite:///{tmp_path / 'pets.db'}"
    pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"]}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    bad = tmp_path / "probs.csv"
    pd.DataFrame({"sample_id": ["a", "b"], "cat": [0.9, 0.2], "dog": [0.9, 0.8]}).to_csv(
        bad, index=False
    )
    for command in (["init", "pets", "--classes", "cat,dog"], ["import", "samples", str(tmp_path / "samples.csv")]):  # fmt: skip
        assert runner.invoke(app, [*command, "--db", db]).exit_code == 0
    before = snapshot(db)
    line = _fails("import", "predictions", str(bad), "--model", "m", "--db", db)
    assert f"{bad} rows must sum to 1" in line, line
    assert "pred_probs" not in line
    assert snapshot(db) == before


def test_python_callers_keep_the_parameter_names():
    with pytest.raises(InputError, match=r"^pred_probs is empty") as caught:
        rank_samples([], np.zeros((0, 2)))
    assert caught.value.inputs == ("pred_probs",)
    with pytest.raises(InputError, match=r"^pred_probs has 2 rows but labels has 3\.$"):
        rank_samples([0, 1, 0], np.array([[0.9, 0.1], [0.2, 0.8]]))


def test_python_callers_of_simulate_files_keep_the_parameter_names(files):
    counts, out = files / "counts.npy", files / "out"
    with pytest.raises(UsageError, match=r"^Give at most one of temperature and noise_rate\.$"):
        simulate_files(counts, out=out, temperature=2.0, noise_rate=0.1)
    with pytest.raises(UsageError, match=r"^Give budget \(a count of annotations\) or fraction "):
        simulate_files(counts, out=out, budget=2, fraction=0.5)
    with pytest.raises(InputError, match=r"^budget must be at least 1 annotation\. Got 0\.$"):
        simulate_files(counts, out=out, budget=0)
    with pytest.raises(InputError, match=r"^fraction must be above 0 \(a share of N\)\."):
        simulate_files(counts, out=out, fraction=0.0)
    assert not out.exists()


@pytest.fixture
def two_of_each(tmp_path):
    """A store with two datasets, and in 'pets' two models' predictions and two feature
    sets (so that none can be chosen for the caller), plus the files to import."""
    from labelmend import workflow
    from labelmend.storage import open_store
    from tests.synthetic import noisy_problem, scored_store

    url = f"sqlite:///{tmp_path / 'two.db'}"
    problem = noisy_problem(6, 2, noise=0.2)
    ids = [f"s{i}" for i in range(6)]
    table = pd.DataFrame(problem.probs, columns=["cat", "dog"]).assign(sample_id=ids)
    np.save(tmp_path / "features.npy", problem.probs)
    table.to_csv(tmp_path / "features.csv", index=False)
    with open_store(url) as session:
        scored_store(session, ["cat", "dog"], ids, problem.labels, problem.probs, model="a")
        workflow.import_predictions(session, table, model="b")
        for name in ("x", "y"):
            workflow.import_features(session, tmp_path / "features.csv", name=name)
        workflow.init_dataset(session, "birds", ["owl", "tit"])
    return url


def test_python_callers_of_the_store_read_parameter_names_not_flags(two_of_each, tmp_path):
    """Issue 13 point 8 for the store: what was `--dataset`, `--model`, `--features`,
    `--batch`, `--ids`, `--reference` and `--db` reaches Python callers as the
    parameter they pass; the CLI still names its flags (the test below)."""
    from labelmend import workflow
    from labelmend.errors import StorageError
    from labelmend.storage import open_store

    cases = [
        (
            lambda s: workflow.dataset_status(s),
            r"datasets \['birds', 'pets'\]; name one with dataset\.$",
        ),
        (
            lambda s: workflow.score(s, dataset="pets"),
            r"predictions \['a', 'b'\]; name one with model\.$",
        ),
        (
            lambda s: workflow.fit(s, dataset="pets"),
            r"sets \['x', 'y'\]; name one with features\.$",
        ),
        (
            lambda s: workflow.dataset_status(s, dataset="pets", batch_size=0),
            r"^batch_size must be at least 1\. Got 0\.$",
        ),
        (
            lambda s: workflow.import_features(s, tmp_path / "features.npy", dataset="pets"),
            r"no id column; pass ids, one per row",
        ),
        (
            lambda s: workflow.import_features(
                s, tmp_path / "features.csv", dataset="pets", ids="i.txt"
            ),
            r": ids is for \.npy files",
        ),
        (
            lambda s: workflow.import_features(
                s, tmp_path / "features.csv", dataset="pets", reference=True
            ),
            r": reference=True keeps features",
        ),
    ]
    for call, message in cases:
        with pytest.raises(InputError, match=message) as caught, open_store(two_of_each) as session:
            call(session)
        assert "--" not in str(caught.value), caught.value
    with pytest.raises(StorageError, match=r"or pass the url of a store\.$"):
        open_store(f"sqlite:///{tmp_path / 'none.db'}", create=False).__enter__()


def test_python_callers_of_the_file_functions_read_parameter_names_not_flags(files, tmp_path):
    from labelmend.cleaner import consensus
    from labelmend.io import load_labels, load_pred_probs
    from labelmend.jobs import rank_files
    from labelmend.report.page import write_page

    pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"], "w": [1, 2]}).to_csv(
        tmp_path / "labels.csv", index=False
    )
    pd.DataFrame({"key": ["a", "b"], "cat": [0.9, 0.2], "dog": [0.1, 0.8]}).to_csv(
        tmp_path / "probs.csv", index=False
    )
    pd.DataFrame({"label": ["cat", "dog"]}).to_csv(tmp_path / "names.csv", index=False)
    cases = [
        (lambda: load_labels(tmp_path / "labels.csv"), r"the label column named \(label_col\)"),
        (lambda: load_labels(tmp_path / "names.csv"), r"class names; give classes \(their names"),
        (
            lambda: load_pred_probs(tmp_path / "probs.csv"),
            r"name the id column with drop_columns\.$",
        ),
        (
            lambda: rank_files(files / "labels.npy", [tmp_path / "probs.csv"]),
            r"name the id column with id_col\.$",
        ),
        (lambda: write_page("<p>", tmp_path), r"^out is a directory; expected a file name"),
        (
            lambda: consensus(
                [0, 1],
                ["a", "a"],
                [1, 0],
                current_labels=[0, 1],
                n_classes=2,
                method="crowdlab",
                pred_probs=np.full((2, 2), 0.5),
            ),
            r"expert use method single-expert\.$",
        ),
    ]
    for call, message in cases:
        with pytest.raises(InputError, match=message) as caught:
            call()
        assert "--" not in str(caught.value), caught.value


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["status"], "name one with --dataset."),
        (["score", "-d", "pets"], "name one with --model."),
        (["fit", "-d", "pets"], "name one with --features."),
        (["import", "features", "{d}/features.npy", "-d", "pets"], "pass --ids, one per row"),
        (["report", "-d", "pets", "--out", "{d}"], "--out is a directory"),
        (["history", "s0", "--db", "sqlite:///{d}/none.db"], "or pass the --db of a store."),
    ],
)
def test_the_cli_names_its_flags_where_python_callers_read_parameters(
    two_of_each, tmp_path, args, named
):
    db = [] if "--db" in args else ["--db", two_of_each]
    line = _fails(*[arg.format(d=tmp_path) for arg in args], *db)
    assert named in line, line


def test_no_library_error_names_a_cli_flag():
    """Messages raised outside labelmend.cli name Python parameters (with ``inputs``, so
    that the CLI renames them to its flags), never a flag such as ``--dataset``; a
    command to run (```labelmend init NAME --classes A,B```) may."""
    import ast
    import re
    from pathlib import Path

    import labelmend

    root = Path(labelmend.__file__).parent
    flagged = []
    for path in sorted(root.rglob("*.py")):
        if "cli" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                texts = [n.value for n in ast.walk(node.exc) if isinstance(n, ast.Constant)]
                flagged += [
                    f"{path.relative_to(root)}:{node.lineno}: {text}"
                    for text in texts
                    if isinstance(text, str)
                    and re.search(r"(?<![\w-])--[a-z]", re.sub(r"`[^`]*`", "", text))
                ]
    assert not flagged, "\n".join(flagged)


def _commands(group, path=()):
    """(command path, click command) of every command below ``group`` (lazy ones loaded)."""
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        if hasattr(command, "list_commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_seed_option_refuses_a_negative_seed_as_a_usage_error():
    import typer.main

    seeds = {
        " ".join(path): param
        for path, command in _commands(typer.main.get_command(app))
        for param in command.params
        if param.name == "seed"
    }
    assert {"demo", "fit", "round", "repair run", "repair analyze"} <= set(seeds)
    for path, param in seeds.items():
        assert param.min == 0, path
    result = runner.invoke(app, ["demo", "--seed", "-1"])
    assert result.exit_code == 2
    assert "--seed" in result.output


def test_a_stored_name_that_is_also_a_flag_stays_as_stored(tmp_path):
    """The CLI renames a parameter to its flag, never a quoted value: the default feature
    set is called 'features', and `fit` listed the sets as ['big', '--features', 'fp']."""
    from labelmend import workflow
    from labelmend.storage import open_store
    from tests.synthetic import noisy_problem, scored_store

    url = f"sqlite:///{tmp_path / 'names.db'}"
    problem = noisy_problem(6, 2, noise=0.2)
    ids = [f"s{i}" for i in range(6)]
    table = pd.DataFrame(problem.probs, columns=["cat", "dog"]).assign(sample_id=ids)
    table.to_csv(tmp_path / "features.csv", index=False)
    with open_store(url) as session:
        scored_store(session, ["cat", "dog"], ids, problem.labels, problem.probs, model="model")
        workflow.import_predictions(session, table, model="b")
        for name in ("features", "x"):
            workflow.import_features(session, tmp_path / "features.csv", name=name)
    fit = _fails("fit", "--db", url)
    assert fit.endswith("Several feature sets ['features', 'x']; name one with --features."), fit
    score = _fails("score", "--db", url)
    assert "['b', 'model']" in score, score
    assert score.endswith("name one with --model."), score

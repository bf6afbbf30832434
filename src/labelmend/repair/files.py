"""Repair from files to files: read features, labels and a model, run, write the results.

:func:`repair_files` is what ``labelmend repair run`` calls, :func:`analyze_files` what
``labelmend repair analyze`` calls; the commands only parse options and print. Nothing is
written unless every input was read and the computation succeeded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend import fitting
from labelmend._validation import check_flag, check_labels
from labelmend.errors import InputError, UsageError
from labelmend.io import load_features, load_labels, read_column, staged_directory, write_table
from labelmend.repair.failures import (
    FailureTypes,
    TypeRepairs,
    analyze_failures,
    check_row_count,
    repair_types,
)
from labelmend.repair.identify import XY, as_classifier, check_dataset, relabel_queue
from labelmend.repair.k_selection import choose_k
from labelmend.repair.models import MODEL_KINDS, set_torch_threads
from labelmend.repair.networks import NetworkClassifier, last_linear, output_layer
from labelmend.repair.persistence import MODEL_FILES, read_model, write_model
from labelmend.repair.pipeline import (
    Progress,
    RepairResult,
    check_out_of_fold_rows,
    repair_model,
    trained_model,
)
from labelmend.repair.plot import plot_failure_types, plot_repair
from labelmend.repair.unlearning import DEFAULT_UNLEARN
from labelmend.report.page import write_page
from labelmend.report.repair import repair_page, types_page

#: Names of the files :func:`write_repair` writes, by key of its returned paths.
OUTPUT_FILES = {
    "suspects": "suspects.csv",
    "relabel_queue": "relabel_queue.csv",
    "report": "report.json",
    "plot": "repair.png",
}


@dataclass(frozen=True)
class RepairFiles:
    """A repair run from files: the result, the paths written by name, and whether the
    model was a saved network repaired through its output layer (the body frozen).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (30, 2)), rng.normal(3, 1, (30, 2))]  # N = 60, D = 2
    >>> np.save(folder / "x.npy", X); np.save(folder / "y.npy", np.repeat([0, 1], 30))
    >>> done = repair_files(folder / "x.npy", folder / "y.npy", folder / "x.npy",
    ...                     folder / "y.npy", folder / "out", method="loss", budget=2)
    >>> done.result.scores.shape, int(done.result.removed.sum()), done.through_output_layer
    ((60,), 2, False)
    >>> done.paths["suspects"].name, done.paths["report"].name
    ('suspects.csv', 'report.json')
    """

    result: RepairResult
    paths: dict[str, Path]
    through_output_layer: bool = False


def _read_pair(
    features: str | Path, labels: str | Path, column: str | None, classes: Sequence[str] | None
) -> XY:
    return load_features(features), load_labels(labels, label_col=column, classes=classes)


#: Rows a batch when a saved network reads feature rows (forward passes only).
NETWORK_BATCH = 256


def _model_and_sets(
    model: str | Path, names: list[str] | None, device: str, sets: dict[str, XY]
) -> tuple[Any, dict[str, XY], NetworkClassifier | None]:
    """The model to repair, the sets it reads and the saved network behind it (or None).

    A kind (``linear``, ``mlp``) or a head file is used as is, on the CPU. A saved
    network (an ``nn.Module`` file) is wrapped on ``device`` and seen through its output
    layer (:func:`~labelmend.repair.networks.output_layer`): every set becomes its
    penultimate features, computed there; the body stays frozen.
    """
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    if str(model) not in MODEL_KINDS and Path(model).suffix.lower() not in MODEL_FILES:
        raise InputError(
            f"model must be one of {list(MODEL_KINDS)} or a model file "
            f"({', '.join(MODEL_FILES)}). Got {str(model)!r}.",
            inputs=("model",),
        )
    chosen: Any = model if str(model) in MODEL_KINDS else read_model(Path(model))
    labels = {name: pair[1] for name, pair in sets.items() if name != "test"}
    if not isinstance(chosen, nn.Module):
        if str(device) != "cpu":
            raise InputError(
                f"device {device!r} is for a saved network (an nn.Module file); heads "
                "('linear', 'mlp', a labelmend .pt, LogisticRegression) run on the CPU.",
                inputs=("device",),
            )
        n_train = len(sets["train"][1])
        outputs = None if isinstance(chosen, str) else as_classifier(chosen, n_train).n_classes
        _check_classes(names, outputs, **labels)
        return chosen, sets, None
    outputs = last_linear(chosen).out_features
    _check_classes(names, outputs, **labels)
    network = NetworkClassifier(chosen, n_classes=outputs, device=device)
    dtype = next(chosen.parameters()).dtype
    rows: dict[str, XY] = {}
    for name, pair in sets.items():
        features, targets = check_dataset(name, pair, network.head())
        dataset = TensorDataset(features.to(dtype), targets.to(torch.int64))
        try:
            _, [rows[name]] = output_layer(network, DataLoader(dataset, batch_size=NETWORK_BATCH))
        except InputError as exc:  # the network refused the rows: say which file they are
            n_rows, n_columns = features.shape
            raise InputError(
                f"{name} features hold {n_rows} rows of {n_columns} columns: {exc}",
                inputs=(f"{name} features",),
            ) from exc
    return network.head(), rows, network


def _check_classes(names: list[str] | None, n_outputs: int | None, **label_sets: Any) -> None:
    """With class names given: the model has one output per name (``n_outputs`` None: the
    model is built here) and every label set lies in [0, number of names)."""
    if names is None:
        return
    if n_outputs is not None and n_outputs != len(names):
        raise InputError(
            f"The model has {n_outputs} outputs but classes gives {len(names)} names.",
            inputs=("classes",),
        )
    for name, labels in label_sets.items():
        try:
            check_labels(labels, n_classes=len(names))
        except InputError as exc:
            stated = exc.renamed({"labels": f"{name} labels"}).rstrip(".")
            raise InputError(
                f"{stated} — classes gives {len(names)} names.",
                inputs=(f"{name} labels", "classes"),
            ) from exc


def repair_files(
    train_features: str | Path,
    train_labels: str | Path,
    val_features: str | Path,
    val_labels: str | Path,
    out: str | Path,
    *,
    test_features: str | Path | None = None,
    test_labels: str | Path | None = None,
    model: str | Path = "linear",
    method: str = "default",
    unlearn_method: str = DEFAULT_UNLEARN,
    budget: int | None = None,
    classes: Sequence[str] | None = None,
    label_col: str | None = None,
    random_state: int = 0,
    threads: int = 1,
    device: str = "cpu",
    progress: Progress | None = None,
) -> RepairFiles:
    """Read the sets, run :func:`~labelmend.repair.pipeline.repair_model`, write the outputs.

    Parameters
    ----------
    train_features, train_labels : paths
        Features (N, D) (``.npy``, ``.csv``, ``.parquet``) and possibly noisy labels (N,).
    val_features, val_labels : paths
        Correctly labelled validation rows (M, D), (M,).
    out : path
        Directory for the outputs (see :func:`write_repair`); created only on success.
    test_features, test_labels : paths, optional
        Both or neither.
    model : "linear", "mlp" or a path to a trained model (``.pt``, ``.joblib``, ``.pkl``)
        (:func:`~labelmend.repair.persistence.read_model`). A whole network saved with
        ``torch.save(module, path)`` must take the feature rows (B, D) (an image network
        starts with ``nn.Unflatten(1, (C, H, W))``); it is repaired through its output
        layer over its penultimate features, the body frozen: scores, unlearning and the
        retrained reference are of that layer, and the file written is the network with
        the repaired output layer.
    method, unlearn_method, budget, random_state
        As in :func:`~labelmend.repair.pipeline.repair_model`.
    classes : class names in order, optional (labels given as names)
    label_col : the label column of label tables, optional
    threads : torch's intra-op threads (small heads: 1)
    device : ``cpu``, ``cuda``, ``cuda:N`` or ``mps``: where a saved network's forward
        passes run (one clear error when this machine lacks it); heads run on the CPU
    progress : callable ``(stage, done, total)``, optional

    Returns
    -------
    RepairFiles

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(4, 1, (60, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(60, int)]
    >>> np.save(folder / "x.npy", X); np.save(folder / "y.npy", y)
    >>> done = repair_files(folder / "x.npy", folder / "y.npy", folder / "x.npy",
    ...                     folder / "y.npy", folder / "out", method="loss", budget=3)
    >>> sorted(path.name for path in done.paths.values())
    ['model.pt', 'relabel_queue.csv', 'repair.png', 'report.html', 'report.json', 'suspects.csv']
    """
    if (test_features is None) != (test_labels is None):
        raise UsageError(
            "test_features and test_labels go together: give both or neither.",
            inputs=("test_features", "test_labels"),
        )
    set_torch_threads(threads)
    names = list(classes) if classes else None
    with staged_directory(out) as staging:  # --out checked first, written all or nothing
        sets = {
            "train": _read_pair(train_features, train_labels, label_col, names),
            "validation": _read_pair(val_features, val_labels, label_col, names),
        }
        if test_features is not None and test_labels is not None:
            sets["test"] = _read_pair(test_features, test_labels, label_col, names)
        chosen, sets, network = _model_and_sets(model, names, device, sets)
        result = repair_model(
            sets["train"],
            sets["validation"],
            model=chosen,
            test=sets.get("test"),
            method=method,
            unlearn_method=unlearn_method,
            budget=budget,
            random_state=random_state,
            progress=progress,
        )
        paths = write_repair(result, staging, train=sets["train"], network=network)
    paths = {key: Path(out) / path.name for key, path in paths.items()}
    return RepairFiles(result, paths, through_output_layer=network is not None)


def write_repair(
    result: RepairResult,
    directory: str | Path,
    *,
    train: XY,
    network: NetworkClassifier | None = None,
) -> dict[str, Path]:
    """Write ``suspects.csv``, ``relabel_queue.csv``, ``report.json``, the repaired model
    (``model.pt`` or ``model.joblib``), ``repair.png`` and the page ``report.html``
    (:mod:`labelmend.report.repair`) into ``directory``.

    With ``network``, the result is of its output layer (``train``: penultimate
    features): the model written is the network with the repaired output layer.

    ``suspects.csv`` has one row per training example in input order: ``index``,
    ``score`` (higher = more harmful) and ``removed``. ``relabel_queue.csv`` is
    :func:`~labelmend.repair.identify.relabel_queue` with the repaired model's predictions
    as suggested labels. Returns the paths by name.

    Examples
    --------
    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (40, 2)), rng.normal(3, 1, (40, 2))]
    >>> y = np.r_[np.zeros(40, int), np.ones(40, int)]
    >>> noisy = y.copy(); noisy[:4] = 1  # four flipped labels
    >>> result = repair_model((X, noisy), (X + 0.1, y), random_state=0)
    >>> sorted(write_repair(result, tempfile.mkdtemp(), train=(X, noisy)))
    ['model', 'page', 'plot', 'relabel_queue', 'report', 'suspects']
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    features, labels = train
    suggested = as_classifier(result.after, len(labels)).predict(np.asarray(features))
    suspects = pd.DataFrame(
        {"index": np.arange(len(result.scores)), "score": result.scores, "removed": result.removed}
    )
    queue = relabel_queue(result.scores, labels, suggested_labels=suggested, removed=result.removed)
    report = {key: (None if math.isnan(value) else value) for key, value in result.report.items()}
    paths = {
        "suspects": write_table(suspects, directory / OUTPUT_FILES["suspects"]),
        "relabel_queue": write_table(queue, directory / OUTPUT_FILES["relabel_queue"]),
        "model": write_model(
            result.after if network is None else network.clone().set_head(result.after),
            directory,
        ),
        "plot": plot_repair(result.report, directory / OUTPUT_FILES["plot"]),
        "report": directory / OUTPUT_FILES["report"],
    }
    paths["report"].write_text(json.dumps(report, indent=2) + "\n")
    paths["page"] = write_page(repair_page(result), directory / "report.html")
    return paths


@dataclass(frozen=True)
class AnalysisFiles:
    """A failure analysis from files: the typing, the failures' validation rows, the
    per-type repair (or None), the paths written, and whether the model was a saved
    network typed through its output layer.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)  # N = 200, D = 2
    >>> y[(X[:, 1] > 1)] = 0  # a corner the model will get wrong
    >>> V = rng.normal(size=(300, 2)); truth = (V[:, 0] > 0).astype(int)  # M = 300
    >>> for name, array in {"x": X, "y": y, "v": V, "t": truth}.items():
    ...     np.save(folder / f"{name}.npy", array)
    >>> done = analyze_files(folder / "x.npy", folder / "y.npy", folder / "v.npy", folder / "t.npy",
    ...                      folder / "out", embedding="features", n_types=2)
    >>> done.types.n_types, done.failure_rows.shape == done.types.assignment.shape
    (2, True)
    >>> done.repair is None, done.paths["types"].name
    (True, 'types.csv')
    """

    types: FailureTypes
    failure_rows: npt.NDArray[np.intp]
    repair: TypeRepairs | None
    paths: dict[str, Path]
    through_output_layer: bool = False


def analyze_files(
    train_features: str | Path,
    train_labels: str | Path,
    val_features: str | Path,
    val_labels: str | Path,
    out: str | Path,
    *,
    model: str | Path = "linear",
    embedding: str = "gradients",
    n_types: int | None = None,
    metadata: str | Path | None = None,
    metadata_column: str | None = None,
    classes: Sequence[str] | None = None,
    label_col: str | None = None,
    repair: bool = False,
    budget: int | None = None,
    random_state: int = 0,
    threads: int = 1,
    device: str = "cpu",
) -> AnalysisFiles:
    """Read the sets, type the validation failures, write the typing.

    The failures are the validation rows the model gets wrong; the rows it gets right
    measure compatibility. Writes ``types.csv`` (``row`` of the validation set, ``type``,
    ``half``: ``tune`` or ``held_out``), ``types.json`` (both tables, the transfer
    matrix, the scores) and ``failure_types.png`` (the heatmap) into ``out``; with
    ``repair``, also ``types_repair.csv`` and ``types_suspects.csv``
    (:func:`~labelmend.repair.failures.repair_types`: the per-type table, the training rows
    unlearned for each type).

    Parameters
    ----------
    train_features, train_labels, val_features, val_labels, out : paths
        As in :func:`repair_files`.
    model : "linear", "mlp" (trained here on the training set) or a trained model file
        (a saved network: typed through its output layer, see :func:`repair_files`)
    embedding, n_types, random_state
        As in :func:`~labelmend.repair.failures.analyze_failures`.
    metadata : path, optional
        A table with one row per validation row; ``metadata_column`` names the column
        (or it has one column). Needed by ``embedding="metadata"``.
    repair : bool
        Also repair each type on its own, unlearning ``budget`` rows per type (default:
        :func:`~labelmend.repair.k_selection.choose_k` on out-of-fold probabilities).
    classes, label_col, threads, device
        As in :func:`repair_files`.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
    >>> y[(X[:, 1] > 1)] = 0  # a corner the model will get wrong
    >>> V = rng.normal(size=(300, 2)); truth = (V[:, 0] > 0).astype(int)
    >>> for name, array in {"x": X, "y": y, "v": V, "t": truth}.items():
    ...     np.save(folder / f"{name}.npy", array)
    >>> done = analyze_files(folder / "x.npy", folder / "y.npy", folder / "v.npy", folder / "t.npy",
    ...                      folder / "out", embedding="features", n_types=2)
    >>> sorted(path.name for path in done.paths.values())
    ['failure_types.png', 'report.html', 'types.csv', 'types.json']
    """
    repair = check_flag("repair", repair)
    if embedding == "metadata" and metadata is None:
        raise UsageError(
            "The embedding chosen types failures by a column: give metadata, a table with "
            "one row per validation row.",
            inputs=("embedding", "metadata"),
        )
    with staged_directory(out) as staging:  # --out checked first, written all or nothing
        types, wrong, per_type, network = _type_failures(
            (train_features, train_labels),
            (val_features, val_labels),
            model=model,
            embedding=embedding,
            n_types=n_types,
            metadata=metadata,
            metadata_column=metadata_column,
            classes=classes,
            label_col=label_col,
            repair=repair,
            budget=budget,
            random_state=random_state,
            threads=threads,
            device=device,
        )
        paths = write_failure_types(types, wrong, staging, repair=per_type)
    paths = {key: Path(out) / path.name for key, path in paths.items()}
    return AnalysisFiles(types, wrong, per_type, paths, through_output_layer=network is not None)


def _type_failures(
    train_files: tuple[str | Path, str | Path],
    val_files: tuple[str | Path, str | Path],
    *,
    model: str | Path,
    embedding: str,
    n_types: int | None,
    metadata: str | Path | None,
    metadata_column: str | None,
    classes: Sequence[str] | None,
    label_col: str | None,
    repair: bool,
    budget: int | None,
    random_state: int,
    threads: int,
    device: str,
) -> tuple[FailureTypes, npt.NDArray[np.intp], TypeRepairs | None, NetworkClassifier | None]:
    """:func:`analyze_files` without the writing: the typing, the failures' validation
    rows, the per-type repair (or None) and the saved network behind the model (or None)."""
    set_torch_threads(threads)
    names = list(classes) if classes else None
    sets = {
        "train": _read_pair(*train_files, label_col, names),
        "validation": _read_pair(*val_files, label_col, names),
    }
    if budget is not None:  # before the analysis, which takes a while
        check_row_count("budget", budget, len(sets["train"][1]))
    values = (
        None
        if metadata is None
        else read_column(metadata, metadata_column, what="metadata", parameter="metadata_column")
    )
    chosen, sets, network = _model_and_sets(model, names, device, sets)
    train, validation = sets["train"], sets["validation"]
    classifier = as_classifier(
        trained_model(chosen, train, random_state=random_state), len(train[1])
    )
    if repair and budget is None:  # k per type from out-of-fold probabilities
        check_out_of_fold_rows(check_dataset("train", train, classifier)[1].numpy())
    val_x, val_y = (part.numpy() for part in check_dataset("validation", validation, classifier))
    wrong = np.flatnonzero(classifier.predict(val_x) != val_y)
    if len(wrong) == 0:
        raise InputError(
            f"The model gets all {len(val_y)} validation rows right: no failures to type."
        )
    right = np.setdiff1d(np.arange(len(val_y)), wrong)
    if len(right) == 0:
        raise InputError(
            f"The model gets all {len(val_y)} validation rows wrong: no previously correct "
            "rows to measure compatibility on."
        )
    if values is not None:
        if len(values) != len(val_y):
            raise InputError(
                f"{metadata} has {len(values)} rows but the validation set has {len(val_y)}."
            )
        values = values[wrong]
    types = analyze_failures(
        classifier,
        train,
        (val_x[wrong], val_y[wrong]),
        (val_x[right], val_y[right]),
        embedding=embedding,
        n_types=n_types,
        metadata=values,
        random_state=random_state,
    )
    per_type = None
    if repair:
        k = budget
        if k is None:
            probs = fitting.out_of_fold_probs(
                *train,
                model=lambda: classifier.clone(with_curvature=False),
                n_classes=classifier.n_classes,
                random_state=random_state,
            )
            k, _ = choose_k(train[1], probs)
        per_type = repair_types(
            classifier,
            train,
            (val_x[wrong], val_y[wrong]),
            (val_x[right], val_y[right]),
            types,
            k=k,
        )
    return types, wrong, per_type, network


def write_failure_types(
    types: FailureTypes,
    failure_rows: npt.NDArray[np.intp],
    directory: str | Path,
    *,
    repair: TypeRepairs | None = None,
) -> dict[str, Path]:
    """Write ``types.csv``, ``types.json``, ``failure_types.png`` and the page
    ``report.html`` (:func:`labelmend.report.repair.types_page`) into ``directory``.

    ``types.csv``: one row per failure — ``row`` (its validation row), ``type``, ``half``
    (``tune``: fine-tuned on; ``held_out``: measured). ``types.json``: the embedding, the
    score and the random baseline's, both per-type tables, the transfer matrix and the
    score of every number of types tried (and the per-type repair table). With ``repair``,
    ``types_repair.csv`` (one row per type) and ``types_suspects.csv`` (``type, rank,
    index, score``: the training rows unlearned for each type). Returns the paths by name.

    Examples
    --------
    >>> import tempfile
    >>> from labelmend.repair.models import make_classifier
    >>> rng = np.random.default_rng(2)
    >>> X = rng.normal(size=(160, 2)); y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)  # not linear
    >>> model = make_classifier("linear", X, n_classes=2).fit(X, y)
    >>> ok = model.predict(X) == y
    >>> types = analyze_failures(model, (X, y), (X[~ok], y[~ok]), (X[ok], y[ok]), n_types=2)
    >>> paths = write_failure_types(types, np.flatnonzero(~ok), tempfile.mkdtemp())
    >>> sorted(path.name for path in paths.values())
    ['failure_types.png', 'report.html', 'types.csv', 'types.json']
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    assignment = pd.DataFrame(
        {
            "row": failure_rows,
            "type": types.assignment,
            "half": np.where(types.halves, "tune", "held_out"),
        }
    )
    report = {
        "embedding": types.embedding,
        "n_types": types.n_types,
        "score": types.score,
        "baseline_score": types.baseline_score,
        "types": types.table.to_dict("records"),
        "baseline": types.baseline.to_dict("records"),
        "transfer": types.transfer.tolist(),
        "scores": types.scores.to_dict("records"),
    }
    paths = {
        "types": write_table(assignment, directory / "types.csv"),
        "heatmap": plot_failure_types(
            types.transfer,
            directory / "failure_types.png",
            title=f"Failure types by {types.embedding}",
        ),
        "report": directory / "types.json",
    }
    if repair is not None:
        paths["repair"] = write_table(repair.table, directory / "types_repair.csv")
        paths["suspects"] = write_table(repair.suspects, directory / "types_suspects.csv")
        report["repair"] = repair.table.to_dict("records")
    paths["report"].write_text(json.dumps(report, indent=2, default=float) + "\n")
    page = types_page(types, None if repair is None else repair.table)
    paths["page"] = write_page(page, directory / "report.html")
    return paths

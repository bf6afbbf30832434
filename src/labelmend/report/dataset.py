"""The dataset page: what the store knows about a dataset's labels, on one page.

:func:`gather` reads everything from the store (the key numbers come from
:func:`labelmend.workflow.dataset_status`, the function behind ``labelmend status``, and
are never recomputed here); the ``*_section`` functions turn those results into HTML and
touch neither the store nor the clock; :func:`write_dataset_report` is what
``labelmend report`` calls.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     write_dataset_report(f"{tmp}/r.html", db=f"sqlite:///{tmp}/none.db")
Traceback (most recent call last):
labelmend.errors.InputError: No store at sqlite:///.../none.db: the file does not exist. Create one with `labelmend init NAME --classes A,B`, or pass the db of a store.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from labelmend import workflow
from labelmend.cleaner import (
    DECIDED,
    ERRORS_REMAINING,
    EXPECTED_ERRORS,
    STOP_THRESHOLD,
    TRADE_OFF,
    NoiseModel,
    expected_errors_curve,
    fit_noise_model,
    select_batch,
    stopping_point,
)
from labelmend.errors import InputError
from labelmend.report import charts
from labelmend.report.page import Section, cards, escape, render_page, table, write_page
from labelmend.storage import read_store, reads
from labelmend.storage import repository as repo
from labelmend.storage.models import PredictionRun
from labelmend.storage.schema import QUEUE_COUNTS

#: Rows of the suspects table.
TOP_SUSPECTS = 25
#: Rows of the per-class table when a dataset has many classes (the most errors first).
MAX_CLASS_ROWS = 40
#: Metadata keys read as an image (local path or URL) and as text, first match wins.
IMAGE_KEYS = ("image", "image_path", "image_url", "img", "thumbnail", "file", "path", "url")
TEXT_KEYS = ("text", "snippet", "sentence", "caption", "content")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
#: Pixels of a thumbnail's longer side.
THUMBNAIL_PIXELS = 96
#: Characters of a text snippet.
SNIPPET_CHARS = 160
#: Shown in place of an image file that cannot be read.
PLACEHOLDER = (
    "data:image/svg+xml;base64,"
    + base64.b64encode(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48">'
        b'<rect width="48" height="48" fill="#eee"/><text x="24" y="28" font-size="9" '
        b'text-anchor="middle" fill="#888">missing</text></svg>'
    ).decode()
)


@dataclass(frozen=True)
class DatasetReport:
    """Everything the dataset page shows, read from the store.

    Attributes
    ----------
    status : the numbers ``labelmend status`` prints (the page's key numbers)
    run : dict with the score run's id, method, difficulty, created_at, model, sharded
    ranking : DataFrame sample_id, given_label (the label scored), p_error, rank
    candidates : DataFrame, the ranking without reviewed or queued samples (what the next
        queue would take, in order)
    samples : DataFrame id, external_id, given_label, current_label
    reviewed : set of sample keys an expert has looked at
    decided : Series, the probability that each decision is wrong, indexed by the keys of
        the samples an expert decided after the run's predictions (see
        :func:`labelmend.workflow.errors_remaining`)
    stale : set of keys of the samples whose p_error in the run judged a label an undo
        took back since (:func:`labelmend.workflow.stale_scores`): the errors remaining and
        the next queue leave them out
    noise : confident-learning noise model of the scored labels (None for a sharded run)
    queued : DataFrame from :func:`~labelmend.storage.repository.queued_scores`
    history : DataFrame from :func:`~labelmend.storage.repository.history_frame`
    annotations : DataFrame from :func:`~labelmend.storage.repository.annotation_frame`
    suspects : DataFrame from :func:`~labelmend.storage.repository.score_details`, the
        first :data:`TOP_SUSPECTS` candidates
    """

    status: workflow.DatasetStatus
    classes: list[str]
    run: dict[str, Any]
    ranking: pd.DataFrame
    candidates: pd.DataFrame
    samples: pd.DataFrame
    reviewed: set[int]
    decided: pd.Series
    stale: set[int]
    noise: NoiseModel | None
    queued: pd.DataFrame
    history: pd.DataFrame
    annotations: pd.DataFrame
    suspects: pd.DataFrame


def gather(
    session: Session, *, dataset: str | None = None, batch_size: int = 100, top: int = TOP_SUSPECTS
) -> DatasetReport:
    """Read a dataset's report from the store (reads only).

    Raises
    ------
    InputError
        Unknown dataset, or no score run yet (the message names the command to run).

    Examples
    --------
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = ["a", "b", "c", "d"]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat", "cat", "dog", "cat"]})
    >>> probs = pd.DataFrame({"sample_id": ids, "cat": [.9, .8, .1, .1], "dog": [.1, .2, .9, .9]})
    >>> with open_store("sqlite://") as session:
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     _ = workflow.import_predictions(session, probs, model="resnet")
    ...     _ = workflow.score(session)
    ...     report = gather(session, batch_size=2)
    >>> report.status.n_samples, report.run["model"], report.classes
    (4, 'resnet', ['cat', 'dog'])
    >>> print(report.status.errors)  # what ``labelmend status`` prints
    1.0 (95% interval 0.0–3.8)
    >>> report.suspects["external_id"].tolist()  # what the next queue takes, in order
    ['d', 'b', 'c', 'a']
    >>> with open_store("sqlite://") as session:
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     gather(session)
    Traceback (most recent call last):
    labelmend.errors.InputError: Dataset 'pets' has no scores yet, so there is nothing to report; run `labelmend import predictions` and `labelmend score` first.
    """
    status = workflow.dataset_status(session, dataset=dataset, batch_size=batch_size)
    found = repo.get_dataset(session, status.dataset)
    run = reads.latest_score_run(session, found)
    if run is None:
        raise InputError(
            f"Dataset {found.name!r} has no scores yet, so there is nothing to report; run "
            "`labelmend import predictions` and `labelmend score` first."
        )
    ranking = repo.load_ranking(session, run)
    reviewed = reads.reviewed_sample_ids(session, found)
    decided = workflow.decided_since_predictions(session, found, run)
    stale = workflow.stale_scores(session, found, run, decided)
    exclude = reviewed | reads.queued_sample_ids(session, found) | stale
    candidates = select_batch(ranking, len(ranking), exclude=exclude)
    noise = None
    model = None
    if run.prediction_run_id is not None:
        predictions = session.get_one(PredictionRun, run.prediction_run_id)
        model = predictions.model
        keys, probs = repo.load_probabilities(session, predictions, len(found.classes))
        scored = ranking.set_index("sample_id")["given_label"].reindex(keys).to_numpy()
        noise = fit_noise_model(scored.astype(np.intp), probs)
    return DatasetReport(
        status=status,
        classes=list(found.classes),
        run={
            "id": run.id,
            "method": run.method,
            "difficulty": run.difficulty,
            "created_at": run.created_at,
            "model": model,
            "sharded": run.source is not None,
        },
        ranking=ranking,
        candidates=candidates,
        samples=repo.sample_frame(session, found),
        reviewed=reviewed,
        decided=pd.Series(decided, dtype=float),
        stale=stale,
        noise=noise,
        queued=repo.queued_scores(session, found),
        history=repo.history_frame(session, found),
        annotations=repo.annotation_frame(session, found),
        suspects=repo.score_details(session, run, candidates["sample_id"].head(top).tolist()),
    )


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def summary_section(status: workflow.DatasetStatus, run: Mapping[str, Any]) -> Section:
    """Key numbers (from ``status``) and the runs they rest on."""
    numbers = cards(
        [
            ("n_samples", "samples", f"{status.n_samples:,}"),
            ("n_classes", "classes", f"{status.n_classes:,}"),
            ("decided", DECIDED, f"{status.decided:,}"),
            ("labels_changed", "labels changed so far", f"{status.labels_changed:,}"),
            (
                "errors",
                ERRORS_REMAINING
                + (
                    ""
                    if status.errors is None
                    else f" (95% interval {status.errors.low:,.1f}–{status.errors.high:,.1f})"
                ),
                _number(None if status.errors is None else status.errors.expected),
            ),
            (
                "next_batch_expected_errors",
                f"{EXPECTED_ERRORS} in the next {status.batch_size:,}",
                _number(status.next_batch_expected_errors),
            ),
        ]
    )
    model = run["model"] or "Parquet shards (no stored prediction run)"
    rests_on = (
        f'<p class="note">Scores: run {run["id"]} ({escape(run["method"])}, difficulty '
        f"{escape(run['difficulty'])}, {escape(run['created_at'])}), from model "
        f"<b>{escape(model)}</b>. The same numbers as <code>labelmend status</code>."
        + (
            f" {status.unscored:,} of {status.n_samples:,} samples have no score in this run "
            f"(imported after it); the {ERRORS_REMAINING} leave them out."
            if status.unscored
            else ""
        )
        + (
            f" {status.stale:,} of {status.n_samples:,} samples have a p_error in this run "
            "scored on a label <code>label undo</code> took back since; the "
            f"{ERRORS_REMAINING} and the next queue leave them out until "
            "<code>labelmend score</code> runs again."
            if status.stale
            else ""
        )
        + "</p>"
    )
    return Section("summary", "Summary", numbers + rests_on)


def class_table(report: DatasetReport) -> pd.DataFrame:
    """Per class (by the label scored): samples, estimated errors, errors remaining (the
    p_error of samples no expert decided, the decision's uncertainty for those decided,
    nothing for a stale score: they add up to the status's estimated label errors
    remaining),
    the noise matrix's estimated error rate, and labels changed so far (by given label).

    Sorted by estimated errors, most first.
    """
    k = len(report.classes)
    given = report.ranking["given_label"].to_numpy(dtype=np.intp)
    p_error = report.ranking["p_error"].to_numpy()
    decided_p_wrong = report.decided.reindex(report.ranking["sample_id"]).to_numpy()
    open_ = np.isnan(decided_p_wrong)
    still = np.where(open_, p_error, decided_p_wrong)
    still[report.ranking["sample_id"].isin(report.stale).to_numpy()] = 0.0
    samples = report.samples
    changed = samples["given_label"].to_numpy() != samples["current_label"].to_numpy()
    frame = pd.DataFrame(
        {
            "class": report.classes,
            "samples": np.bincount(given, minlength=k),
            "estimated errors": np.bincount(given, weights=p_error, minlength=k),
            "errors remaining": np.bincount(given, weights=still, minlength=k),
            "changed so far": np.bincount(
                samples["given_label"].to_numpy(dtype=np.intp)[changed], minlength=k
            ),
        }
    )
    if report.noise is not None:
        frame.insert(4, "noise rate", (1.0 - np.diagonal(report.noise.noise_matrix)).tolist())
    return frame.sort_values("estimated errors", ascending=False, kind="stable")


def noise_section(report: DatasetReport) -> Section:
    """The estimated noise matrix as a heatmap and the per-class table."""
    parts = []
    if report.noise is None:
        parts.append(
            '<p class="missing">This score run came from Parquet shards: its probabilities '
            "are not in the store, so no noise matrix is drawn.</p>"
        )
    else:
        parts.append(
            charts.heatmap(
                report.noise.noise_matrix,
                rows=report.classes,
                columns=report.classes,
                xlabel="true class (estimated)",
                ylabel="given label",
            )
        )
        parts.append(
            '<p class="note">P(given label | true class), estimated by confident learning '
            "from the model's probabilities and the labels that were scored.</p>"
        )
    per_class = class_table(report)
    if len(per_class) > MAX_CLASS_ROWS:
        parts.append(
            f'<p class="note">The {MAX_CLASS_ROWS} classes with most errors of '
            f"{len(per_class):,}.</p>"
        )
    parts.append(
        table(
            per_class.head(MAX_CLASS_ROWS),
            formats={"estimated errors": ",.1f", "errors remaining": ",.1f", "noise rate": ".1%"},
            key="per_class",
        )
    )
    return Section("noise", "Where the errors are", "".join(parts))


def reliability_table(queued: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """Estimated vs decided error rate of the samples experts decided, by p_error bin.

    ``queued`` as from :func:`~labelmend.storage.repository.queued_scores`; a sample
    counts as decided wrong when its label now differs from the label scored.
    """
    done = queued[queued["status"] == "resolved"]
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(done["p_error"], edges[1:-1]), 0, bins - 1)
    wrong = (done["current_label"] != done["scored_label"]).to_numpy()
    rows = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            rows.append(
                {
                    "p_error bin": f"{edges[b]:.1f}–{edges[b + 1]:.1f}",
                    "decided": int(inside.sum()),
                    "estimated error rate": float(done["p_error"].to_numpy()[inside].mean()),
                    "decided error rate": float(wrong[inside].mean()),
                }
            )
    return pd.DataFrame(
        rows, columns=["p_error bin", "decided", "estimated error rate", "decided error rate"]
    )


def p_error_section(report: DatasetReport) -> Section:
    """Histogram of p_error and, where experts decided, its reliability."""
    parts = [
        charts.histogram(
            report.ranking["p_error"].to_numpy(),
            bins=np.linspace(0.0, 1.0, 41),
            xlabel="p_error (estimated probability that the label is wrong)",
        )
    ]
    reliability = reliability_table(report.queued)
    if reliability.empty:
        parts.append(
            '<p class="missing">No decided samples yet, so no reliability check: queue '
            "samples (<code>labelmend queue create</code>) and record experts' answers.</p>"
        )
    else:
        parts.append(
            "<p>Samples experts decided, by the p_error they were queued with: "
            "estimated vs decided error rate.</p>"
        )
        parts.append(
            table(
                reliability,
                formats={"estimated error rate": ".1%", "decided error rate": ".1%"},
                key="reliability",
            )
        )
    return Section("p-error", "How sure the scores are", "".join(parts))


def budget_section(
    candidates: pd.DataFrame, status: workflow.DatasetStatus, *, threshold: float = STOP_THRESHOLD
) -> Section:
    """Expected errors found against samples reviewed next, with the stopping point."""
    if candidates.empty:
        return Section(
            "budget", "What more review buys", "<p>Every sample is reviewed or queued.</p>"
        )
    curve = expected_errors_curve(candidates)
    stop = stopping_point(curve, window=status.batch_size, threshold=threshold)
    found_at_stop = float(curve[stop - 1]) if stop > 0 else 0.0
    x, y = charts.thin(np.arange(1, curve.size + 1), curve)
    with charts.figure(6.5, 3.2) as (fig, axis):
        axis.plot(x, y, color=charts.ACCENT, lw=1.8, label=f"{EXPECTED_ERRORS} found")
        axis.plot(x, x, ls=":", color=charts.REFERENCE, lw=1, label="every sample an error")
        axis.set_ylim(0, float(curve[-1]) * 1.08 + 1)
        axis.axvline(stop, color=charts.SECOND, ls="--", lw=1.2, label=f"stop at {stop:,}")
        axis.set_xlabel("samples reviewed next (in queue order)")
        axis.set_ylabel(f"{EXPECTED_ERRORS} found")
        axis.legend(loc="lower right", fontsize=8)
        svg = charts.to_svg(fig)
    batch = min(status.batch_size, curve.size)
    numbers = cards(
        [
            (
                "curve_next_batch",
                f"{EXPECTED_ERRORS} in the next {batch:,}",
                f"{curve[batch - 1]:,.1f}",
            ),
            ("stop_at", "stop after (samples)", f"{stop:,}"),
            ("found_at_stop", f"{EXPECTED_ERRORS} found by then", f"{found_at_stop:,.1f}"),
        ]
    )
    note = (
        f'<p class="note">Stopping rule: stop where the next {status.batch_size:,} samples '
        f"hold fewer than {threshold:g} {EXPECTED_ERRORS} per sample. It aims at spending an "
        f"expert annotation while it fixes at least {TRADE_OFF:g} labels (measured on real "
        "annotator data in the simulator's documentation). Samples already reviewed or "
        "queued are left out, as a new queue would.</p>"
    )
    return Section("budget", "What more review buys", numbers + svg + note)


def queue_table(queued: pd.DataFrame) -> pd.DataFrame:
    """Per queue, in order: its item counts as ``queue list`` and ``status`` print them
    (:func:`labelmend.storage.reads.queue_counts`: items, open, pending, sent, annotated,
    resolved, skipped), and of the resolved items those whose label now differs from the
    label scored (``labels changed``; the others were confirmed)."""
    changed = (queued["status"] == "resolved") & (queued["current_label"] != queued["scored_label"])
    rows = []
    for name, items in queued.groupby("queue", sort=False):
        counts = reads.queue_counts(Counter(items["status"]))
        rows.append({"queue": name, **counts, "labels changed": int(changed[items.index].sum())})
    return pd.DataFrame(rows, columns=["queue", *QUEUE_COUNTS, "labels changed"])


def progress_section(queued: pd.DataFrame, history: pd.DataFrame) -> Section:
    """Per-queue outcome table and expert label changes over time."""
    if queued.empty and history.empty:
        return Section(
            "progress",
            "Progress so far",
            '<p class="missing">No queue and no label change yet: create one with '
            "<code>labelmend queue create</code>.</p>",
        )
    parts = []
    if not queued.empty:
        shown = dict.fromkeys([*QUEUE_COUNTS, "labels changed"], ",")  # counts: 1,234
        parts.append(table(queue_table(queued), formats=shown, key="queues"))
    # A decision that keeps the label it found is in the history too; only changes count.
    expert = history[history["old_label"] != history["new_label"]]
    if expert.empty:
        parts.append('<p class="note">No label changed by an expert yet.</p>')
    else:
        at = pd.to_datetime(expert["at"], utc=True, format="mixed")
        counts = expert.assign(at=at).groupby(["at", "source"]).size().unstack(fill_value=0)
        totals = counts.sum().astype(int)
        parts.append(
            '<p data-key="expert_changes">Label changes by experts: '
            + ", ".join(f"{n:,} by {escape(source)}" for source, n in totals.items())
            + f", of {len(history):,} decisions"
            + f" (from {at.min():%Y-%m-%d %H:%M} to {at.max():%Y-%m-%d %H:%M} UTC).</p>"
        )
        if len(counts) > 1:
            with charts.figure(6.5, 2.8) as (fig, axis):
                for source in counts.columns:
                    axis.step(
                        counts.index, counts[source].cumsum(), where="post", label=source, lw=1.6
                    )
                axis.set_ylim(0, None)
                axis.set_ylabel("label changes (cumulative)")
                axis.legend(loc="upper left", fontsize=8)
                charts.time_axis(axis)
                parts.append(charts.to_svg(fig))
    return Section("progress", "Progress so far", "".join(parts))


def agreement_tables(
    annotations: pd.DataFrame, samples: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per annotator: answers and agreement with the decided label; overall: samples with
    two or more answers and the fraction of those where all answers agree, and the
    agreement of pairs of answers on the same sample."""
    current = samples.set_index("id")["current_label"]
    decided = current.reindex(annotations["sample_id"]).to_numpy()
    per = (
        annotations.assign(agrees=annotations["label"].to_numpy() == decided)
        .groupby("annotator", sort=True)
        .agg(answers=("agrees", "size"), agree_with_decision=("agrees", "mean"))
        .reset_index()
        .rename(columns={"agree_with_decision": "agrees with decided label"})
    )
    votes = annotations.groupby(["sample_id", "label"]).size()
    per_sample = votes.groupby(level="sample_id")
    n = per_sample.sum()
    multi = n[n >= 2].index
    pairs_total = (n[multi] * (n[multi] - 1) / 2).sum()
    pairs_agree = (votes * (votes - 1) / 2).groupby(level="sample_id").sum()[multi].sum()
    overall = {
        "samples with 2+ answers": float(len(multi)),
        "unanimous": float((per_sample.size()[multi] == 1).mean()) if len(multi) else float("nan"),
        "pairwise agreement": float(pairs_agree / pairs_total) if pairs_total else float("nan"),
    }
    return per, overall


def agreement_section(report: DatasetReport) -> Section:
    """Annotator agreement from the stored answers."""
    if report.annotations.empty:
        return Section(
            "agreement",
            "Annotators",
            '<p class="missing">No answers stored yet: push a queue (<code>labelmend push</code>) '
            "and pull the answers (<code>labelmend pull</code>), or import them "
            "(<code>labelmend sync import</code>).</p>",
        )
    per, overall = agreement_tables(report.annotations, report.samples)
    numbers = cards(
        [
            (
                "multi_answered",
                "samples with 2+ answers",
                f"{overall['samples with 2+ answers']:,.0f}",
            ),
            ("unanimous", "of those, unanimous", _percent(overall["unanimous"])),
            ("pairwise_agreement", "pairwise agreement", _percent(overall["pairwise agreement"])),
        ]
    )
    return Section(
        "agreement",
        "Annotators",
        numbers
        + table(
            per, formats={"answers": ",", "agrees with decided label": ".1%"}, key="annotators"
        ),
    )


def _percent(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.1%}"


def thumbnail(meta: Mapping[str, Any] | None, *, root: Path) -> tuple[str, str | None]:
    """HTML for a sample's image or text, and the path of an image that could not be read.

    Local images (``root`` / relative path) are embedded as PNG thumbnails; a file that
    is missing or unreadable shows a placeholder; a URL is linked, never fetched (the page
    works offline).
    """
    meta = meta or {}
    for key in IMAGE_KEYS:
        value = meta.get(key)
        if not isinstance(value, str) or not value:
            continue
        if value.startswith(("http://", "https://")):
            return f'<a href="{escape(value)}">image (link)</a>', None
        if not value.lower().endswith(IMAGE_SUFFIXES):
            continue
        try:
            from PIL import Image

            with Image.open(root / value) as image:
                image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, format="PNG")
        except OSError:
            return f'<img class="thumb" src="{PLACEHOLDER}" alt="missing: {escape(value)}">', value
        data = base64.b64encode(buffer.getvalue()).decode()
        return f'<img class="thumb" src="data:image/png;base64,{data}" alt="{escape(value)}">', None
    for key in TEXT_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value:
            cut = value if len(value) <= SNIPPET_CHARS else value[:SNIPPET_CHARS] + "…"
            return escape(cut), None
    return "", None


def suspects_section(suspects: pd.DataFrame, classes: Sequence[str], *, root: Path) -> Section:
    """The samples a new queue would take first: labels, p_error, reason, thumbnail."""
    if suspects.empty:
        return Section("suspects", "Top suspects", "<p>Every sample is reviewed or queued.</p>")
    names = np.asarray(classes, dtype=object)
    shown = [thumbnail(meta, root=root) for meta in suspects["metadata"]]
    missing = [path for _, path in shown if path is not None]
    frame = pd.DataFrame(
        {
            "rank": suspects["rank"].to_numpy(),
            "id": suspects["external_id"].to_numpy(),
            "label": names[suspects["current_label"].to_numpy(dtype=np.intp)],
            "suggested": names[suspects["suggested_label"].to_numpy(dtype=np.intp)],
            "p_error": suspects["p_error"].to_numpy(),
            "reason": suspects["reason"].to_numpy(),
        }
    )
    raw: list[str] = []
    if any(html for html, _ in shown):
        frame["sample"] = [html for html, _ in shown]
        raw = ["sample"]
    note = ""
    if missing:
        note = (
            f'<p class="missing">{len(missing)} image file(s) not found under {escape(root)} '
            f"(first: {escape(missing[0])}); a placeholder stands in.</p>"
        )
    body = table(frame, formats={"p_error": ".3f"}, raw=raw, key="suspects")
    return Section("suspects", f"Top {len(frame)} suspects", note + body)


def dataset_page(report: DatasetReport, *, root: Path | None = None) -> str:
    """The whole dataset page as HTML (``root``: where relative image paths start).

    Examples
    --------
    >>> import re
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = ["a", "b", "c", "d"]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat", "cat", "dog", "cat"]})
    >>> probs = pd.DataFrame({"sample_id": ids, "cat": [.9, .8, .1, .1], "dog": [.1, .2, .9, .9]})
    >>> with open_store("sqlite://") as session:
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     _ = workflow.import_predictions(session, probs, model="resnet")
    ...     _ = workflow.score(session)
    ...     report = gather(session, batch_size=2)
    >>> page = dataset_page(report)
    >>> re.findall(r"<h2>([^<]*)</h2>", page)[-1], "<title>Labels of &#39;pets&#39;</title>" in page
    ('Top 4 suspects', True)
    >>> re.search(r'data-key="errors"><div class="value">([^<]*)<', page).group(1)
    '1.0'
    """
    sections = [
        summary_section(report.status, report.run),
        noise_section(report),
        p_error_section(report),
        budget_section(report.candidates, report.status),
        progress_section(report.queued, report.history),
        agreement_section(report),
        suspects_section(report.suspects, report.classes, root=root or Path.cwd()),
    ]
    return render_page(f"Labels of {report.status.dataset!r}", sections)


def write_dataset_report(
    out: str | Path,
    *,
    db: str | None = None,
    dataset: str | None = None,
    batch_size: int = 100,
    images: str | Path | None = None,
) -> Path:
    """Read a dataset from the store (read-only) and write its report to ``out``.

    ``images`` is the folder relative image paths in the samples' metadata start from
    (default: the working directory).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = ["a", "b", "c", "d"]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat", "cat", "dog", "cat"]})
    >>> probs = pd.DataFrame({"sample_id": ids, "cat": [.9, .8, .1, .1], "dog": [.1, .2, .9, .9]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     url = f"sqlite:///{tmp}/store.db"
    ...     with open_store(url) as session:
    ...         _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...         _ = workflow.import_samples(session, samples)
    ...         _ = workflow.import_predictions(session, probs, model="resnet")
    ...         _ = workflow.score(session)
    ...     path = write_dataset_report(f"{tmp}/report.html", db=url)
    ...     page = path.read_text(encoding="utf-8")
    >>> path.name, page.startswith("<!doctype html>"), "<h2>Top 4 suspects</h2>" in page
    ('report.html', True, True)
    """
    out = Path(out)
    if out.is_dir():
        raise InputError(
            "out is a directory; expected a file name such as report.html.", inputs=("out",)
        )
    with read_store(db, name="db") as session:
        report = gather(session, dataset=dataset, batch_size=batch_size)
    return write_page(dataset_page(report, root=Path(images) if images else None), out)

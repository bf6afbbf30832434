"""Report rendering: time and file size of the dataset page at 100k and 1M samples.

A SQLite store per size is built the way a user builds one (import samples and
predictions, score, queue 1,000, the expert answers, rescore). Then, medians of three
runs each:

- read: :func:`labelmend.report.dataset.gather` (the store reads, the noise model);
- draw: :func:`labelmend.report.dataset.dataset_page` (matplotlib SVG + the template);
- the peer: the same three data charts (p_error histogram, noise heatmap, budget curve)
  drawn with plotly and its offline bundle inlined (``include_plotlyjs=True``), the
  other way to make one page that opens without a network; skipped if plotly is not
  installed (``pip install plotly``).

The page must stay under 5 MB at 1M samples (summaries, not raw rows).

    python benchmarks/report.py            # 100k and 1M samples × 10 classes
    python benchmarks/report.py --quick    # 20k, a smoke test
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _synthetic import noisy_dataset  # noqa: E402
from labelmend import workflow  # noqa: E402
from labelmend.cleaner import expected_errors_curve  # noqa: E402
from labelmend.report import charts, dataset  # noqa: E402
from labelmend.storage import open_store, read_store  # noqa: E402

K = 10
QUEUE = 1_000
LIMIT_BYTES = 5_000_000
console = Console()


def build_store(url: str, n: int) -> None:
    """A store of n samples, scored, with one answered queue and a rescore."""
    labels, probs, true = noisy_dataset(n, K)
    classes = [f"c{k}" for k in range(K)]
    ids = pd.Series(np.arange(n)).map("s{:07d}".format)
    names = np.asarray(classes)
    predictions = pd.DataFrame(probs.astype(np.float64), columns=classes)
    predictions /= predictions.to_numpy().sum(axis=1, keepdims=True)
    predictions.insert(0, "sample_id", ids)
    with open_store(url) as session:
        workflow.init_dataset(session, "bench", classes)
        workflow.import_samples(session, pd.DataFrame({"sample_id": ids, "label": names[labels]}))
    with open_store(url) as session:
        workflow.import_predictions(session, predictions, model="synthetic")
    with open_store(url) as session:
        workflow.score(session)
        workflow.create_queue(session, "q", budget=QUEUE)
        items = workflow.queue_items(session, "q")
    truth = pd.Series(names[true], index=ids)
    answers = pd.DataFrame(
        {
            "id": items["id"],
            "label": truth.loc[items["id"]].to_numpy(),
            "annotator": "expert",
            "external_id": "a-" + items["id"],
        }
    )
    with open_store(url) as session:
        workflow.record_answers(session, "q", answers, tool="bench")
    with open_store(url) as session:
        workflow.score(session)


def median_seconds(function: Callable[[], Any], repeats: int = 3) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``repeats`` calls, and the last result (the machine
    is shared: CPU time is the steadier of the two)."""
    wall, cpu, result = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def plotly_page(report: dataset.DatasetReport) -> str:
    """The three data charts drawn with plotly, its bundle inlined (one offline page)."""
    import plotly.graph_objects as go

    p_error = report.ranking["p_error"].to_numpy()
    counts, edges = np.histogram(p_error, bins=np.linspace(0.0, 1.0, 41))
    curve = expected_errors_curve(report.candidates)
    x, y = charts.thin(np.arange(1, curve.size + 1), curve)
    figures = [
        go.Figure(go.Bar(x=edges[:-1], y=counts)),
        go.Figure(go.Heatmap(z=report.noise.noise_matrix if report.noise else [[0]])),
        go.Figure(go.Scatter(x=x, y=y, mode="lines")),
    ]
    parts = [figures[0].to_html(full_html=False, include_plotlyjs=True)]
    parts += [f.to_html(full_html=False, include_plotlyjs=False) for f in figures[1:]]
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


def svg_charts(report: dataset.DatasetReport) -> str:
    """The same three charts as the page draws them (matplotlib SVG)."""
    return (
        dataset.noise_section(report).html
        + dataset.p_error_section(report).html
        + dataset.budget_section(report.candidates, report.status).html
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k samples only")
    args = parser.parse_args()
    sizes = [20_000] if args.quick else [100_000, 1_000_000]
    try:
        import plotly  # noqa: F401

        have_plotly = True
    except ImportError:
        have_plotly = False
        console.print("plotly not installed: the peer columns are skipped.")
    table = Table(title=f"Dataset report, K = {K} (medians of 3; SQLite)")
    for column in ("N", "what", "wall (s)", "CPU (s)", "size (MB)", "< 5 MB"):
        table.add_column(column, justify="right" if column != "what" else "left")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            start = time.perf_counter()
            build_store(url, n)
            console.print(f"N={n:,}: store built in {time.perf_counter() - start:.1f} s")

            def read(url: str = url) -> dataset.DatasetReport:
                with read_store(url) as session:
                    return dataset.gather(session, dataset="bench")

            *read_time, report = median_seconds(read)
            *draw_time, page = median_seconds(lambda report=report: dataset.dataset_page(report))
            *svg_time, svg = median_seconds(lambda report=report: svg_charts(report))
            rows = [
                ("read the store (gather)", read_time, None),
                ("whole page: matplotlib SVG + jinja2", draw_time, len(page.encode())),
                ("3 data charts: matplotlib SVG", svg_time, len(svg.encode())),
            ]
            if have_plotly:
                *plotly_time, html = median_seconds(lambda report=report: plotly_page(report))
                rows.append(
                    ("3 data charts: plotly + offline bundle", plotly_time, len(html.encode()))
                )
            for what, (wall, cpu), size in rows:
                table.add_row(
                    f"{n:,}",
                    what,
                    f"{wall:.2f}",
                    f"{cpu:.2f}",
                    "" if size is None else f"{size / 1e6:.2f}",
                    "" if size is None else ("yes" if size < LIMIT_BYTES else "NO"),
                )
    console.print(table)


if __name__ == "__main__":
    main()

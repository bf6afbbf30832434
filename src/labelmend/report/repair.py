"""The repair pages: what was unlearned, accuracies before / after / retrained; and the
failure types with the per-type table, the per-type repair and the transfer heatmap.

``labelmend repair run --out DIR`` writes the first as ``DIR/report.html`` (through
:func:`labelmend.repair.files.write_repair`), ``labelmend repair analyze --out DIR`` the
second (through :func:`labelmend.repair.files.write_failure_types`); the numbers are the
same objects the CLI prints.

>>> from labelmend.repair.files import write_repair  # writes DIR/report.html with this
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from labelmend.report import charts
from labelmend.report.page import Section, cards, render_page, table

#: Rows of the before / repaired / retrained table: (label, report key stem).
ACCURACY_ROWS = (
    ("test accuracy", "test_accuracy"),
    ("held-out failures fixed", "heldout_failure_accuracy"),
    ("held-out validation accuracy", "heldout_accuracy"),
)


def accuracy_table(report: dict[str, float]) -> pd.DataFrame:
    """Accuracies before, after repair and of the retrained oracle, plus retention.

    Columns: metric, before, repaired, retrained; rows whose metric was not measured
    (no test set) are left out.
    """
    return pd.DataFrame(
        [
            {
                "metric": label,
                "before": report.get(f"{key}_before", math.nan),
                "repaired": report.get(f"{key}_after", math.nan),
                "retrained": report.get(f"{key}_oracle", math.nan),
            }
            for label, key in ACCURACY_ROWS
            if f"{key}_before" in report
        ]
        + [
            {
                "metric": "retention (previously correct)",
                "before": 1.0,
                "repaired": report["retention"],
                "retrained": report.get("retention_oracle", math.nan),
            },
        ]
    )


def summary_section(result: Any) -> Section:
    """Examples unlearned, retention, and the before / repaired / retrained table."""
    report = result.report
    gap = report.get("gap_to_oracle")
    numbers = cards(
        [
            ("k_removed", "training examples unlearned", f"{int(report['k_removed']):,}"),
            ("n_train", "training examples", f"{len(result.scores):,}"),
            ("retention", "previously correct kept", f"{report['retention']:.1%}"),
            *(
                [("gap_to_oracle", "test accuracy gap to retraining", f"{gap:+.1%}")]
                if gap is not None
                else []
            ),
        ]
    )
    accuracies = accuracy_table(report)
    body = table(
        accuracies,
        formats={"before": ".3f", "repaired": ".3f", "retrained": ".3f"},
        key="accuracies",
    )
    return Section("summary", "Before and after", numbers + body)


def figure_section(result: Any) -> Section:
    """The repair figure (the same as ``repair.png``) as SVG."""
    from labelmend.repair.plot import repair_figure

    with charts.styled():
        svg = charts.close_to_svg(repair_figure(result.report))
    return Section("figure", "Accuracies before and after", svg)


def repair_page(result: Any, *, title: str = "Model repair") -> str:
    """The whole repair page as HTML, from a :class:`~labelmend.repair.pipeline.RepairResult`."""
    return render_page(title, [summary_section(result), figure_section(result)])


#: Formats of the per-type tables' metric columns (typing, and repair per type).
TYPE_FORMATS = dict.fromkeys(
    (
        "learnability",
        "generalisability",
        "independence",
        "compatibility",
        "fixed",
        "others_fixed",
        "retention",
    ),
    ".3f",
)


def types_page(types: Any, repair: pd.DataFrame | None = None) -> str:
    """The failure-types page from a :class:`~labelmend.repair.failures.FailureTypes`.

    Sections: the typing's score against a random typing with as many types, the
    per-type table and the random typing's (the baseline), the per-type repair (when ``repair`` is given) and the transfer
    heatmap (accuracy on each type's held-out half after fine-tuning on each type; the
    last column is the previously correct rows).
    """
    numbers = cards(
        [
            ("embedding", "failures typed by", str(types.embedding)),
            ("n_types", "failure types", f"{types.n_types}"),
            ("score", "typing score", f"{types.score:.3f}"),
            ("baseline_score", "random typing's score", f"{types.baseline_score:.3f}"),
        ]
    )
    sections = [
        Section("summary", "Failure types", numbers),
        Section("types", "Per type", table(types.table, formats=TYPE_FORMATS, key="types")),
        Section(
            "baseline",
            "Random typing (baseline)",
            table(types.baseline, formats=TYPE_FORMATS, key="baseline"),
        ),
    ]
    if repair is not None:
        sections.append(
            Section("repair", "Repair per type", table(repair, formats=TYPE_FORMATS, key="repair"))
        )
    names = [f"type {t}" for t in range(types.n_types)]
    svg = charts.heatmap(
        types.transfer,
        rows=[f"tuned on {name}" for name in names],
        columns=[*names, "correct"],
        xlabel="accuracy on (held-out half)",
        ylabel="fine-tuned on",
    )
    sections.append(Section("transfer", "Accuracy after fine-tuning on each type", svg))
    return render_page("Failure types", sections)

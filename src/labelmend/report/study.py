"""The simulator study page: curves with ±sd bands and the summary tables, mean ± sd.

``labelmend simulate --out DIR`` writes it as ``DIR/report.html`` (through
:func:`labelmend.jobs.write_study`). The numbers are the study's own
``summary`` frame, formatted as in ``summary.md``.

>>> from labelmend.jobs import write_study  # writes DIR/report.html with this
"""

from __future__ import annotations

import pandas as pd

from labelmend.report import charts
from labelmend.report.page import Section, escape, render_page, table
from labelmend.simulator.report import curves_figure, summary_meanings, summary_tables
from labelmend.simulator.study import StudyResult


def summary_section(study: StudyResult) -> Section:
    """One table per noise level × batch size: every summary number as mean ± sd."""
    parts = []
    tables = summary_tables(study)
    for heading, frame in tables:
        parts.append(f"<h3>{escape(heading)}</h3>")
        parts.append(table(frame, key=f"summary {heading}"))
    meanings = "".join(
        f"<li><b>{escape(head)}</b>: {escape(meaning)}.</li>"
        for head, meaning in summary_meanings(tables)
    )
    parts.append(f'<ul class="note" data-key="meanings">{meanings}</ul>')
    seeds = int(study.runs["seed"].nunique())
    return Section("summary", f"Summary (mean ± sd over {seeds} seeds)", "".join(parts))


def curves_section(results: pd.DataFrame) -> Section:
    """Label accuracy and noisy labels fixed against annotations spent, ±sd bands."""
    with charts.styled():
        svg = charts.close_to_svg(curves_figure(results))
    note = (
        '<p class="note">Mean over seeds, band ±1 sd; oracle and random (dashed) bound what '
        "a ranking can do.</p>"
    )
    return Section("curves", "Curves", svg + note)


def study_page(study: StudyResult, *, title: str = "Relabelling study") -> str:
    """The whole study page as HTML."""
    return render_page(title, [summary_section(study), curves_section(study.results)])

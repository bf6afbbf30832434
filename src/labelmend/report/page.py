"""One self-contained HTML page: a title, key numbers, then sections; and its writer.

Sections are HTML fragments built by pure functions (:mod:`labelmend.report.dataset`,
:mod:`labelmend.report.study`, :mod:`labelmend.report.repair`); this module lays them
out with a small jinja2 template, inline CSS and no script, and writes the file.

>>> html = render_page("Pets", [Section("summary", "Summary", "<p>2 samples</p>")])
>>> "<h2>Summary</h2>" in html and "<p>2 samples</p>" in html
True
"""

from __future__ import annotations

import html as html_lib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from labelmend.errors import InputError

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }
header { background: #fff; border-bottom: 1px solid #d0d7de; padding: 16px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #59636e; }
nav { margin-top: 8px; } nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
main { max-width: 1100px; margin: 0 auto; padding: 8px 32px 40px; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; margin: 16px 0;
  padding: 12px 20px; }
section h2 { font-size: 17px; margin: 4px 0 10px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; min-width: 150px; }
.card .value { font-size: 22px; font-weight: 600; }
.card .label, .note { color: #59636e; font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #d0d7de; padding: 3px 10px; text-align: left; }
td.num, th.num { text-align: right; }
.missing { color: #9a6700; background: #fff8c5; padding: 6px 10px; border-radius: 6px; }
img.thumb { width: 48px; height: 48px; object-fit: contain; image-rendering: pixelated;
  border: 1px solid #d0d7de; background: #fff; }
svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<header>
<h1>{{ title }}</h1>
<p>{{ subtitle }}</p>
<nav>{% for s in sections %}<a href="#{{ s.id }}">{{ s.title }}</a>{% endfor %}</nav>
</header>
<main>
{% for s in sections %}<section id="{{ s.id }}">
<h2>{{ s.title }}</h2>
{{ s.html }}
</section>
{% endfor %}</main>
</body>
</html>
"""


@dataclass(frozen=True)
class Section:
    """A part of a page: an anchor id, a heading and trusted HTML (built by this package)."""

    id: str
    title: str
    html: str


def escape(value: Any) -> str:
    """Text made safe for HTML.

    >>> escape("<b>")
    '&lt;b&gt;'
    """
    return html_lib.escape(str(value))


def cards(items: Iterable[tuple[str, str, str]]) -> str:
    """Key numbers as cards: (key, label, value); ``data-key`` lets tests find each one.

    >>> cards([("n", "samples", "1,797")])
    '<div class="cards"><div class="card" data-key="n"><div class="value">1,797</div><div class="label">samples</div></div></div>'
    """
    body = "".join(
        f'<div class="card" data-key="{escape(key)}"><div class="value">{escape(value)}</div>'
        f'<div class="label">{escape(label)}</div></div>'
        for key, label, value in items
    )
    return f'<div class="cards">{body}</div>'


def table(
    frame: pd.DataFrame,
    *,
    formats: dict[str, str] | None = None,
    raw: Sequence[str] = (),
    key: str | None = None,
) -> str:
    """A data frame as an HTML table; numbers right-aligned and formatted.

    Columns named in ``raw`` hold trusted HTML (thumbnails); everything else is escaped.

    >>> table(pd.DataFrame({"class": ["cat"], "errors": [1.25]}), formats={"errors": ".1f"})
    '<table><thead><tr><th>class</th><th class="num">errors</th></tr></thead><tbody><tr><td>cat</td><td class="num">1.2</td></tr></tbody></table>'
    """
    formats = formats or {}
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns}
    head = "".join(
        f'<th class="num">{escape(c)}</th>' if numeric[c] else f"<th>{escape(c)}</th>"
        for c in frame.columns
    )
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            if column in raw:
                text = str(value)
            elif column in formats and not pd.isna(value):
                text = escape(format(value, formats[column]))
            else:
                text = escape("—" if value is None or pd.isna(value) else value)
            cells.append(f'<td class="num">{text}</td>' if numeric[column] else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    attribute = f' data-key="{escape(key)}"' if key else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_page(title: str, sections: Sequence[Section], *, subtitle: str | None = None) -> str:
    """The whole page as one HTML string (sections' HTML inserted as is).

    Examples
    --------
    The title is escaped, the sections' HTML is not:

    >>> page = render_page("Cats & dogs", [Section("summary", "Summary", "<p>2 samples</p>")],
    ...                    subtitle="written today")
    >>> print(page[page.index("<header>"):page.index("</header>")].strip())
    <header>
    <h1>Cats &amp; dogs</h1>
    <p>written today</p>
    <nav><a href="#summary">Summary</a></nav>
    >>> print(page[page.index("<section"):page.index("</section>")].strip())
    <section id="summary">
    <h2>Summary</h2>
    <p>2 samples</p>
    """
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    template = Environment(autoescape=True).from_string(TEMPLATE)
    return template.render(
        title=title,
        subtitle=subtitle or f"labelmend report, written {stamp}",
        sections=[Section(s.id, s.title, Markup(s.html)) for s in sections],
    )


def write_page(page: str, out: str | Path) -> Path:
    """Write ``page`` to ``out`` atomically (a temporary file renamed into place).

    Raises
    ------
    InputError
        ``out`` is a directory, or its directory does not exist or is not writable.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_page("<p>hello</p>", f"{tmp}/page.html")
    ...     path.name, path.read_text(encoding="utf-8"), sorted(p.name for p in path.parent.iterdir())
    ('page.html', '<p>hello</p>', ['page.html'])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_page("<p>hello</p>", f"{tmp}/no/such/folder/page.html")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    labelmend.errors.InputError: Cannot write .../no/such/folder/page.html: .../no/such/folder is not an existing directory.
    """
    path = Path(out)
    if path.is_dir():
        raise InputError(
            "out is a directory; expected a file name such as report.html.", inputs=("out",)
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"Cannot write {path}: {folder} is not an existing directory.")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(page, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    return path

"""A small store with every part of a dataset page: images (some missing), two queues,
answers from three annotators with a tie, a manual change, and a rescore."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from labelmend import workflow
from labelmend.storage import open_store
from labelmend.sync.service import import_annotations
from tests.conftest import require_module, skip_or_fail
from tests.synthetic import noisy_problem, scored_store

CLASSES = ["cat", "dog", "fox"]
N = 90
#: Samples whose image file is not written (a placeholder must stand in).
MISSING_IMAGES = {3, 17, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50}


@dataclass(frozen=True)
class SmallStore:
    url: str
    images: Path
    labels: np.ndarray  # given labels (N,)
    probs: np.ndarray  # (N, K), row i is sample s{i:03d}
    first_run: pd.DataFrame  # the ranking queue q1 was drawn from (labels as names)
    answers: pd.DataFrame  # sample_id, annotator, label (class names)
    manual: tuple[str, str]  # sample id and the label set by hand


def sample_id(i: int) -> str:
    return f"s{i:03d}"


@pytest.fixture
def small_store(tmp_path: Path) -> SmallStore:
    labels, probs, true = noisy_problem(N, 3, noise=0.15, margin=2.5, seed=7)
    ids = [sample_id(i) for i in range(N)]
    images = tmp_path / "images"
    images.mkdir()
    for i in range(N):
        if i not in MISSING_IMAGES:
            Image.new("RGB", (20, 12), (40 * (i % 6), 90, 200)).save(images / f"{ids[i]}.png")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(url) as session:
        first = scored_store(
            session, CLASSES, ids, labels, probs, model="net-v1", image=[f"{s}.png" for s in ids]
        )
        workflow.create_queue(session, "q1", budget=12)
        items = workflow.queue_items(session, "q1")
    truth = pd.Series(np.array(CLASSES)[true], index=ids)
    rows = []
    for n, sid in enumerate(items["sample_id"]):
        if n == 11:
            continue  # one item stays unanswered (open)
        right = truth[sid]
        wrong = CLASSES[(CLASSES.index(right) + 1) % 3]
        rows.append((sid, "ann", right))
        rows.append((sid, "bob", right if n % 3 else wrong))
        if n == 10:  # a tie: the current label, ann and bob all differ
            rows[-2:] = [
                (sid, "ann", CLASSES[(CLASSES.index(items["current_label"][n]) + 1) % 3]),
                (sid, "bob", CLASSES[(CLASSES.index(items["current_label"][n]) + 2) % 3]),
            ]
        if n < 4:
            rows.append((sid, "cyd", right))
    answers = pd.DataFrame(rows, columns=["sample_id", "annotator", "label"])
    answers.to_csv(tmp_path / "answers.csv", index=False)
    manual = (sample_id(int(np.argmax(probs[:, 0] * (labels != 0)))), "cat")
    with open_store(url) as session:
        import_annotations(session, "q1", str(tmp_path / "answers.csv"))
    with open_store(url) as session:
        workflow.set_label(session, manual[0], manual[1], reason="obvious", actor="dee")
    with open_store(url) as session:
        workflow.score(session)
        workflow.create_queue(session, "q2", budget=5)
    return SmallStore(url, images, labels, probs, first.ranking, answers, manual)


#: The system Chromium (Debian package ``chromium``); ``.ci/run`` installs it.
CHROMIUM_VAR = "LABELMEND_TEST_CHROMIUM"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class OpenedPage:
    """A report opened in the browser: the playwright page and what its console said."""

    page: Any
    errors: list[str]

    def card(self, key: str) -> str:
        return self.page.locator(f'[data-key="{key}"] .value').inner_text()

    def broken_images(self) -> list[str]:
        return self.page.evaluate(
            "Array.from(document.images)"
            ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt)"
        )


@pytest.fixture(scope="package")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Generator[Any]:
    """A headless system Chromium with a fresh profile, driven by playwright (server-like:
    skips when the browser or playwright is missing, fails under LABELMEND_REQUIRE_SERVERS=1).

    Package-scoped: the browser closes once the last test of ``tests/report`` is done, not
    at the end of the session. A session-scoped browser sat idle through the remaining two
    thirds of a full run, and on the shared machine (pids wrap every few minutes) a signal
    meant for a process that had since exited reached it: twice its crash dump showed the
    browser process killed by SIGXCPU sent with kill(), and ``context.close()`` then failed
    the session's last test at teardown with ``TargetClosedError``.
    """
    executable = Path(os.environ.get(CHROMIUM_VAR, "/usr/bin/chromium"))
    if not executable.is_file():
        skip_or_fail(
            f"no Chromium at {executable} (apt-get install chromium, or set {CHROMIUM_VAR})"
        )
    sync_api = require_module("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(executable),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def browse(chromium: Any) -> Generator[Callable[[Path, Path], OpenedPage]]:
    """``browse(html, screenshot)``: open a page, wait for it, save a full-page screenshot."""
    pages = []

    def open_page(html: Path, screenshot: Path) -> OpenedPage:
        page = chromium.new_page()
        pages.append(page)
        opened = OpenedPage(page, [])
        page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
        page.on("requestfailed", lambda r: opened.errors.append(f"request failed: {r.url}"))
        page.goto(html.resolve().as_uri(), wait_until="load")
        page.screenshot(path=str(screenshot), full_page=True)
        return opened

    yield open_page
    for page in pages:
        page.close()

"""``labelmend demo``: the whole ranking on data that ships with scikit-learn."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from labelmend.cleaner import rank_samples
from labelmend.cli._console import console, frame_table
from labelmend.datasets import noisy_digits


def demo(
    noise_rate: Annotated[float, typer.Option(min=0.0, max=0.9, help="Labels flipped.")] = 0.1,
    top: Annotated[int, typer.Option(min=1, help="Rows of the queue to print.")] = 15,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Inject label noise into scikit-learn's digits, rank, and show what was found."""
    with console.status("Training a cross-validated model on noisy digits…"):
        data = noisy_digits(noise_rate=noise_rate, random_state=seed)
    ranking = rank_samples(data.labels, data.pred_probs)
    ids = ranking["sample_id"].to_numpy()
    ranking["truly_wrong"] = np.where(data.is_error[ids], "yes", "")
    console.print(
        frame_table(
            ranking.head(top),
            title=f"Top {top} of {len(ranking):,} digits to relabel",
            columns=[
                "rank",
                "sample_id",
                "given_label",
                "suggested_label",
                "p_error",
                "difficulty",
                "reason",
                "truly_wrong",
            ],
            formats={"p_error": ".3f", "difficulty": ".3f"},
        )
    )
    n_errors = int(data.is_error.sum())
    found = int(data.is_error[ids[:n_errors]].sum())
    console.print(
        f"{n_errors} labels were flipped; the top {n_errors} of the queue hold {found} of them "
        f"({found / max(n_errors, 1):.0%}); estimated errors (Σ p_error) = "
        f"{ranking['p_error'].sum():.1f}."
    )

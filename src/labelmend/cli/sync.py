"""``labelmend push`` / ``pull`` / ``sync …``: relabel queues in Label Studio or files.

The API key comes from ``--api-key`` or ``LABEL_STUDIO_API_KEY``; it is never printed,
logged or stored.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

import typer

from labelmend.cli._console import JsonOption, console, frame_table, new_table, print_json
from labelmend.cli._store import DatasetOption, DbOption, store, store_with_progress
from labelmend.sync.label_studio import LabelStudioClient
from labelmend.sync.service import (
    PullResult,
    export_tasks,
    import_annotations,
    pull_queue,
    push_queue,
    sync_status,
)

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="LABEL_STUDIO_URL", show_envvar=True, help="Label Studio URL."),
]
KeyOption = Annotated[
    str,
    typer.Option(
        "--api-key",
        envvar="LABEL_STUDIO_API_KEY",
        show_envvar=True,
        show_default=False,
        help="Label Studio API key (legacy token or personal access token).",
    ),
]
AggregationOption = Annotated[
    Literal["single-expert", "plurality", "dawid-skene", "crowdlab"],
    typer.Option(
        help="How answers decide a sample. single-expert: one trusted expert's answer is "
        "the label; plurality: the current label counts as one vote, ties stay open; "
        "dawid-skene / crowdlab: weigh annotators by reliability."
    ),
]
TieBreakOption = Annotated[
    Literal["refuse", "open", "plurality"],
    typer.Option(
        help="With single-expert, samples whose experts disagree: refuse the import, "
        "leave them open for another vote, or let a plurality decide."
    ),
]

sync_app = typer.Typer(help="Queues in annotation tools: status, and files for any other tool.")


def push(
    queue: Annotated[str, typer.Argument(help="Queue to send.")],
    project_id: Annotated[
        int | None,
        typer.Option(
            "--project",
            help="Existing project id to use (default: a new project on the first push, the "
            "queue's own after).",
        ),
    ] = None,
    new_project: Annotated[
        bool,
        typer.Option(
            "--new-project",
            help="Send the queue to a new project (a queue whose project was deleted).",
        ),
    ] = False,
    url: UrlOption = "http://localhost:8080",
    api_key: KeyOption = "",
    batch_size: Annotated[int, typer.Option(min=1, help="Tasks per import request.")] = 500,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Send a queue's open items to Label Studio, with the model's suggestion pre-filled."""
    client = LabelStudioClient(url, api_key)
    with store_with_progress(db, f"Pushing {queue!r} to Label Studio") as (session, progress):
        result = push_queue(
            session, queue, client, dataset=dataset, project_id=project_id,
            new_project=new_project, batch_size=batch_size, progress=progress, checkpoint=session.commit,
        )  # fmt: skip
    if json:
        print_json(result)
        return
    replaced = (
        f" ({result.replaced:,} for tasks deleted in Label Studio)" if result.replaced else ""
    )
    console.print(
        f"Project {result.project_id}: {result.created:,} task(s) created{replaced}, "
        f"{result.adopted:,} found already on the server, {result.already_sent:,} sent before."
    )


def _print_pull(result: PullResult, *, json: bool) -> None:
    if json:  # the rejected answers as records, each with why
        print_json(result)
        return
    table = new_table("Answers", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("recorded now", f"{result.recorded:,}")
    table.add_row("seen before", f"{result.repeated:,}")
    if result.updated:
        table.add_row("changed by their expert since", f"{result.updated:,}")
    if len(result.withdrawn):
        table.add_row(
            "withdrawn since (deleted or made unusable in the tool; kept, not counted)",
            f"{len(result.withdrawn):,}",
        )
    table.add_row("rejected now", f"{len(result.rejected):,}")
    if len(result.still_rejected):
        table.add_row("still rejected (reported before)", f"{len(result.still_rejected):,}")
    if len(result.not_applied):
        table.add_row("to samples decided before (not applied)", f"{len(result.not_applied):,}")
    table.add_row("samples decided", f"{result.decisions.decided:,}")
    table.add_row("labels changed", f"{result.decisions.changed:,}")
    table.add_row("ties (need another vote)", f"{len(result.decisions.ties):,}")
    console.print(table)
    if len(result.rejected):
        console.print(frame_table(result.rejected.head(20), title="Rejected answers (not stored)"))
    if len(result.still_rejected):
        n, since = len(result.still_rejected), result.still_rejected["first_reported"]
        first, last = since.min(), since.max()
        console.print(
            f"{n:,} answer{'s' if n != 1 else ''} rejected before "
            f"{'are' if n != 1 else 'is'} still rejected (first reported on "
            f"{first:%Y-%m-%d %H:%M} UTC{'' if first == last else ' and later'}; "
            "--json lists them)."
        )
    if len(result.not_applied):
        console.print(
            frame_table(
                result.not_applied.head(20), title="Answers not applied (recorded, not counted)"
            )
        )
    if len(result.withdrawn):
        console.print(
            frame_table(
                result.withdrawn.drop(columns="decided").head(20),
                title="Answers withdrawn since the last pull (kept, no longer counted)",
            )
        )
        stands = int(result.withdrawn["decided"].sum())
        if stands:
            console.print(
                f"{stands:,} withdrawn answer(s) belong to samples decided before; those "
                "decisions stand. Review them with `labelmend history SAMPLE` and `labelmend "
                "sync answers SAMPLE`, and change a label with `labelmend label set`."
            )
    if result.decisions.ties:
        shown = ", ".join(result.decisions.ties[:10])
        console.print(
            f"Need another vote: {shown}{' …' if len(result.decisions.ties) > 10 else ''}"
        )


def pull(
    queue: Annotated[str, typer.Argument(help="Queue to collect answers for.")],
    aggregation: AggregationOption = "plurality",
    tie_break: TieBreakOption = "refuse",
    url: UrlOption = "http://localhost:8080",
    api_key: KeyOption = "",
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Fetch the experts' answers, record each once, and decide the answered samples."""
    client = LabelStudioClient(url, api_key)
    with store(db, f"Pulling answers for {queue!r}…") as session:
        result = pull_queue(
            session, queue, client, dataset=dataset, aggregation=aggregation, tie_break=tie_break,
            checkpoint=session.commit,
        )  # fmt: skip
    _print_pull(result, json=json)


@sync_app.command("status")
def status(
    queue: Annotated[str, typer.Argument(help="Queue.")],
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """A queue's items, open, pending, sent, annotated (waiting for another vote),
    resolved and skipped (as `queue list` counts them); items pushed; answers recorded."""
    with store(db, "Reading the store…", read_only=True) as session:
        counts = asdict(sync_status(session, queue, dataset=dataset))
    if json:
        print_json(counts)
        return
    table = new_table(f"Queue {queue!r}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    counts["project"] = counts["project"] or "not pushed"
    for key, value in counts.items():
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)


@sync_app.command("answers")
def answers(
    sample_id: Annotated[str, typer.Argument(help="Sample id.")],
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Every answer a sample was given and what it does now: counted, withdrawn, not
    applied or set aside by an undo, and why."""
    from labelmend.storage.reads import sample_answers

    with store(db, "Reading the store…", read_only=True) as session:
        shown = sample_answers(session, sample_id, dataset=dataset)
    if json:
        print_json(shown)
        return
    if not shown:
        console.print(f"Sample {sample_id!r} has no answers recorded.")
        return
    table = new_table(f"Answers to {sample_id!r}")
    for column in ("recorded", "queue", "annotator", "label", "state", "why"):
        table.add_column(column)
    for answer in shown:
        table.add_row(
            f"{answer['recorded_at']:%Y-%m-%d %H:%M}",
            str(answer["queue"] or "(deleted)"),
            answer["annotator"],
            answer["label"],
            answer["state"],
            answer["why"],
        )
    console.print(table)


@sync_app.command("export-tasks")
def export_tasks_command(
    queue: Annotated[str, typer.Argument(help="Queue.")],
    path: Annotated[str, typer.Argument(help="Output .csv / .jsonl / .parquet.")],
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Write a queue's open items as tasks for any annotation tool."""
    with store(db, "Exporting tasks…", read_only=True) as session:
        n_tasks = export_tasks(session, queue, path, dataset=dataset)
    if json:
        print_json({"n_tasks": n_tasks, "path": path})
        return
    console.print(f"{n_tasks:,} task(s) written to {path}")


@sync_app.command("import-annotations")
def import_annotations_command(
    queue: Annotated[str, typer.Argument(help="Queue.")],
    path: Annotated[str, typer.Argument(help="Answers: sample_id, annotator, label.")],
    aggregation: AggregationOption = "plurality",
    tie_break: TieBreakOption = "refuse",
    tool: Annotated[str, typer.Option(help="Name of the tool the answers came from.")] = "file",
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Record answers from a file (validated and aggregated as a pull is)."""
    with store(db, "Importing answers…") as session:
        result = import_annotations(
            session,
            queue,
            path,
            dataset=dataset,
            tool=tool,
            aggregation=aggregation,
            tie_break=tie_break,
        )
    _print_pull(result, json=json)

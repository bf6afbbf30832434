"""A thin, typed client for Label Studio: projects, batched task import, annotation export.

Everything that crosses the network goes through :class:`LabelStudioClient`, which
turns the SDK's and httpx's exceptions into :class:`~labelmend.errors.SyncError` with
one readable line, and never puts the API key in a message. The shapes of tasks and
annotations (the labelling config, a task's data and prediction, parsing an answer)
are pure functions, tested without a server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from xml.sax.saxutils import quoteattr

from labelmend.errors import SyncError

#: Name of the task-data field that carries labelmend's sample id.
SAMPLE_FIELD = "labelmend_sample_id"
#: ``from_name`` of the single-choice control in the labelling config.
CHOICE_NAME = "label"
#: Tasks per import request.
DEFAULT_BATCH_SIZE = 500
#: Metadata keys shown as an image when present.
IMAGE_KEYS = ("image", "image_url", "url")


def label_config(classes: Sequence[str], *, show: str = "text") -> str:
    """The labelling config: one single-choice question over ``classes``.

    ``show`` is ``"image"`` (the task's ``$image`` URL) or ``"text"`` (``$text``).

    >>> print(label_config(["cat", "dog"]))  # doctest: +NORMALIZE_WHITESPACE
    <View><Text name="sample" value="$text"/><Choices name="label" toName="sample"
    choice="single-radio" showInLine="true"><Choice value="cat"/><Choice value="dog"/></Choices></View>
    """
    viewer = (
        '<Image name="sample" value="$image"/>'
        if show == "image"
        else '<Text name="sample" value="$text"/>'
    )
    choices = "".join(f"<Choice value={quoteattr(str(name))}/>" for name in classes)
    return (
        f'<View>{viewer}<Choices name={quoteattr(CHOICE_NAME)} toName="sample" '
        f'choice="single-radio" showInLine="true">{choices}</Choices></View>'
    )


def display_kind(metadata: Sequence[dict[str, Any]]) -> str:
    """``"image"`` when every sample's metadata has an image URL, else ``"text"``."""
    if metadata and all(any(key in m for key in IMAGE_KEYS) for m in metadata):
        return "image"
    return "text"


def task_payload(
    sample_id: str,
    metadata: dict[str, Any],
    *,
    show: str,
    suggested_label: str | None = None,
    score: float | None = None,
    model_version: str = "labelmend",
) -> dict[str, Any]:
    """One task: our sample id, what to show, and the model's suggestion as a prediction.

    >>> task_payload("s1", {"text": "hello"}, show="text", suggested_label="dog", score=0.9)["data"]
    {'labelmend_sample_id': 's1', 'text': 'hello'}
    """
    data: dict[str, Any] = {SAMPLE_FIELD: str(sample_id)}
    if show == "image":
        data["image"] = next(str(metadata[k]) for k in IMAGE_KEYS if k in metadata)
    else:
        text = metadata.get("text")
        data["text"] = (
            str(text) if text is not None else json.dumps(metadata, sort_keys=True, default=str)
        )
    task: dict[str, Any] = {"data": data}
    if suggested_label is not None:
        prediction: dict[str, Any] = {
            "model_version": model_version,
            "result": [
                {
                    "from_name": CHOICE_NAME,
                    "to_name": "sample",
                    "type": "choices",
                    "value": {"choices": [suggested_label]},
                }
            ],
        }
        if score is not None:
            prediction["score"] = float(score)
        task["predictions"] = [prediction]
    return task


@dataclass(frozen=True)
class RemoteAnnotation:
    """One expert answer as Label Studio stores it, parsed.

    ``label`` is the chosen class name, or None when the answer is unusable; then
    ``problem`` says why (empty result, several choices, unknown class, skipped).
    ``skipped`` marks an annotator's skip (Label Studio's ``was_cancelled``).
    """

    external_id: str
    task_id: int
    sample_id: str
    annotator: str
    label: str | None
    problem: str | None = None
    skipped: bool = False


def parse_annotation(
    task: dict[str, Any],
    annotation: dict[str, Any],
    classes: Sequence[str],
    users: dict[int, str] | None = None,
) -> RemoteAnnotation:
    """Validate one annotation of a task against the dataset's classes.

    >>> task = {"id": 7, "data": {"labelmend_sample_id": "s1"}}
    >>> answer = {"id": 3, "completed_by": 1,
    ...           "result": [{"type": "choices", "value": {"choices": ["owl"]}}]}
    >>> parse_annotation(task, answer, ["cat", "dog"]).problem
    "unknown class 'owl'"
    """
    completed_by = annotation.get("completed_by")
    if isinstance(completed_by, dict):
        annotator = str(completed_by.get("email") or completed_by.get("id"))
    else:
        annotator = (users or {}).get(int(completed_by or 0), str(completed_by))
    unusable = RemoteAnnotation(
        external_id=f"label-studio:{annotation['id']}",
        task_id=int(task["id"]),
        sample_id=str(task.get("data", {}).get(SAMPLE_FIELD)),
        annotator=annotator,
        label=None,
    )
    if annotation.get("was_cancelled"):
        return replace(unusable, problem="skipped by the annotator", skipped=True)
    chosen = [
        choice
        for item in annotation.get("result") or []
        if item.get("type") == "choices"
        for choice in (item.get("value") or {}).get("choices") or []
    ]
    if not chosen:
        return replace(unusable, problem="empty answer")
    if len(chosen) > 1:
        return replace(unusable, problem=f"several classes chosen {chosen}")
    if chosen[0] not in set(classes):
        return replace(unusable, problem=f"unknown class {chosen[0]!r}")
    return replace(unusable, label=chosen[0])


@dataclass
class LabelStudioClient:
    """Label Studio over its REST API (label-studio-sdk 2.x), with errors made readable.

    Parameters
    ----------
    url : str
        Base URL, e.g. ``http://127.0.0.1:8080``.
    api_key : str
        A legacy token or a personal access token. Kept out of ``repr`` and messages.
    timeout : float
        Seconds per request.
    max_retries : int
        Retries of a failed request, except task imports, which are never sent twice (a
        lost answer may hide created tasks): a push run again adopts them.
    """

    url: str
    api_key: str = field(repr=False)
    timeout: float = 60.0
    max_retries: int = 1
    _sdk: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        from label_studio_sdk.client import LabelStudio

        self.url = self.url.rstrip("/")
        if not self.api_key:
            raise SyncError(
                "No Label Studio API key: pass api_key or set LABEL_STUDIO_API_KEY.",
                inputs=("api_key",),
            )
        self._sdk = LabelStudio(
            base_url=self.url,
            api_key=self.api_key,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    @property
    def shown_url(self) -> str:
        """:attr:`url` for messages: a password written into it (``user:pw@host``) masked.

        >>> LabelStudioClient("https://ann:pw@ls.example.org", "key").shown_url
        'https://ann:***@ls.example.org'
        """
        from labelmend.storage.engine import mask_url

        return mask_url(self.url)

    @contextmanager
    def _errors(self, action: str, *, hint: str = "") -> Iterator[None]:
        """Turn the SDK's and httpx's errors into one :class:`SyncError` line: what the
        server said while trying to do ``action``, then ``hint`` (a sentence) if any."""
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        try:
            yield
        except ApiError as exc:
            status = exc.status_code
            if status is not None and 200 <= status < 300:  # an answer the SDK cannot read
                kind = str((exc.headers or {}).get("content-type") or "").partition(";")[0]
                kind = kind or "unreadable"
                article = "an" if kind[0] in "aeiou" else "a"
                raise SyncError(
                    f"{self.shown_url} answered with {article} {kind} page, not Label "
                    f"Studio's API, while trying to {action}; is url Label Studio's address?",
                    inputs=("url",),
                ) from None
            if status == 401:
                message = "refused the API key (401 Unauthorized)"
            elif status == 403:
                message = "denied access (403 Forbidden)"
            elif status == 404:
                message = "has no such object (404 Not Found)"
            else:
                body = exc.body if isinstance(exc.body, dict) else {}
                detail = body.get("validation_errors") or body.get("detail") or ""
                message = f"answered {status}" + (f" ({detail})" if detail else "")
            raise SyncError(
                f"Label Studio at {self.shown_url} {message} while trying to {action}." + hint
            ) from None
        except (httpx.TransportError, OSError) as exc:
            raise SyncError(
                f"Cannot reach Label Studio at {self.shown_url} while trying to {action} "
                f"({type(exc).__name__})." + hint
            ) from None

    def whoami(self) -> str:
        """The user the key belongs to (checks URL and key)."""
        with self._errors("check the API key"):
            user = self._sdk.users.whoami()
        return str(getattr(user, "email", None) or getattr(user, "id", ""))

    def project_exists(self, project_id: int) -> bool:
        """Whether the server has the project (False on 404; other errors raise)."""
        from label_studio_sdk.core.api_error import ApiError

        with self._errors(f"open project {project_id}"):
            try:
                self._sdk.projects.get(id=project_id)
            except ApiError as exc:
                if exc.status_code == 404:
                    return False
                raise
        return True

    def ensure_project(self, *, title: str, config: str, project_id: int | None = None) -> int:
        """Return ``project_id`` after checking it exists, or create a project."""
        if project_id is not None:
            with self._errors(f"open project {project_id}"):
                self._sdk.projects.get(id=project_id)
            return project_id
        with self._errors("create a project"):
            project = self._sdk.projects.create(title=title, label_config=config)
        return int(project.id)

    def _task_pages(self, project_id: int, *, action: str, **query: Any) -> Iterator[list[Any]]:
        """Pages of the project's tasks, fetched one request at a time.

        Pages by the reported total (the SDK's own pager asks for a page past the end,
        which the server answers with 404).
        """
        page, seen = 1, 0
        while True:
            with self._errors(action):
                answer = self._sdk.tasks.list(project=project_id, page=page, **query)
            items = list(answer.items or [])
            if items:
                yield items
            seen += len(items)
            total = getattr(answer.response, "total", None)
            if not items or total is None or seen >= total:
                return
            page += 1

    def task_ids_by_sample(self, project_id: int) -> dict[str, int]:
        """Every task of the project that carries a labelmend sample id: sample id -> task id."""
        found: dict[str, int] = {}
        for tasks in self._task_pages(
            project_id, action=f"list the tasks of project {project_id}",
            fields="task_only", page_size=1000,
        ):  # fmt: skip
            for task in tasks:
                sample = (task.data or {}).get(SAMPLE_FIELD)
                if sample is not None:
                    found.setdefault(str(sample), int(task.id))
        return found

    def deleted_annotations(self, project_id: int, external_ids: Sequence[str]) -> set[str]:
        """Those of ``external_ids`` (``label-studio:<id>``, as pulls record them) that
        the server no longer has: answers deleted there, with their task or with an
        earlier project of the queue. Ids of another form (answers a file imported under
        this tool's name) are never reported deleted.

        One request whatever their number: an export of the project's answered tasks,
        which reads the tasks by id (no paging by offset, so a task annotated or deleted
        meanwhile cannot hide a live answer). A queue's answers live in its project; a
        queue moves to another only once its project is deleted, with every answer in it.
        """
        numbered = {
            external_id
            for external_id in external_ids
            if external_id.partition(":")[0] == "label-studio"
            and external_id.partition(":")[2].isdigit()
        }
        if not numbered:
            return set()
        live = {
            f"label-studio:{annotation['id']}"
            for task in self._export(project_id)
            for annotation in task.get("annotations") or []
        }
        return numbered - live

    def _export(self, project_id: int, task_ids: Sequence[int] | None = None) -> list[Any]:
        """The project's tasks that have answers (those of ``task_ids`` only, if given),
        each with its answers, in one request (Label Studio's JSON export)."""
        # The server reads ``ids[]`` (the SDK's ``ids`` argument sends ``ids``).
        extra = {} if task_ids is None else {"ids[]": list(task_ids)}
        with self._errors(f"export the annotations of project {project_id}"):
            chunks = self._sdk.projects.exports.download_sync(
                id=project_id,
                export_type="JSON",
                request_options={"additional_query_parameters": extra},
            )
            exported: list[Any] = json.loads(b"".join(chunks))
        return exported

    def import_tasks(
        self,
        project_id: int,
        tasks: Sequence[dict[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_batch: Callable[[list[dict[str, Any]], list[int]], None] | None = None,
    ) -> list[int]:
        """Import tasks in batches; return the new task ids in order.

        ``on_batch(tasks, task_ids)`` runs after each batch is on the server, so the
        caller can record the mapping batch by batch.
        """
        created: list[int] = []
        # Never sent twice: an import whose answer was lost (a gateway's 502, a dropped
        # connection) may have created its tasks, and a retry would create them again.
        # The caller's next push adopts what arrived instead.
        once = {"max_retries": 0}
        hint = " Run the push again: it adopts the tasks that arrived and sends the rest."
        for start in range(0, len(tasks), batch_size):
            batch = list(tasks[start : start + batch_size])
            with self._errors(f"import tasks into project {project_id}", hint=hint):
                response = self._sdk.projects.import_tasks(
                    id=project_id, request=batch, return_task_ids=True, request_options=once
                )
            ids = [int(i) for i in (response.task_ids or [])]
            if len(ids) != len(batch):
                raise SyncError(
                    f"Label Studio created {len(ids)} tasks for a batch of {len(batch)}."
                )
            created += ids
            if on_batch is not None:
                on_batch(batch, ids)
        return created

    def annotation_pages(
        self, project_id: int, classes: Sequence[str], *, page_size: int = 500
    ) -> Iterator[list[RemoteAnnotation]]:
        """Every annotation of the project, parsed, one page of annotated tasks at a time.

        A page holds whole tasks, so all answers of a task arrive together.
        """
        with self._errors("list users"):
            users = {int(u.id): str(u.email or u.id) for u in self._sdk.users.list()}
        # Answered or skipped: Label Studio counts skips apart from annotations.
        annotated = {"conjunction": "or", "items": [
            {"filter": f"filter:tasks:{counter}", "operator": "greater", "type": "Number",
             "value": 0} for counter in ("total_annotations", "cancelled_annotations")]}  # fmt: skip
        query = json.dumps({"filters": annotated})
        for tasks in self._task_pages(
            project_id, action=f"list the annotated tasks of project {project_id}",
            fields="task_only", include="id", page_size=page_size, query=query,
        ):  # fmt: skip
            # The task list carries only annotation ids; one export of the page's tasks
            # brings their answers (5x faster than listing with every field).
            exported = self._export(project_id, [task.id for task in tasks])
            yield [
                parse_annotation(task, annotation, classes, users)
                for task in exported
                for annotation in task.get("annotations") or []
            ]

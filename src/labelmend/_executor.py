"""One way to map a function over many items: in this thread, threads, processes or Dask.

The ranking engine maps over blocks of rows with threads, the sharded ranking over
Parquet shards (here or on a Dask cluster) and the simulator over runs with processes
(or Dask). All three go through :class:`Workers`: one timeout for reaching a scheduler
(:data:`CONNECT_TIMEOUT`) and one error when it cannot be reached
(:class:`~labelmend.errors.SchedulerError`). Dask is imported only when asked for.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from typing import Any, TypeVar

from labelmend.errors import InputError, SchedulerError

#: Seconds to wait for a Dask scheduler before saying it does not answer.
CONNECT_TIMEOUT = 10
#: Worker processes of the Dask cluster started by ``scheduler="local"``.
LOCAL_CLUSTER_WORKERS = 2

T = TypeVar("T")
#: ``progress(done, total)``, called as items finish.
Progress = Callable[[int, int], None]


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Number of workers: ``None`` or -1 means every core.

    >>> resolve_n_jobs(1)
    1
    >>> resolve_n_jobs(0)
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: n_jobs must be a positive integer, -1 or None. Got 0.
    """
    if n_jobs is None or n_jobs == -1:
        return os.cpu_count() or 1
    if n_jobs < 1:
        raise InputError(f"n_jobs must be a positive integer, -1 or None. Got {n_jobs}.")
    return n_jobs


class Workers:
    """Workers to map a function over items; a context manager that stops what it started.

    Parameters
    ----------
    n_jobs : int or None
        Local workers; 1 runs every item in the calling thread, ``None`` or -1 uses
        every core. Ignored with a ``scheduler``.
    processes : bool
        Local workers are processes (for pure-Python work) instead of threads (for numpy
        work, which releases the GIL). The function and items must then be picklable.
    scheduler : None, "local", an address such as "tcp://host:8786", or a Dask Client
        Run on Dask instead: "local" starts a :data:`LOCAL_CLUSTER_WORKERS`-process
        cluster for the duration; an address is given :data:`CONNECT_TIMEOUT` seconds
        to answer; a Client is used as it is (and left open).

    Raises
    ------
    SchedulerError
        Dask is not installed, or the scheduler does not answer.

    Examples
    --------
    >>> with Workers(n_jobs=2) as workers:
    ...     list(workers.map(lambda x: x * x, range(5)))
    [0, 1, 4, 9, 16]
    """

    def __init__(
        self, *, n_jobs: int | None = 1, processes: bool = False, scheduler: Any = None
    ) -> None:
        self._executor: Executor | None = None
        self._owned: list[Any] = []
        self.n_workers = 1
        if scheduler is not None:
            self._executor = self._dask(scheduler)
            return
        self.n_workers = resolve_n_jobs(n_jobs)
        if self.n_workers > 1:
            pool = ProcessPoolExecutor if processes else ThreadPoolExecutor
            self._executor = pool(max_workers=self.n_workers)
            self._owned.append(self._executor)

    def _dask(self, scheduler: Any) -> Executor:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask is an extra
            raise SchedulerError("Dask is not installed: pip install 'labelmend[dask]'.") from exc
        if isinstance(scheduler, Client):
            client = scheduler
        elif scheduler == "local":
            cluster = LocalCluster(
                n_workers=LOCAL_CLUSTER_WORKERS, threads_per_worker=1, processes=True
            )
            client = Client(cluster)
            self._owned += [client, cluster]
        else:
            try:
                client = Client(str(scheduler), timeout=f"{CONNECT_TIMEOUT}s")
            except (OSError, TimeoutError) as exc:
                raise SchedulerError(
                    f"The Dask scheduler at {scheduler} does not answer "
                    f"(waited {CONNECT_TIMEOUT} s)."
                ) from exc
            self._owned.append(client)
        self.n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        return client.get_executor()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the pool, client or cluster this object started (pending items are dropped)."""
        for owned in self._owned:
            if isinstance(owned, Executor):
                owned.shutdown(wait=True, cancel_futures=True)
            else:
                owned.close()
        self._owned = []

    def map(
        self,
        function: Callable[..., T],
        items: Iterable[Any],
        /,
        *,
        window: int | None = None,
        progress: Progress | None = None,
        **kwargs: Any,
    ) -> Iterator[T]:
        """Yield ``function(item, **kwargs)`` for every item, in the items' order.

        Parameters
        ----------
        function : callable(item, **kwargs)
        items : iterable
            Consumed lazily when ``window`` is set.
        window : int, optional
            At most this many items in flight, the items read lazily (bounded memory
            when each item or result is large); by default every item is submitted at
            once.
        progress : callable(done, total), optional
            Called as items finish (not with ``window``).

        The first error raised by ``function`` is raised here, in the caller.
        """
        if self._executor is None:
            listed = list(items) if progress is not None else items
            for done, item in enumerate(listed, start=1):
                yield function(item, **kwargs)
                if progress is not None:
                    progress(done, len(listed))  # type: ignore[arg-type]
            return
        if window is not None:
            yield from self._windowed(function, items, window, kwargs)
            return
        futures = [self._executor.submit(function, item, **kwargs) for item in items]
        for done, future in enumerate(as_completed(futures), start=1):
            future.result()  # the first failure stops the map here
            if progress is not None:
                progress(done, len(futures))
        for future in futures:
            yield future.result()

    def _windowed(
        self,
        function: Callable[..., T],
        items: Iterable[Any],
        window: int,
        kwargs: dict[str, Any],
    ) -> Iterator[T]:
        assert self._executor is not None
        pending: deque[Future[T]] = deque()
        for item in items:
            pending.append(self._executor.submit(function, item, **kwargs))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

"""Worker processes for commands that read many files (``consolidate``, ``check``).

One place for what a batch over hundreds of agencies' files needs from a process pool:

- results come back in input order (so output is deterministic whatever the scheduling);
- a worker that dies (a crash inside a native reader, the OOM killer) costs only the file
  that killed it: the files that were in flight are read again one per process, so the
  culprit is found and gets the caller's "crashed" result; the rest go on in a new pool;
- workers die with the parent (:func:`runtime.die_with_parent`), and Ctrl+C stops them at
  once instead of letting them finish the queue;
- on Linux workers are forked, so they inherit what the parent loaded (forms, layouts,
  the ``initializer``'s state) instead of each loading it again.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from gkreport.commands.runtime import die_with_parent

if TYPE_CHECKING:  # multiprocessing and concurrent.futures are imported when a pool is made:
    # a one-file check runs serially and does not pay for them (~10 ms at start)
    import multiprocessing.context
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")


def mp_context() -> multiprocessing.context.BaseContext | None:
    """fork on Linux: workers inherit the loaded forms (Python 3.14 made forkserver the
    default there); elsewhere the platform's default (spawn)."""
    import multiprocessing

    return multiprocessing.get_context("fork") if sys.platform == "linux" else None


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    die_with_parent()
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def worker_pool(workers: int, initializer: Callable[..., None] | None = None,
                initargs: tuple[Any, ...] = ()) -> Iterator[ProcessPoolExecutor]:
    """A pool whose workers die with this process and run ``initializer(*initargs)`` first;
    on Ctrl+C the workers are stopped at once instead of finishing the queue."""
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp_context(), initializer=_start_worker,
                               initargs=(initializer, initargs))
    try:
        yield pool
    except KeyboardInterrupt:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    except BaseException:
        # The caller stopped early (``| head`` closed the pipe, an error while printing):
        # the queue is dropped and the workers finish only their current chunk. (Killing
        # them here would make the pool's own thread fail on the cancelled futures.)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)  # (a second call after the one above returns at once)


def chunk_size(n: int, jobs: int) -> int:
    """Many small chunks per worker, so no worker idles while another finishes a long last
    chunk (a file takes ~3 ms; a chunk's IPC ~0.1 ms)."""
    return max(1, min(16, n // (jobs * 8) or 1))


def workers_for(jobs: int | None) -> int:
    """``jobs`` workers, or one per CPU."""
    return max(1, jobs or os.cpu_count() or 1)


def map_files(fn: Callable[[T], R], items: Sequence[T], jobs: int | None, *, crashed: Callable[[T], R],
              initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()) -> Iterator[R]:
    """``fn(item)`` for every item, yielded in input order, in worker processes when worthwhile.

    ``fn`` must never raise for a bad file (it returns that file's error); ``crashed(item)``
    is the result of an item whose worker process died. Serially (one job, or fewer than
    four items) ``initializer`` runs in this process.
    """
    jobs = workers_for(jobs)
    if jobs == 1 or len(items) < 4:
        if initializer is not None:
            initializer(*initargs)
        for item in items:
            yield fn(item)
        return
    from concurrent.futures.process import BrokenProcessPool

    chunk = chunk_size(len(items), jobs)
    pending = list(items)
    while pending:
        done = 0
        try:
            with worker_pool(min(jobs, len(pending)), initializer, initargs) as pool:
                for result in pool.map(fn, pending, chunksize=chunk):
                    done += 1
                    yield result
            pending = []
        except BrokenProcessPool:
            # The files in flight are read again one per process: the culprit is found.
            window = pending[done:done + chunk * (2 * jobs + 1)]
            for item in window:
                yield _isolated(fn, item, crashed, initializer, initargs)
            pending = pending[done + len(window):]


def _isolated(fn: Callable[[T], R], item: T, crashed: Callable[[T], R],
              initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> R:
    """``fn(item)`` in a process of its own, so that a crash is this item's error."""
    from concurrent.futures.process import BrokenProcessPool

    with worker_pool(1, initializer, initargs) as pool:
        try:
            return pool.submit(fn, item).result()
        except BrokenProcessPool:
            return crashed(item)

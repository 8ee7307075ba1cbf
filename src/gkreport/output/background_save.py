"""Save an openpyxl workbook in a forked child process while the parent goes on working.

Why: the county summary is written in two parts (see :mod:`gkreport.output.xlsx_rows`):
openpyxl saves the workbook (headers, styles, print set-up, the short sheets), then the
bulk rows are generated and spliced in. Saving is a tenth of a second of one core and the
rows do not depend on it, so on a machine with two cores the parent generates the first
rows while a child saves; the saved file is then read as if the parent had saved it.

Why a fork and only that: the child needs the workbook as it is in memory, and a fork
shares it without pickling anything. The child touches only the workbook (a few MB),
never the agencies' data, so copy-on-write costs next to nothing even for a province.

Never worse than saving here: no fork where it is unsafe or unavailable (not Linux, or
another thread is running: a fork would copy its locks in whatever state they are), and a
child that fails, is killed or leaves no readable file means the caller saves the
workbook itself (:meth:`BackgroundSave.wait` returns False). The child writes only its own
file in the caller's temporary folder and leaves with ``os._exit``: no ``finally`` block,
atexit handler or buffered output of the parent runs twice.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

from openpyxl.workbook.workbook import Workbook


def save_plain(wb: Workbook, path: Path) -> None:
    """``wb`` saved at ``path`` as ``wb.save`` does (the time of saving as its modification time),
    but not compressed: the splice reads every part back and compresses it once, into the summary."""
    import datetime as dt

    from openpyxl.writer.excel import ExcelWriter

    wb.properties.modified = dt.datetime.now(tz=dt.timezone.utc).replace(tzinfo=None)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()


class ForkedJob:
    """A function running in a forked child (see :func:`start_job`); its exit code says how it went."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._status: int | None = None

    def done(self) -> bool:
        """Whether the child has finished (reaps it without waiting)."""
        if self._status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its output decides
                pid, status = self.pid, 0
            if pid == 0:
                return False
            self._finished(status)
        return True

    def wait(self) -> bool:
        """Wait for the child; True if it finished its work (exit code 0)."""
        if self._status is None:
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                status = 0
            except BaseException:  # Ctrl+C while waiting: no child is left behind
                self.cancel()
                raise
            self._finished(status)
        return self._status == 0

    def cancel(self) -> None:
        """Stop the child if it still runs, and reap it."""
        if self._status is not None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            status = -1
        self._finished(status)

    def _finished(self, status: int) -> None:
        self._status = status
        gc.unfreeze()


class BackgroundSave(ForkedJob):
    """A child process saving a workbook at ``path`` (see :func:`start_save`)."""

    def __init__(self, pid: int, path: Path) -> None:
        super().__init__(pid)
        self.path = path

    def wait(self) -> bool:
        """Wait for the child; True if it saved a readable workbook at ``path``."""
        return super().wait() and _readable(self.path)


_IN_CHILD = False


def in_child() -> bool:
    """Whether this process is a child started by :func:`start_job` (it shows no progress:
    the parent's bar is the one on the screen)."""
    return _IN_CHILD


def can_fork() -> bool:
    """Forking is safe here: Linux (fork is the default start of workers there, see
    :mod:`gkreport.consolidation.pool`) and no other thread running."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


def start_job(work: Callable[[], object]) -> int | None:
    """Run ``work()`` in a forked child; the child's pid, or None when that cannot be done
    here (the caller does the work itself). The child leaves with exit code 0 once ``work``
    has returned, 1 if it raised."""
    if not can_fork():
        return None
    # The cyclic garbage collector reads and writes a header in every object it visits: in
    # either process, that would copy every page of the parent's heap (copy-on-write). Objects
    # that exist now are left out of its rounds until the child has finished.
    gc.freeze()
    try:
        pid = os.fork()
    except OSError:  # no memory or process slots left: the work is done in this process
        gc.unfreeze()
        return None
    if pid == 0:  # the child
        global _IN_CHILD
        _IN_CHILD = True
        code = 1
        try:
            gc.disable()  # a short life: the little garbage it makes goes with it
            work()
            code = 0
        except BaseException:  # the parent sees the exit code and does the work itself
            pass
        finally:
            os._exit(code)
    return pid


def start_save(wb: Workbook, path: Path) -> BackgroundSave | None:
    """Start saving ``wb`` at ``path`` (uncompressed, :func:`save_plain`) in a forked child;
    None when that cannot be done here (the caller saves it itself)."""
    pid = start_job(lambda: save_plain(wb, path))
    return None if pid is None else BackgroundSave(pid, path)


def _readable(path: Path) -> bool:
    """A complete zip archive (its central directory reads)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return bool(zf.infolist())
    except (OSError, zipfile.BadZipFile):
        return False

"""Process-level plumbing: the internal-error log, and worker processes that die with their parent.

A user never sees a traceback: an unexpected exception is written to a log file and
the command prints one Chinese line naming that file (exit code 3). The log is the
same file the Excel add-in writes (``~/.gkreport/gkreport.log``), or, where the home
folder cannot be written, one in the temporary folder; ``GKREPORT_LOG`` overrides it.

Every command imports this module (through the guard) before it starts, so the modules
needed only on an error or in a worker process are imported where they are used.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from gkreport import __version__

LOG_FILE = Path.home() / ".gkreport" / "gkreport.log"  # the add-in's log; the CLI's first choice


def log_candidates() -> list[Path]:
    """Where the log may go, in order of preference."""
    env = os.environ.get("GKREPORT_LOG")
    if env:
        return [Path(env)]
    import getpass
    import tempfile

    try:
        user = getpass.getuser()
    except Exception:  # no user name (a container without /etc/passwd entry)
        user = str(os.getpid())
    return [LOG_FILE, Path(tempfile.gettempdir()) / f"gkreport-{user}.log"]


def log_internal_error(where: str, exc: BaseException | None = None) -> Path | None:
    """Append the traceback of ``exc`` (default: the one being handled) to the log; the log's
    path, or None when no log could be written. Never raises: we are already failing."""
    import traceback

    text = "".join(traceback.format_exception(exc)) if exc is not None else traceback.format_exc()
    header = f"gkreport {__version__} Python {sys.version.split()[0]} {sys.platform} {where}"
    for path in log_candidates():
        if append_log(header, text, path):
            return path
    return None


def append_log(header: str, text: str, path: Path | None = None) -> bool:
    """Append one stamped entry to ``path`` (default :data:`LOG_FILE`, the add-in's log);
    whether it was written. Never raises: a log that cannot be written must not hide the
    failure being reported (the CLI then tries its next place, the add-in still alerts)."""
    import datetime as dt

    stamp = dt.datetime.now().isoformat(sep=" ", timespec="seconds")
    path = LOG_FILE if path is None else path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"\n=== {stamp} {header} ===\n{text}")
        return True
    except Exception:  # any failure to write (permissions, a bad GKREPORT_LOG path): not logged
        return False


def internal_error_message(where: str, exc: BaseException | None = None) -> str:
    """Log the exception and say so in one Chinese line (without the leading 错误：)."""
    log = log_internal_error(where, exc)
    tail = f"详细信息已写入日志文件 {log}，请将其发给维护人员" if log else "且无法写入日志文件"
    kind = f"：{type(exc).__name__}" if exc is not None else ""
    return f"程序内部错误（{where}{kind}）。{tail}"


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Initializer of worker processes: exit when the parent process dies (SIGKILL, crash),
    and leave Ctrl+C to the parent (which stops the pool), so no orphan keeps reading
    and no worker prints a traceback. Linux: the kernel's PR_SET_PDEATHSIG; everywhere:
    a thread that waits on the parent's sentinel."""
    import multiprocessing
    import threading

    with contextlib.suppress(ValueError, OSError):  # not the main thread of the worker
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    if not parent.is_alive():  # it died before the prctl above took effect
        os._exit(1)

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="gkreport-parent-watch", daemon=True).start()


@contextlib.contextmanager
def hidden_modules(*names: str) -> Iterator[None]:
    """Inside the block, ``import <name>`` raises ImportError for each of ``names`` not
    imported yet (as if it were not installed); afterwards they import normally."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes "import name" raise ImportError
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def import_openpyxl() -> None:
    """Import openpyxl without numpy, before the command that reads or writes workbooks.

    openpyxl imports numpy when it is installed (it is, for highspy) only to accept numpy
    scalars as cell values (``openpyxl.compat.numbers``); gkreport writes Python numbers
    only. numpy is ~40 % of openpyxl's import, paid by every command and ribbon click; a
    report whose identities fail still imports it later, for the solver (locate_milp).
    Nothing is changed in openpyxl: it runs as on a machine without numpy. When openpyxl
    (or numpy) is already imported, this does nothing."""
    if "openpyxl" in sys.modules:
        return
    import importlib

    with hidden_modules("numpy"):
        importlib.import_module("openpyxl")

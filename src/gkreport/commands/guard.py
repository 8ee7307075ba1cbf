"""The one guard around every command: whatever happens, one Chinese line, never a traceback.

``main`` runs the whole call inside it, and each command's function is wrapped with
:func:`guarded` too, so a command called on its own (tests, the demo, scripts that
build their own parser) keeps the same contract: it returns an exit code
(:class:`gkreport.core.exits.Exit`) and prints the reason, it does not raise.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

from gkreport.core.exits import Exit, UsageError

from .runtime import internal_error_message

# Nothing but the standard library and small modules is imported here: every command,
# ``--version`` included, starts inside this guard. The modules whose errors it reports
# (outputs, forms, readers) are looked up, or imported when there is something to report.
_USER_ERRORS = (("gkreport.output.outputs", "OutputError"), ("gkreport.core.forms", "FormError"),
                ("gkreport.readers.files", "ReadError"))


def _user_errors() -> tuple[type[BaseException], ...]:
    """The errors whose message is for the user (exit 2). Those of other modules are looked
    up, not imported: an exception of theirs means their module is loaded, and the guard
    must not import the readers' libraries at start (or to report an unrelated error)."""
    found: list[type[BaseException]] = [UsageError]
    for module, name in _USER_ERRORS:
        error = getattr(sys.modules.get(module), name, None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)


def run_guarded(func: Callable[..., int], *args: Any, where: str = "gkreport") -> int:
    """``func(*args)``'s exit code; every exception becomes its message and exit code."""
    try:
        return int(func(*args))
    except KeyboardInterrupt:
        say("已中断（未完成的输出文件已删除）。")
        return Exit.INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()  # `gkreport check … | head`: the reader has seen enough
        return Exit.BROKEN_PIPE
    except Exception as e:  # the CLI boundary: a bug is logged and is exit code 3, never a result
        return _report(e, where)


def _report(e: Exception, where: str) -> int:
    """Say what went wrong in one Chinese line; the exit code."""
    if isinstance(e, _user_errors()):
        say(f"错误：{e}")
        return Exit.UNUSABLE
    if isinstance(e, MemoryError):
        say("错误：" + internal_error_message(f"{where}，内存不足", e))
        return Exit.INTERNAL
    if isinstance(e, OSError):  # a file the command touched outside the checks made up front
        from gkreport.output.outputs import os_error_text

        name = f"{e.filename}：" if getattr(e, "filename", None) else ""
        say(f"错误：{name}{os_error_text(e)}")
        return Exit.UNUSABLE
    say("错误：" + internal_error_message(where, e))
    return Exit.INTERNAL


def guarded(command: Callable[..., int]) -> Callable[..., int]:
    """``command`` (one subcommand's ``run(args)``) under :func:`run_guarded`."""

    @functools.wraps(command)
    def run(*args: Any) -> int:
        name = getattr(args[0], "command", None) if args else None
        return run_guarded(command, *args, where=str(name or command.__module__.rsplit(".", 1)[-1]))

    return run


def say(text: str) -> None:
    """A line on stderr that cannot itself fail (stderr closed, or a pipe gone)."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's final flush does not
    report the closed pipe once more."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

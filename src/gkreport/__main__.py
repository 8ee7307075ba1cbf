"""``python -m gkreport`` and the ``gkreport`` console script: the command line's entry.

A ``pip install --user`` (no admin rights) puts ``gkreport.exe`` in a Scripts folder that
is usually not on PATH; ``python -m gkreport addin install`` always works.

Only ``sys`` is imported before :func:`main` is running: everything else, the command line
module included, is imported inside it, so a Ctrl+C at any moment (even in the first
milliseconds, while Python loads gkreport) ends with "已中断" and exit code 130, never a
traceback. From the moment :func:`gkreport.commands.cli.main` runs, its guard says the same.
"""

from __future__ import annotations

import sys

INTERRUPTED = 130  # = gkreport.core.exits.Exit.INTERRUPTED (not imported: it may be what was interrupted)


def main() -> int:
    """Run the command line on ``sys.argv``; its exit code."""
    try:
        from gkreport.commands.cli import main as cli_main

        return cli_main()
    except KeyboardInterrupt:  # before the guard ran (imports) or after it returned
        return _interrupted()


def _interrupted() -> int:
    """Say it in one line; a second Ctrl+C while exiting is ignored."""
    import contextlib
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, ValueError):  # stderr closed, or a pipe gone
        print("已中断。", file=sys.stderr, flush=True)
    return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

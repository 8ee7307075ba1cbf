"""Pickled results kept in the user's cache folder, each under the hash of everything it depends on.

What is cached is a pure function of code and bytes that costs tens of milliseconds at
every start (a built form, the grouping of the template's shared formulas); the caller
names it by a SHA-256 of those inputs (:func:`digest`, with :func:`code_signature` for the
code). An entry starts with its own key: one that does not, or does not unpickle, is
ignored and rewritten. Writes are atomic; a cache folder that cannot be written only costs
speed. The folder is the user's own (:func:`gkreport.core.form_schema.cache_dir`), as for the
validation stamps. Each kind keeps its :data:`MAX_PER_KIND` most recently used entries: every
edit of gkreport's code (in a checkout) or new version makes new keys, and the old entries
would otherwise stay for ever.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from gkreport import __version__

from .form_schema import cache_dir

_MAGIC = b"gkreport cache 1\n"
MAX_PER_KIND = 24  # a few forms and overlays, a few versions (a form's entry is ~80 KB)


def code_signature(*paths: Path, files: str = ".py") -> bytes:
    """gkreport's version, Python's, and the name, size and time of each file of ``paths`` (a
    folder stands for its modules, or with ``files="*"`` for every file in it, a native
    library's included): an edited module is other code (a wheel's never change)."""
    parts: list[Any] = [__version__, sys.version, pickle.HIGHEST_PROTOCOL]
    for path in paths:
        with contextlib.suppress(OSError):
            if path.is_dir():
                with os.scandir(path) as it:
                    files_in = sorted(Path(e.path) for e in it
                                      if e.is_file() and (files == "*" or e.name.endswith(files)))
            else:
                files_in = [path]
            for f in files_in:
                st = f.stat()
                parts.append((f.name, st.st_size, st.st_mtime_ns))
    return repr(parts).encode()


def digest(*parts: bytes) -> str:
    """SHA-256 of ``parts``, each length-prefixed (no two part lists give one stream)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _entry(kind: str, key: str) -> Path:
    return cache_dir() / kind / f"{key}.pickle"


def load(kind: str, key: str) -> Any | None:
    """What was stored under ``key``, or None (absent, another key's, damaged)."""
    head = _MAGIC + key.encode() + b"\n"
    try:
        data = _entry(kind, key).read_bytes()
    except OSError:
        return None
    if not data.startswith(head):
        return None
    try:
        value = pickle.loads(data[len(head):])
    except Exception:  # boundary: a damaged entry (or one of a removed class) is rebuilt, never used
        return None
    with contextlib.suppress(OSError):
        os.utime(_entry(kind, key))  # used now: the pruning keeps it
    return value


def store(kind: str, key: str, value: Any) -> None:
    """Keep ``value`` under ``key``, atomically; a cache that cannot be written only costs speed."""
    from gkreport.output.outputs import OutputError, atomic_write  # the one atomic writer (stdlib only)

    data = _MAGIC + key.encode() + b"\n" + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    with contextlib.suppress(OutputError, OSError):
        atomic_write(_entry(kind, key), lambda tmp: tmp.write_bytes(data))
    _prune(kind)


def _prune(kind: str) -> None:
    """Delete all but the :data:`MAX_PER_KIND` most recently used entries of ``kind``."""
    entries: list[tuple[float, str]] = []
    with contextlib.suppress(OSError), os.scandir(cache_dir() / kind) as it:
        for e in it:
            if e.name.endswith(".pickle") and e.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    entries.append((e.stat(follow_symlinks=False).st_mtime, e.path))
    entries.sort()
    for _, path in entries[:max(0, len(entries) - MAX_PER_KIND)]:
        with contextlib.suppress(OSError):
            os.unlink(path)

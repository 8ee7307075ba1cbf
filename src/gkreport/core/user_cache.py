"""Pickled results kept in the user's cache folder, each under the hash of everything it depends on.

What is cached is a pure function of code and bytes that costs tens of milliseconds at
every start (a built form, the grouping of the template's shared formulas); the caller
names it by a SHA-256 of those inputs (:func:`digest`, with :func:`code_signature` for the
code). An entry starts with its own key: one that does not, or does not unpickle, is
ignored and rewritten. Writes are atomic; a cache folder that cannot be written only costs
speed. The folder is the user's own (:func:`gkreport.core.form_schema.cache_dir`), as for the
validation stamps.
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
        return pickle.loads(data[len(head):])
    except Exception:  # boundary: a damaged entry (or one of a removed class) is rebuilt, never used
        return None


def store(kind: str, key: str, value: Any) -> None:
    """Keep ``value`` under ``key``, atomically; a cache that cannot be written only costs speed."""
    from gkreport.output.outputs import OutputError, atomic_write  # the one atomic writer (stdlib only)

    data = _MAGIC + key.encode() + b"\n" + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    with contextlib.suppress(OutputError, OSError):
        atomic_write(_entry(kind, key), lambda tmp: tmp.write_bytes(data))

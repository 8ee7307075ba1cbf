"""Built forms kept in the user's cache folder, so a command does not build them at every start.

Building a form (its cells, its rules expanded, every consistency check) takes 10–20 ms a
form, and every ``check`` loads both forms: a tenth of a one-file check. A form is a pure
function of gkreport's code and the bytes of its files, so the built form is pickled under a
SHA-256 of exactly those: gkreport's version, Python's version, the name, size and
modification time of every module of ``gkreport.core`` (an edited module is other code),
the schemas, the forms available and the form's and overlay files' bytes (:func:`form_key`). Any other content is
another key, built, checked and validated as before; an entry that does not start with its
own key, or does not unpickle to a form, is ignored and rebuilt. The cache folder is the
user's own (:func:`gkreport.core.form_schema.cache_dir`), as for the validation stamps; a
read-only one only costs speed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from functools import cache
from pathlib import Path
from typing import Any

from gkreport import __version__

from .form_schema import FORM_SCHEMA, OVERLAY_SCHEMA, cache_dir, stamp_key

_MAGIC = b"gkreport form cache 1\n"


@cache
def _code() -> bytes:
    """gkreport's version, Python's, and every ``gkreport.core`` module's name, size and time."""
    parts: list[Any] = [__version__, sys.version, pickle.HIGHEST_PROTOCOL]
    with contextlib.suppress(OSError), os.scandir(Path(__file__).parent) as it:
        for e in sorted(it, key=lambda e: e.name):
            if e.name.endswith(".py"):
                st = e.stat()
                parts.append((e.name, st.st_size, st.st_mtime_ns))
    return repr(parts).encode()


def form_key(version: str, path: Path, data: bytes, overlays: list[tuple[Path, bytes]],
             available: list[tuple[str, Path]]) -> str:
    """The key of form ``version`` built from ``data`` (read at ``path``) with ``overlays``
    (each file's path and bytes) applied, by this code, when the forms ``available`` are
    these (an overlay naming a form that is no longer there must fail again)."""
    h = hashlib.sha256()
    parts = [_code(), version.encode(), str(path).encode(), stamp_key(FORM_SCHEMA, data).encode(),
             repr([(v, str(p)) for v, p in available]).encode()]
    for p, b in overlays:
        parts += [str(p).encode(), stamp_key(OVERLAY_SCHEMA, b).encode()]
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _entry(key: str) -> Path:
    return cache_dir() / "forms" / f"{key}.pickle"


def load(key: str) -> Any | None:
    """The form stored under ``key``, or None (absent, another key's, damaged)."""
    head = _MAGIC + key.encode() + b"\n"
    try:
        data = _entry(key).read_bytes()
    except OSError:
        return None
    if not data.startswith(head):
        return None
    try:
        return pickle.loads(data[len(head):])
    except Exception:  # boundary: a damaged entry (or one of a removed class) is rebuilt, never used
        return None


def store(key: str, form: Any) -> None:
    """Keep ``form`` under ``key``, atomically; a cache that cannot be written only costs speed."""
    from gkreport.output.outputs import OutputError, atomic_write  # the one atomic writer (stdlib only)

    data = _MAGIC + key.encode() + b"\n" + pickle.dumps(form, protocol=pickle.HIGHEST_PROTOCOL)
    with contextlib.suppress(OutputError, OSError):
        atomic_write(_entry(key), lambda tmp: tmp.write_bytes(data))

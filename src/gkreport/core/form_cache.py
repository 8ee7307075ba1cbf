"""Built forms kept in the user's cache folder, so a command does not build them at every start.

Building a form (its cells, its rules expanded, every consistency check) takes 10–20 ms a
form, and every ``check`` loads both forms: a tenth of a one-file check. A form is a pure
function of gkreport's code and the bytes of its files, so the built form is pickled
(:mod:`gkreport.core.user_cache`) under a SHA-256 of exactly those: gkreport's version,
Python's version, the name, size and modification time of every module of
``gkreport.core`` (an edited module is other code), the schemas, the forms available and
the form's and overlay files' bytes (:func:`form_key`). Any other content is another key,
built, checked and validated as before.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from . import user_cache
from .form_schema import FORM_SCHEMA, OVERLAY_SCHEMA, stamp_key

KIND = "forms"


@cache
def _code() -> bytes:
    return user_cache.code_signature(Path(__file__).parent)


def form_key(version: str, path: Path, data: bytes, overlays: list[tuple[Path, bytes]],
             available: list[tuple[str, Path]]) -> str:
    """The key of form ``version`` built from ``data`` (read at ``path``) with ``overlays``
    (each file's path and bytes) applied, by this code, when the forms ``available`` are
    these (an overlay naming a form that is no longer there must fail again)."""
    parts = [_code(), version.encode(), str(path).encode(), stamp_key(FORM_SCHEMA, data).encode(),
             repr([(v, str(p)) for v, p in available]).encode()]
    for p, b in overlays:
        parts += [str(p).encode(), stamp_key(OVERLAY_SCHEMA, b).encode()]
    return user_cache.digest(*parts)


def load(key: str) -> Any | None:
    """The form stored under ``key``, or None."""
    return user_cache.load(KIND, key)


def store(key: str, form: Any) -> None:
    user_cache.store(KIND, key, form)

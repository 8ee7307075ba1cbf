"""Each file's reading result kept for the next run over the same bytes (``consolidate``,
``check`` of several files).

A county consolidates again and again while the agencies' files come in and come back
corrected: the 300th run reads the same 299 files as the 299th. What reading and checking one
file gives (consolidate's :class:`FileSummary`: numbers, blanks, findings, fingerprint; check's
``FileResult``: who, what, findings) is a pure function of

- the file's bytes (SHA-256) and its suffix (which reader reads it);
- the rules: every form's and overlay file's bytes, as :mod:`gkreport.core.form_cache` keys them;
- the code: gkreport's version, Python's, the name, size and time of every module of the
  readers, the engine, the consolidation and the checking (an edited module is other code),
  and the files of the libraries the readers read with;
- the command and its options that change a file's result (``check --form/--year``).

So a summary is stored under the hash of all of these and used again only for the same
hash. Nothing else is trusted: no path, no modification time. A file that changed while it
was read (its hash before and after differ) is not stored; neither is a result that is not a
plain reading (an unreadable file, a gkreport bug, a crashed worker, a summary one level
down, whose manifest is read by path). Results are stored with their path and time blanked;
a hit gets this run's.

The store is one SQLite file in the user's cache folder (:func:`gkreport.core.form_schema.cache_dir`),
read by the workers (each opens its own connection after the fork) and written by the
parent once, at the end of the reading, in one transaction. Entries not used for the longest
are dropped beyond :data:`MAX_ENTRIES`. A store that cannot be opened, is locked by another
run, or is damaged only costs speed: the file is read. ``--no-cache`` on the command line
(or ``GKREPORT_NO_CACHE=1``) reads every file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gkreport.core import user_cache
from gkreport.core.form_schema import cache_dir

if TYPE_CHECKING:  # (``check`` imports this module: nothing of the consolidation at its start)
    import sqlite3

    from .consolidate_model import FileSummary

MAX_ENTRIES = 50_000  # ~2 KB each (4 KB on disk): a province of 40,000 agencies in under 200 MB
MAX_BYTES = 16 * 1024 * 1024  # bigger files are read each time (and refused by the reader's own limits)
DB_NAME = "readings.sqlite3"
_SCHEMA = "CREATE TABLE IF NOT EXISTS readings (key TEXT PRIMARY KEY, used REAL NOT NULL, value BLOB NOT NULL)"
_LIBRARIES = ("python_calamine", "openpyxl", "lxml", "defusedxml", "docx", "olefile")  # import names


@dataclass
class Store:
    """The open store of one run: the scope every key starts with, and this process's connection."""

    path: Path
    scope: bytes
    _conn: sqlite3.Connection | None = field(default=None, repr=False)
    _pid: int = 0

    def connection(self) -> sqlite3.Connection:
        """This process's connection: a forked worker opens its own (SQLite connections must
        not cross a fork)."""
        if self._conn is None or self._pid != os.getpid():
            import sqlite3

            self._conn = sqlite3.connect(self.path, timeout=2.0, isolation_level=None)
            self._pid = os.getpid()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def __getstate__(self) -> dict[str, Any]:
        """Sent to a spawned worker (Windows, macOS) without the connection."""
        return {"path": self.path, "scope": self.scope, "_conn": None, "_pid": 0}


_ACTIVE: Store | None = None  # the store of the reading in progress (forked workers inherit it)


def disabled_by_environment() -> bool:
    return os.environ.get("GKREPORT_NO_CACHE", "").strip() not in ("", "0")


def open_store(command: str, options: bytes = b"") -> Store | None:
    """The store for one run of ``command`` with ``options`` (what else changes a file's result),
    made ready, or None (disabled, or it cannot be used: the files are then all read, as
    without a cache)."""
    import sqlite3

    if disabled_by_environment():
        return None
    scope = _scope()
    if scope is None:
        return None
    scope = user_cache.digest(scope, command.encode(), options).encode()
    store = Store(cache_dir() / DB_NAME, scope)
    try:
        store.path.parent.mkdir(parents=True, exist_ok=True)
        if store.path.exists() and not store.path.is_file():  # a folder, a FIFO: never opened
            return None
        store.connection().execute(_SCHEMA)
    except (sqlite3.Error, OSError):
        return None
    finally:
        store.close()  # no connection open when the workers are forked
    return store


@contextlib.contextmanager
def active(store: Store | None) -> Any:
    """Make ``store`` the one the workers use while the files are read (:func:`through`)."""
    activate(store)
    try:
        yield
    finally:
        activate(None)


def activate(store: Store | None) -> None:
    """A worker's start: the run's store. Forked workers inherit it anyway; spawned ones
    (Windows, macOS) get it here, or they would read every file."""
    global _ACTIVE
    _ACTIVE = store


R = TypeVar("R")


@dataclass(frozen=True)
class Reading(Generic[R]):
    """One file's result, and ``key``, its key in the store when it came from there
    (``reused``) or may be kept there; "" otherwise."""

    value: R
    key: str = ""
    reused: bool = False


def through(path: str, read: Callable[[], R], reuse: Callable[[object], R | None],
            storable: Callable[[R], bool]) -> Reading[R]:
    """``read()``'s result for ``path``, or ``reuse(stored)`` of the one stored for the same
    bytes when that is not None (the caller checks what it finds and gives it this run's path);
    runs in a worker. A new result gets its key only when ``storable`` and the file's bytes are
    still those hashed before it was read (the bytes read are the bytes hashed)."""
    store = _ACTIVE
    key = file_key(store, path) if store is not None else None
    if store is None or key is None:
        return Reading(read())
    hit = lookup(store, key)
    again = reuse(hit) if hit is not None else None
    if again is not None:
        return Reading(again, key, reused=True)
    value = read()
    return Reading(value, key if storable(value) and file_key(store, path) == key else "")


def summarise(path: str) -> FileSummary:
    """:func:`summarise_file` of ``path``, or its stored result for the same bytes (runs in a
    worker; never raises); the key travels in the summary's ``cache_key``."""
    from .consolidate_model import FileSummary
    from .consolidate_read import file_mtime, summarise_file

    def reuse(hit: object) -> FileSummary | None:
        if not (isinstance(hit, FileSummary) and _storable(hit)):
            return None
        return replace(hit, path=path, mtime=file_mtime(path), cached=True)

    got = through(path, lambda: summarise_file(path), reuse, _storable)
    got.value.cache_key = got.key
    return got.value


def keep_summaries(store: Store | None, summaries: Iterable[FileSummary]) -> None:
    """Store the new readings among consolidate's ``summaries``; mark the reused ones as used now."""
    if store is None:
        return
    new: list[tuple[str, Any]] = []
    reused: list[str] = []
    for s in summaries:
        if s.cached and s.cache_key:
            reused.append(s.cache_key)
        elif s.cache_key:
            new.append((s.cache_key, replace(s, path="", mtime=0.0, cache_key="", cached=False)))
    keep(store, new, reused)


def keep(store: Store | None, new: Iterable[tuple[str, Any]], reused: Iterable[str]) -> None:
    """Store each ``(key, result)`` of ``new`` and mark the keys ``reused`` as used now; a store
    that cannot be written (locked by another run, read-only, damaged) is left as it is."""
    import sqlite3

    if store is None:
        return
    now = time.time()
    rows = [(k, now, pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)) for k, v in new]
    used = [(now, k) for k in reused]
    if not rows and not used:
        store.close()
        return
    try:
        conn = store.connection()
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT OR REPLACE INTO readings (key, used, value) VALUES (?, ?, ?)", rows)
            conn.executemany("UPDATE readings SET used = ? WHERE key = ?", used)
            conn.execute("DELETE FROM readings WHERE key IN (SELECT key FROM readings ORDER BY used DESC "
                         "LIMIT -1 OFFSET ?)", (MAX_ENTRIES,))
    except (sqlite3.Error, OSError):
        pass
    finally:
        store.close()


def lookup(store: Store, key: str) -> object | None:
    """What was stored under ``key``, or None (absent, damaged, the store unusable); the caller
    checks that it is what it stores."""
    import sqlite3

    try:
        row = store.connection().execute("SELECT value FROM readings WHERE key = ?", (key,)).fetchone()
    except (sqlite3.Error, OSError):
        return None
    if row is None:
        return None
    try:
        value: object = pickle.loads(row[0])
    except Exception:  # boundary: a damaged entry (or one of a removed class) is read again, never used
        return None
    return value


def _storable(s: FileSummary) -> bool:
    return s.ok and not s.internal and not s.unreadable and s.rollup is None


def file_key(store: Store, path: str) -> str | None:
    """The key of ``path``'s present bytes in this run, or None (unreadable here, or too big to keep)."""
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_BYTES:
                return None
            data = fh.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_BYTES:
        return None
    return user_cache.digest(store.scope, os.path.splitext(path)[1].lower().encode(),
                             hashlib.sha256(data).digest())


def _scope() -> bytes | None:
    """Everything but the file that decides what reading it gives (see the module docstring);
    None when the rules' key cannot be had (a file unreadable, a stamp missing)."""
    from gkreport.core.forms import rules_key

    rules = rules_key()
    if rules is None:
        return None
    return user_cache.digest(_code(), rules.encode()).encode()


@cache
def _code() -> bytes:
    """gkreport's own modules that read and check a file, and the libraries they read with:
    each library's package folder, by its files' names, sizes and times (an upgrade rewrites
    them; ``importlib.metadata`` would cost 50 ms at every run)."""
    import importlib.util

    package = Path(__file__).resolve().parent.parent
    folders = [package / "__init__.py", package / "core", package / "readers", package / "consolidation",
               package / "markers", package / "commands" / "runtime.py"]
    for name in _LIBRARIES:
        spec = importlib.util.find_spec(name)
        for where in (spec.submodule_search_locations or []) if spec is not None else []:
            folders.append(Path(where))
    return user_cache.code_signature(*folders, files="*")

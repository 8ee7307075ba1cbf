"""Where the project's data folders live, installed or in a source checkout.

A wheel carries ``rules/``, ``templates/``, ``addin/`` and ``samples/`` under
``gkreport/_data``; an editable install (and the test-suite) reads them from the
repository's top level, so there is exactly one copy of each in the source tree.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_REPO_ROOT = _PACKAGE_DIR.parents[1]


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``rules``, ``templates``, ``addin``, ``samples``)."""
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    return _REPO_ROOT / name

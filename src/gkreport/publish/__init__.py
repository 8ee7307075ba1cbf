"""``gkreport publish``: the annual report as published, from a checked report.

:func:`build_publication` (content.py) decides what the document says; ``to_docx`` and
``to_html`` only lay it out. Outputs are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..report import Report
from .content import Publication, build_publication

FORMATS = (".docx", ".html", ".htm")

__all__ = ["FORMATS", "Publication", "build_publication", "publish", "write_atomic"]


def write_atomic(path: Path, write) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place,
    so a crash or a full disk never leaves half a document where a good one was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".~gk-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def publish(report: Report, path: Path) -> Path:
    """Write the publication of ``report`` as .docx or .html (by the suffix of ``path``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"发布文件应为 .docx 或 .html：{path.name}")
    pub = build_publication(report)
    if suffix == ".docx":
        from .to_docx import write_docx

        return write_atomic(path, lambda tmp: write_docx(pub, tmp))
    from .to_html import write_html

    return write_atomic(path, lambda tmp: write_html(pub, tmp))

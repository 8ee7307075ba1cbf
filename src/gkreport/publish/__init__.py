"""``gkreport publish``: the annual report as published, from a checked report.

:func:`build_publication` (content.py) decides what the document says; ``to_docx`` and
``to_html`` only lay it out. Outputs are written by :func:`gkreport.output.outputs.atomic_write`.
"""

from __future__ import annotations

from pathlib import Path

from gkreport.core.report import Report
from gkreport.output.outputs import atomic_write

from .content import Publication, build_publication

FORMATS = (".docx", ".html", ".htm")

__all__ = ["FORMATS", "Publication", "build_publication", "publish"]


def publish(report: Report, path: Path) -> Path:
    """Write the publication of ``report`` as .docx or .html (by the suffix of ``path``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"发布文件应为 .docx 或 .html：{path.name}")
    pub = build_publication(report)
    if suffix == ".docx":
        from .to_docx import write_docx

        return atomic_write(path, lambda tmp: write_docx(pub, tmp))
    from .to_html import write_html

    return atomic_write(path, lambda tmp: write_html(pub, tmp))

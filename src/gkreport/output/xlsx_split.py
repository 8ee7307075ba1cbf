"""Bulk rows generated and compressed in two processes at once (Linux), for :mod:`gkreport.output.xlsx_rows`.

Why: after the reading, writing the summary is the whole wait, and one core does all of
it: openpyxl's save, the rows' XML, zlib. The work splits in two nearly even halves that
need nothing from each other: a forked child generates and compresses the largest sheet's
rows (明细: 200 numbers an agency), while the parent saves the workbook and does the other
sheets' rows. Each half is a raw deflate segment (:mod:`gkreport.output.zip_segments`); the
parent then writes the archive from the saved parts and the segments.

The same workbook, part for part, as the one-process path (tests/test_summary_background.py).
Never worse off than that path: not used where a fork is unsafe (see
:func:`gkreport.output.background_save.can_fork`), nor for a sheet so large that the child's
copy of the pages it reads would weigh (a province: the one-process path streams it); a
child that fails, dies or is killed means the parent generates that sheet itself.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from openpyxl.workbook.workbook import Workbook

from gkreport.readers.ooxml import sheet_parts

from .background_save import ForkedJob, save_plain, start_job
from .outputs import atomic_write
from .xlsx_rows import BulkRows, head_and_tail, row_chunks
from .zip_segments import DeflatedBody, SegmentZipWriter, deflate_to

# The child's sheet at most this many cells (明细 of 20,000 agencies, the long table of 2,000):
# the pages of the parent's heap it reads are copied for it (copy-on-write), so it stays small.
SPLIT_CELLS = 4_000_000


def child_sheet(bulk: Mapping[str, BulkRows]) -> str | None:
    """The sheet the child takes: the largest, if the split is worth it and stays small."""
    if len(bulk) < 2:
        return None
    title = max(bulk, key=lambda t: bulk[t].n_rows * bulk[t].n_cols)
    return title if bulk[title].n_rows * bulk[title].n_cols <= SPLIT_CELLS else None


def save_split(wb: Workbook, path: Path, bulk: Mapping[str, BulkRows], tmp: Path) -> bool:
    """Write ``wb`` with ``bulk`` at ``path`` (atomically) in two processes, using the scratch
    folder ``tmp``; False, with nothing consumed or written, when it cannot be done here."""
    title = child_sheet(bulk)
    if title is None:
        return False
    mine = tmp / "child.deflate"
    pid = start_job(lambda: _child(bulk[title], mine))
    if pid is None:
        return False
    job = ForkedJob(pid)
    child_body: list[DeflatedBody] = []

    def body_of(t: str) -> DeflatedBody:
        """A sheet's segment; the child's is waited for only when its turn comes in the archive
        (the parts before it are written meanwhile)."""
        if t != title:
            return bodies[t]
        if not child_body:
            done = _result(mine) if job.wait() else None
            # the child failed: its sheet is done here
            child_body.append(done or deflate_to(row_chunks(bulk[title]), tmp / "again.deflate"))
        return child_body[0]

    try:
        plain = tmp / "plain.xlsx"
        save_plain(wb, plain)
        bodies = {t: deflate_to(row_chunks(b), tmp / f"body-{i}.deflate")
                  for i, (t, b) in enumerate(bulk.items()) if t != title}
        atomic_write(path, lambda done: _assemble(plain, done, bulk, body_of))
    except BaseException:  # no child left behind on any way out (Ctrl+C too); re-raised
        job.cancel()
        raise
    job.wait()  # reaped already when its segment was waited for: a no-op
    return True


def _child(b: BulkRows, path: Path) -> None:
    body = deflate_to(row_chunks(b), path)
    done = path.with_suffix(".done")
    done.with_suffix(".part").write_text(f"{body.crc} {body.size}")
    done.with_suffix(".part").rename(done)  # whole or absent


def _result(path: Path) -> DeflatedBody | None:
    """The child's segment, if it says it finished it."""
    try:
        crc, size = (int(x) for x in path.with_suffix(".done").read_text().split())
    except (OSError, ValueError):
        return None
    return DeflatedBody(path, crc, size) if path.is_file() else None


def _assemble(plain: Path, dst: Path, bulk: Mapping[str, BulkRows], body_of: Callable[[str], DeflatedBody]) -> None:
    """The archive: ``plain``'s parts in their order, each bulk sheet's with its rows inside."""
    with zipfile.ZipFile(plain) as zin, open(dst, "wb") as fh:
        parts = sheet_parts(zin)
        title_of = {parts[title]: title for title in bulk}
        out = SegmentZipWriter(fh)
        for info in zin.infolist():
            data = zin.read(info.filename)
            title = title_of.get(info.filename)
            if title is None:
                out.add(info.filename, info.date_time, info.external_attr, [data])
            else:
                head, tail = head_and_tail(data, bulk[title])
                out.add(info.filename, info.date_time, info.external_attr, [head, body_of(title), tail])
        out.close()

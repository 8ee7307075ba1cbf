"""The progress bar of the summary's writing (a province's summary has 40,000 rows per list and
takes a while after the reading is done)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from gkreport.output.xlsx_rows import BulkRows


def with_progress(bulk: dict[str, BulkRows]) -> Callable[[], None]:
    """Count the rows as they are written (the bulk rows are most of the writing); returns
    what completes the bar once the file is written. Rows a child process writes (the
    largest sheet, see :mod:`gkreport.output.xlsx_split`) are counted then, all at once:
    one bar, drawn by this process only."""
    from dataclasses import replace

    from gkreport.output.background_save import in_child

    from .consolidate_read import Progress

    bar = Progress(sum(b.n_rows for b in bulk.values()), True, label="写入汇总表", unit=" 行")

    def counted(rows: Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
        for row in rows:
            yield row
            if not in_child():
                bar.step()

    def finish() -> None:
        while bar.done < bar.total:
            bar.step()

    for title, b in bulk.items():
        bulk[title] = replace(b, rows=counted(b.rows))
    return finish

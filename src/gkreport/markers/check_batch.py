"""``check`` over many files at consolidation speed: the same reading path as ``consolidate``
(the fast reader, which reads exactly what the full reader reads or declines, see
:mod:`gkreport.readers.workbook`), in worker processes (:mod:`gkreport.consolidation.pool`), marked
copies written by the workers.

Why the results are the same as checking each file alone: every file is read by
``read_any(mode="fast")`` — the full reader's Report, or the full reader itself — and
checked by the same engine call with the same ``previous``; the parent only prints.
Why they come out in the same order every time: the pool yields results in input order,
and the marked copies' names are reserved in input order before any worker starts
(:meth:`MarkPlan.reserve`), so no name depends on which worker finished first.

A worker sends back a :class:`FileResult` without the Report (pickling one costs ~2 ms,
as much as reading the file); only when return notices are asked for does a file with an
error keep its Report, since the notice prints its values.

With ``cache`` a file whose bytes were checked before by the same code, rules and options
gives that result again (:mod:`gkreport.consolidation.read_cache`), unless this run needs
more of it than was kept: its marked copy, or its Report for a return notice. A run with
``--previous`` reads every file (the result depends on last year's report too).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gkreport.consolidation.pool import map_files
from gkreport.core.forms import available_forms, load_form
from gkreport.core.report import Report
from gkreport.readers.workbook import warm_layout

from .checking import FileResult, MarkPlan, is_new_template, mark_result, read_and_check

if TYPE_CHECKING:  # the reading cache is imported when a batch runs, not at a one-file check's start
    from gkreport.consolidation import read_cache


@dataclass(frozen=True)
class BatchOptions:
    """What every file of one run is checked with (sent to each worker once)."""

    form: str | None = None
    year: int | None = None
    previous: Report | None = None
    mark_all: bool = False  # a copy for every file read, not only those with errors or warnings
    keep_reports: bool = False  # send back the Report of files with errors (return notices)


@dataclass(frozen=True)
class Job:
    """One file, and where its marked copy may go (reserved by the parent; None: no --mark)."""

    path: Path
    copy: Path | None = None  # marked in place (a template workbook)
    copy_new: Path | None = None  # a new, filled template (an imported report)
    refused: tuple[bool, bool] = (False, False)  # that path is one of the run's inputs


_OPTIONS = BatchOptions()


def _init(options: BatchOptions, store: read_cache.Store | None = None) -> None:
    """Worker start (or the parent, when run serially): the run's options and reading cache
    (:func:`gkreport.consolidation.read_cache.activate`); forms warmed."""
    from gkreport.consolidation import read_cache

    global _OPTIONS
    _OPTIONS = options
    read_cache.activate(store)
    for v in available_forms():
        warm_layout(load_form(v))


@dataclass(frozen=True)
class _Shipped:
    """A Report on its way back from a worker: everything but the Form, which goes by version."""

    version: str
    fields: dict[str, object]

    @classmethod
    def of(cls, report: Report) -> _Shipped:
        return cls(report.form.version, {k: v for k, v in vars(report).items() if k != "form"})

    def report(self) -> Report:
        return Report(form=load_form(self.version), **self.fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Done:
    """A worker's answer for one job: the result, the Report when the parent needs it, and the
    file's cache key when the result is new and may be kept (``reused``: it came from the cache)."""

    result: FileResult
    shipped: _Shipped | None = None
    key: str = ""
    reused: bool = False


def check_job(job: Job) -> _Done:
    """Read, check and (when due) mark one file, or take its kept result when that is all
    this run needs of it; runs in a worker and never raises."""
    from gkreport.consolidation import read_cache

    o = _OPTIONS

    def reuse(kept: object) -> _Done | None:
        if not (isinstance(kept, FileResult) and _storable(kept) and _enough(kept, job, o)):
            return None
        return _Done(replace(kept, file=job.path, reused=True))

    got = read_cache.through(str(job.path), lambda: _read_check_mark(job, o), reuse,
                             lambda done: _storable(done.result))
    return replace(got.value, key=got.key, reused=got.reused)


def _read_check_mark(job: Job, o: BatchOptions) -> _Done:
    result = read_and_check(job.path, previous=o.previous, form=o.form, year=o.year, mode="fast")
    if result.report is not None and not result.internal and job.copy is not None \
            and (o.mark_all or result.needs_mark):
        new = is_new_template(result)
        out = job.copy_new if new else job.copy
        assert out is not None
        result = mark_result(result, out, refused=job.refused[1 if new else 0])
    keep = o.keep_reports and result.counts["error"] > 0 and result.report is not None
    shipped = _Shipped.of(result.report) if keep and result.report is not None else None
    return _Done(replace(result, report=None), shipped)


def _storable(r: FileResult) -> bool:
    """A plain reading and checking: read, no error of the file or of gkreport."""
    return r.info is not None and r.error is None and not r.internal


def _enough(kept: FileResult, job: Job, o: BatchOptions) -> bool:
    """Whether a kept result is all this run needs of the file: not when a marked copy is due
    or a return notice needs the Report."""
    return not (job.copy is not None and (o.mark_all or kept.needs_mark)) \
        and not (o.keep_reports and kept.counts["error"] > 0)


def _crashed(job: Job) -> _Done:
    return _Done(FileResult(job.path, error="读取此文件时读取进程意外退出（文件可能已损坏或异常巨大），已跳过"))


def plan_jobs(files: Sequence[Path], plan: MarkPlan | None) -> list[Job]:
    """A job per file, the marked copies' names reserved in input order."""
    if plan is None:
        return [Job(Path(f)) for f in files]
    jobs = []
    for f in files:
        own, new = plan.reserve(Path(f))
        jobs.append(Job(Path(f), own, new, (plan.is_input(own), plan.is_input(new))))
    return jobs


def check_files(jobs: Sequence[Job], options: BatchOptions, workers: int | None = None,
                cache: bool = False) -> Iterator[FileResult]:
    """Results of ``jobs`` in their order, checked in worker processes when worthwhile;
    ``cache``: files checked before by the same code, rules and options are not read again."""
    from gkreport.consolidation import read_cache

    store = None
    if cache and options.previous is None:
        store = read_cache.open_store("check", repr((options.form, options.year)).encode())
    new: list[tuple[str, FileResult]] = []
    reused: list[str] = []
    with read_cache.active(store):
        for done in map_files(check_job, list(jobs), workers, crashed=_crashed,
                              initializer=_init, initargs=(options, store)):
            result = done.result
            if done.reused:
                reused.append(done.key)
            elif done.key:
                new.append((done.key, replace(result, file=Path(""), marked=None, marked_is_new=False)))
            if done.shipped is not None:
                result.report = done.shipped.report()
            yield result
    read_cache.keep(store, new, reused)

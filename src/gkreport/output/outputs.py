"""Writing outputs safely: the one atomic-write helper, output checks, and an output lock.

Every file gkreport writes (templates, marked copies, summaries, imported reports, the
add-in) goes through :func:`atomic_write`: the content is written to a temporary file
next to the target and renamed over it, so an interruption, a full disk or a crash
never leaves a half-written workbook where a good one was expected.

- Temporary files are named ``.~gk-<pid>-…``: the input scan (``inputs.py``) never takes
  them for reports, and :func:`clean_stale_temps` removes those whose process is gone
  (a run killed with SIGKILL cannot clean up after itself).
- The file gets ordinary permissions (0666 minus the umask), not mkstemp's 0600.
- :func:`check_output` refuses, before any work, an output that is a folder, a special
  file (FIFO, device), one of this run's inputs, or has a suffix the content is not.
- :func:`output_lock` makes a second run writing the same output fail at once with a
  clear message instead of both "succeeding" and one silently losing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

TEMP_PREFIX = ".~gk-"
LOCK_PREFIX = TEMP_PREFIX + "lock-"
_TEMP_PID = re.compile(r"^\.~gk-(?:lock-)?(\d+)-")
STALE_AFTER = 24 * 3600  # a temp whose owner cannot be told is removed after a day
NAME_MAX = 255  # bytes of one file name on every common file system


class OutputError(Exception):
    """An output cannot be written; the message says why in Chinese, naming the file (exit 2)."""


def is_temp_name(name: str) -> bool:
    """Whether a file or folder name is one of our temporary or lock files."""
    return name.startswith(TEMP_PREFIX)


# ------------------------------------------------------------------------- messages


_ERRNO_TEXT = {
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "超出磁盘配额",
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
    errno.EROFS: "所在磁盘是只读的",
    errno.ENAMETOOLONG: "文件名或路径过长",
    errno.EISDIR: "这是一个文件夹",
    errno.ENOTDIR: "路径中的某一级不是文件夹",
    errno.ENOENT: "所在文件夹不存在",
    errno.EEXIST: "文件已存在",
    errno.EBUSY: "文件正被其他程序占用",
    errno.ETXTBSY: "文件正被其他程序占用",
    errno.EIO: "磁盘读写错误",
}


def os_error_text(e: OSError) -> str:
    """An OSError in Chinese (the reason only; the caller names the file)."""
    if e.errno in _ERRNO_TEXT:
        return _ERRNO_TEXT[e.errno]
    if getattr(e, "winerror", None) == 32:  # ERROR_SHARING_VIOLATION: open in Excel
        return "文件正被其他程序（如 Excel）打开，请关闭后重试"
    return f"系统错误：{e.strerror or type(e).__name__}"


def write_error(path: Path, e: OSError) -> OutputError:
    return OutputError(f"无法写入 {path}：{os_error_text(e)}")


# ------------------------------------------------------------------------- checks


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def check_output(path: Path, *, suffixes: Iterable[str] = (".xlsx",), force: bool = False,
                 inputs: Iterable[Path] = (), what: str = "输出文件") -> Path:
    """Refuse an output that cannot or must not be written, before any work is done.

    ``suffixes``: what the content is (an .xlsx written under .xls or .xlsm would not
    open); ``inputs``: this run's inputs, which are never overwritten, even with --force.
    """
    path = Path(path)
    allowed = tuple(s.lower() for s in suffixes)
    if path.suffix.lower() not in allowed:
        raise OutputError(f"{what}必须是 {' 或 '.join(allowed)} 文件：{path}")
    if len(path.name.encode("utf-8")) > NAME_MAX:
        raise OutputError(f"{what}的文件名过长：{path}")
    try:
        st = path.lstat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputError(f"无法使用{what} {path}：{os_error_text(e)}") from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            try:
                st = path.stat()
            except OSError:
                st = None  # a dangling link: replaced like any missing file
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{what} {path} 是一个文件夹，请给出文件名（例如 {path / ('汇总' + allowed[0])}）")
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{what} {path} 不是普通文件（管道、设备等），不能写入")
    exists = st is not None
    if exists and any(_same_file(path, Path(p)) for p in inputs):
        raise OutputError(f"{what} {path} 是本次读取的文件之一，不能覆盖")
    if exists and not force:
        raise OutputError(f"{what} {path} 已存在；如需覆盖请加 --force")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"无法写入 {path}：{parent} 不是文件夹")
    return path


# ------------------------------------------------------------------------- atomic write


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_path(folder: Path, suffix: str) -> tuple[int, str]:
    import tempfile  # (imported when an output is written: a check without --mark writes none)

    return tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix, dir=folder)


def atomic_write(path: Path, write: Callable[[Path], object], *, mode: int | None = None) -> Path:
    """Write ``path`` through ``write(temp_path)`` and an atomic rename; the temp is removed on any failure.

    ``mode``: the file's permissions before the umask (default 0666: an ordinary file).
    An OSError of the file system becomes an :class:`OutputError` naming ``path``.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temp_path(folder, path.suffix)
    except OSError as e:
        raise write_error(path, e) from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, (0o666 if mode is None else mode) & ~_umask())
        with open(tmp, "rb+") as fh:  # on disk before the rename: a power cut leaves old or new, not empty
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _remove(Path(tmp))
        raise write_error(path, e) from None
    except BaseException:  # no temporary file left behind, whatever stopped us (Ctrl+C too); re-raised
        _remove(Path(tmp))
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> Path:
    """:func:`atomic_write` of a bytes object."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), mode=mode)


@contextlib.contextmanager
def temp_dir(near: Path) -> Iterator[Path]:
    """A private scratch folder next to ``near`` (same disk, so a rename out of it is atomic)."""
    folder = Path(near).parent if str(Path(near).parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=folder))
    except OSError as e:
        raise write_error(Path(near), e) from None
    try:
        yield tmp
    except OSError as e:
        raise write_error(Path(near), e) from None
    finally:
        _remove(tmp)


def _remove(p: Path) -> None:
    try:
        if p.is_dir() and not p.is_symlink():
            for child in p.iterdir():
                _remove(child)
            p.rmdir()
        else:
            p.unlink(missing_ok=True)
    except OSError:
        pass


# ------------------------------------------------------------------------- stale temps


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return True  # cannot tell cheaply: rely on age
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_stale_temps(folder: Path) -> int:
    """Remove temporary files/folders a killed run left directly in ``folder``; returns how many.

    A temp is stale when the process named in it is gone, or it is older than a day.
    Lock files are left alone (a lock is held by an open handle, not by the file)."""
    removed = 0
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return 0
    now = time.time()
    for p in entries:
        if not is_temp_name(p.name) or p.name.startswith(LOCK_PREFIX):
            continue
        m = _TEMP_PID.match(p.name)
        try:
            age = now - p.lstat().st_mtime
        except OSError:
            continue
        if (m and not _pid_alive(int(m[1]))) or age > STALE_AFTER:
            _remove(p)
            removed += 1
    return removed


# ------------------------------------------------------------------------- lock


class _Lock:
    """An exclusive, non-blocking lock on an open file (released when the process ends)."""

    def __init__(self, fh: object) -> None:
        self.fh = fh

    @staticmethod
    def try_lock(fd: int) -> bool:
        if sys.platform == "win32":
            import msvcrt

            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                return False
            return True
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                return False
            if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                return True  # a file system without locks (some network shares): no protection, no failure
            raise
        return True


@contextlib.contextmanager
def output_lock(path: Path, label: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s lock file for the whole run (``label``: how the
    message names what is being written, default ``path``).

    The lock file ``.~gk-lock-<name>`` sits next to the output; the operating system
    releases the lock when the process ends however it ends, so a killed run never
    blocks the next one. A second run writing the same output fails at once."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    name = LOCK_PREFIX + path.name
    if len(name.encode("utf-8")) > NAME_MAX:
        import hashlib

        name = LOCK_PREFIX + hashlib.sha1(path.name.encode("utf-8")).hexdigest()
    lock_path = folder / name
    busy = OutputError(f"另一个 gkreport 正在写入 {label or path}，请等它完成后再试")
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise write_error(path, e) from None
        try:
            if not _Lock.try_lock(fd):
                raise busy
            # Another run may have removed the file between our open and lock: then we hold
            # a lock on a name nobody else sees; start again on the current file.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
            except OSError:
                same = False
            if same or os.name == "nt":
                break
        except BaseException:  # the descriptor is closed on every way out; re-raised
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if os.name != "nt":
                lock_path.unlink()
        os.close(fd)
        if os.name == "nt":
            with contextlib.suppress(OSError):
                lock_path.unlink()

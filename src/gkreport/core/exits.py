"""The exit codes of every ``gkreport`` command: the one definition (README and ``--help`` quote it).

Scripts and the Excel add-in branch on these, so they mean the same in every command:
a *finding* in a report (1) is the user's data speaking; a file that could not be read
or written, or a wrong call (2), is something to fix before the answer means anything;
an internal error (3) is a bug in gkreport, with the traceback in a log file.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Process exit status of a command."""

    OK = 0  # done, no error finding
    FINDINGS = 1  # done, and at least one error finding was reported
    UNUSABLE = 2  # a file could not be read or written, or the command was wrong
    INTERNAL = 3  # a bug in gkreport: the traceback is in the log file named on stderr
    INTERRUPTED = 130  # Ctrl+C (128 + SIGINT, as shells report it)
    BROKEN_PIPE = 141  # the output pipe closed early (`| head`): quiet (128 + SIGPIPE)


HELP = """退出码：
  0 = 完成且未发现错误
  1 = 发现错误（结果已输出）
  2 = 有文件无法读取或写入，或命令用法有误
  3 = 程序内部错误（详情写入日志文件，屏幕上给出日志位置）
  130 = 被中断（Ctrl+C）；141 = 输出管道提前关闭（如 | head），不提示"""


def worst(*codes: int) -> int:
    """The exit code of a batch: the most serious of its parts (3 > 2 > 1 > 0)."""
    rank: dict[int, int] = {Exit.OK: 0, Exit.FINDINGS: 1, Exit.UNUSABLE: 2, Exit.INTERNAL: 3, Exit.INTERRUPTED: 4, Exit.BROKEN_PIPE: 4}
    return max(codes, key=lambda c: rank.get(c, 3), default=Exit.OK)


class UsageError(Exception):
    """A wrong call (a missing file, a bad option value): printed in Chinese, exit code 2."""

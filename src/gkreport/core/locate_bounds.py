"""How much work localisation may do for one report, and what the clerk is told past it.

Every bound that decides is counted, never timed, so the same report gets the same
findings on every machine, however busy — in the ribbon, the CLI, a worker of
``check FOLDER`` and CI alike (a clock would give a loaded machine fewer answers):

* before solving, per block of related identities: at most ``max_cells`` cells and
  ``max_identities`` identities, and the least conceivable weight of an explanation
  (one cheapest cell per violated identity over identities sharing no cell) at most
  ``max_cost`` — beyond that the table is not "a few mistyped cells" and naming cells
  would be guessing;
* while solving: ``nodes`` branch-and-bound nodes per HiGHS solve and ``report_nodes``
  for all solves of the report together (alternatives are capped by ``max_alternatives``).

One clock remains, ``seconds`` per report, only as a guard against pathological inputs.
Past any bound the finding names no cell as likely wrong and says which bound stopped it;
an incomplete search is never presented as certain. Chosen and measured in
``docs/localisation.md`` (计算量上限).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# Why a block was not localised (a key is ``Solution.stopped``), told to the clerk.
STOPPED = {
    "size": "。这组勾稽关系涉及 {cells} 个单元格、{rows} 条关系，超出定位的规模上限"
            "（{max_cells} 个单元格、{max_identities} 条关系），未找出最可能填错的格子；请逐项核对",
    "changes": "。表内不平之处过多，要改动很多格子才能使各项关系都成立（超出定位上限），"
               "不再推测哪些格子填错；请逐项核对，表格可能整体错位或未按要求填写",
    "work": "。表内不平之处过多，定位达到计算量上限（按计算步数计，任何电脑上结果相同），"
            "未找出最可能填错的格子；请逐项核对",
    "failed": "。定位用的求解器未能完成计算，未找出最可能填错的格子；请逐项核对",
    "time": "。定位超过时间保护上限（{seconds:g} 秒）而停止，未指出具体填错的格子"
            "（只有极端异常的数据才会如此）；请逐项核对",
}


@dataclass(frozen=True)
class Bounds:
    """The limits; defaults calibrated in docs/localisation.md."""

    nodes: int = 1000
    report_nodes: int = 3000
    max_cells: int = 400
    max_identities: int = 200
    max_cost: float = 10.0
    seconds: float = 60.0

    def too_big(self, cells: int, identities: int) -> str:
        """The clerk's sentence when a block is too big to localise, else ""."""
        if cells <= self.max_cells and identities <= self.max_identities:
            return ""
        return STOPPED["size"].format(cells=cells, rows=identities, max_cells=self.max_cells,
                                      max_identities=self.max_identities)

    def budget(self) -> Budget:
        """The work one report may do; its clock starts now."""
        return Budget(self.report_nodes, time.perf_counter() + self.seconds, self.max_cost)

    def why(self, stopped: str) -> str:
        """The clerk's sentence for a search cut short (``Solution.stopped``), or ""."""
        return STOPPED[stopped].format(seconds=self.seconds) if stopped in STOPPED else ""


@dataclass
class Budget:
    """The work one report's localisation may still do, shared by its blocks (``nodes``
    is spent by :func:`gkreport.core.locate_milp.solve`). ``deadline`` is a
    ``time.perf_counter()`` value: past it a search keeps nothing it found, since what
    it found would depend on the machine."""

    nodes: int | None = None
    deadline: float | None = None
    max_cost: float | None = None

    def seconds_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def node_limit(self, per_solve: int | None) -> int | None:
        """Nodes the next solve may use: its own cap, or what the report has left."""
        if self.nodes is None:
            return per_solve
        return self.nodes if per_solve is None else min(per_solve, self.nodes)

"""Write N filled agency workbooks (made from our template) for consolidation tests and benchmarks.

``python benchmarks/make_agencies.py N DIR [--form 2021] [--seed S] [--year Y] [--no-bad]``

Speed matters (1000 files in well under two minutes): the template is built ONCE and
the same openpyxl workbook is refilled and saved for every agency, instead of building
a template per file. Every agency's tables are consistent by construction (parts are
drawn, totals computed); about 3% get one planted error; a few bad files are added
(corrupt zip, renamed CSV, ``~$`` lock file, one file of the other form version).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gkreport.core.forms import Form, load_form
from gkreport.output.fill import fill_workbook
from gkreport.output.template import build_template

if str(Path(__file__).resolve().parent) not in sys.path:  # loaded by file path (the tests)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from fast_agency_writer import FastAgencyWriter

DEPARTMENTS = (
    "财政局", "教育局", "公安局", "民政局", "司法局", "人力资源和社会保障局", "自然资源局", "生态环境局",
    "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局", "文化和旅游局", "卫生健康委员会",
    "退役军人事务局", "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局", "林业局",
    "城市管理局", "行政审批局", "信访局", "发展和改革局", "科学技术局", "工业和信息化局", "档案馆", "政务服务中心",
)
SYLLABLES = "东西南北中新和安平清石青龙凤云山河湖溪桥塘林花金银白马杨柳高长永兴福宁泰丰"
DEFAULT_YEAR = {"2019": 2019, "2021": 2023}


FIRST_COUNTY = 1000  # agencies named as before in 某某县 (benchmarks up to 1000 files stay comparable)
COUNTY_KINDS = "县市区"
PER_COUNTY_DEPARTMENTS = len(DEPARTMENTS)
PER_COUNTY_TOWNS = 30
MAX_AGENCIES = FIRST_COUNTY + len(SYLLABLES) * (len(SYLLABLES) - 1) * len(COUNTY_KINDS) * (
    PER_COUNTY_DEPARTMENTS + PER_COUNTY_TOWNS)


def _town(stem: str, kind: float) -> tuple[str, str]:
    """A town-level agency: a quarter streets, the rest townships and towns."""
    if kind < 0.25:
        return f"{stem}街道办事处", "街道"
    return (f"{stem}乡人民政府", "乡") if kind < 0.4 else (f"{stem}镇人民政府", "镇")


def agency_names(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` distinct (name, level) pairs, deterministic in ``seed``, for any ``n`` up to
    :data:`MAX_AGENCIES` (~160,000).

    The first :data:`FIRST_COUNTY` agencies are one county, 某某县: its departments, then
    towns and streets named by two syllables (as this generator always made them). Beyond
    that come further counties, each ``{两字}县/市/区`` with its departments and 30 towns
    (``东山县财政局``, ``东山县青龙镇人民政府``): a province's worth of distinct names.
    """
    if n > MAX_AGENCIES:
        raise ValueError(f"最多生成 {MAX_AGENCIES} 个单位")
    rng = random.Random(seed)
    first = min(n, FIRST_COUNTY)
    out: list[tuple[str, str]] = [(f"某某县{d}", "县本级") for d in DEPARTMENTS[: max(1, first // 3)]][:first]
    seen = {name for name, _ in out}
    while len(out) < first:
        name, level = _town("".join(rng.sample(SYLLABLES, 2)), rng.random())
        if name not in seen:
            seen.add(name)
            out.append((name, level))
    stems = [a + b for a in SYLLABLES for b in SYLLABLES if a != b]
    counties = [stem + kind for kind in COUNTY_KINDS for stem in stems]
    random.Random(seed + 1).shuffle(counties)
    county_rng = random.Random(seed + 2)
    for county in counties:
        if len(out) >= n:
            break
        out.extend((f"{county}{d}", "县本级") for d in DEPARTMENTS)
        for stem in county_rng.sample(stems, PER_COUNTY_TOWNS):
            out.append(_town(f"{county}{stem}", county_rng.random()))
    return out[:n]


def _spread(total: int, k: int, rng: random.Random, weights: Sequence[float] | None = None) -> list[int]:
    """Split ``total`` into ``k`` non-negative integers (weighted multinomial)."""
    w = list(weights or [1.0] * k)
    parts = [0] * k
    for _ in range(total):
        parts[rng.choices(range(k), w)[0]] += 1
    return parts


def agency_values(form: Form, rng: random.Random) -> dict[str, int | float | None]:
    """One agency's consistent values by cell id (table 2/3 totals computed from parts)."""
    v: dict[str, int | float | None] = {}
    s = form.sets
    apps = list(s["t2_applicants"])
    results = list(s["t2_results"])
    res_w = [8.0 if r == "granted" else 3.0 if r == "partial" else 0.4 for r in results]
    app_w = [6.0, 2.0, 0.3, 0.3, 0.5, 0.4][: len(apps)]
    big = rng.random() < 0.15
    new_total = rng.randint(0, 200 if big else 25)
    new = _spread(new_total, len(apps), rng, app_w)
    for a, x in zip(apps, new, strict=True):
        carried_in = rng.randint(0, 2) if rng.random() < 0.3 else 0
        out = rng.randint(0, min(2, x + carried_in)) if rng.random() < 0.3 else 0
        handled = x + carried_in - out
        v[f"t2.new.{a}"] = x
        v[f"t2.carried_in.{a}"] = carried_in
        v[f"t2.carried_out.{a}"] = out
        for r, y in zip(results, _spread(handled, len(results), rng, res_w), strict=True):
            v[f"t2.{r}.{a}"] = y
        v[f"t2.total.{a}"] = handled
    for row in s["t2_rows"]:
        v[f"t2.{row}.total"] = sum(int(v[f"t2.{row}.{a}"] or 0) for a in apps)
    for g in s["t3_groups"]:
        parts = [rng.randint(0, 2) if rng.random() < 0.2 else 0 for _ in s["t3_parts"]]
        for p, x in zip(s["t3_parts"], parts, strict=True):
            v[f"t3.{g}.{p}"] = x
        v[f"t3.{g}.total"] = sum(parts)
    for cid, cell in form.cells.items():
        if cid in v:
            continue
        if cell.type == "amount":
            v[cid] = round(rng.random() * 3, 2) if rng.random() < 0.2 else 0
        else:
            v[cid] = rng.randint(0, 30)
    # Some agencies leave an all-zero group of table 3 blank, as clerks do.
    last = s["t3_groups"][-1]
    if rng.random() < 0.1 and v[f"t3.{last}.total"] == 0:
        for p in (*s["t3_parts"], "total"):
            v[f"t3.{last}.{p}"] = None
    return v


def plant_error(values: dict[str, int | float | None], rng: random.Random) -> str:
    """Change one input cell so that its row and column totals no longer add up."""
    cid = "t2.granted.person"
    values[cid] = int(values[cid] or 0) + rng.randint(1, 5)
    return cid


def write_agencies(n: int, out_dir: Path, form_version: str = "2021", seed: int = 0, year: int | None = None,
                   error_share: float = 0.03, fast: bool = False, keep: bool = False) -> list[dict[str, object]]:
    """Write ``n`` agency workbooks into ``out_dir``; return one record per agency (values included).

    ``fast`` writes them with :class:`FastAgencyWriter` (the same cells, ~30x faster): what
    the benchmarks use for every size, so 1000 and 40,000 files are the same kind of file.
    ``keep`` leaves files already there (a set of N is the first N of a larger set with the
    same seed: link them in and only the rest is written).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    form = load_form(form_version)
    year = year or DEFAULT_YEAR.get(form_version, 2023)
    rng = random.Random(seed)
    wb = build_template(form)
    writer: FastAgencyWriter | None = None
    records: list[dict[str, object]] = []
    width = 4 if n < 10_000 else 6
    for i, (name, level) in enumerate(agency_names(n, seed)):
        values = agency_values(form, rng)
        planted = plant_error(values, rng) if rng.random() < error_share else None
        header: dict[str, int | float | str | None] = {"hdr.agency": name, "hdr.region": "某某县", "hdr.year": year, "hdr.preparer": "张三",
                  "hdr.phone": "0591-12345678", "hdr.date": f"{year + 1}-01-20"}
        path = out_dir / f"{i + 1:0{width}d}-{name}.xlsx"
        if keep and path.exists():
            pass
        elif fast:
            writer = writer or FastAgencyWriter(form, fill_workbook(wb, form, values, header))
            writer.write(path, values, header)
        else:
            fill_workbook(wb, form, values, header)
            wb.save(path)
        records.append({"name": name, "level": level, "path": path, "values": values, "planted": planted})
    return records


def write_bad_files(out_dir: Path, good: Path | None = None, seed: int = 0) -> dict[str, Path]:
    """A corrupt zip, a CSV renamed to .xlsx, an Office lock file and one 2019-form workbook."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "corrupt": out_dir / "损坏的文件.xlsx",
        "csv": out_dir / "改了扩展名的表格.xlsx",
        "lock": out_dir / "~$0001-某某县财政局.xlsx",
        "old_form": out_dir / "旧表式-某某县旧表式局.xlsx",
    }
    if good is not None:
        data = Path(good).read_bytes()
        paths["corrupt"].write_bytes(data[: len(data) // 2])
    else:
        paths["corrupt"].write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    paths["csv"].write_text("单位,新收申请\n某某县财政局,3\n", encoding="utf-8")
    paths["lock"].write_bytes(b"\x05zhangsan" + b"\x20" * 40)
    form = load_form("2019")
    values = agency_values(form, random.Random(seed))
    wb = fill_workbook(build_template(form), form, values,
                       {"hdr.agency": "某某县旧表式局", "hdr.region": "某某县", "hdr.year": 2019})
    wb.save(paths["old_form"])
    return paths


def write_roster(path: Path, records: Sequence[dict[str, object]]) -> Path:
    """A roster CSV (单位名称, 层级) for ``records``."""
    with Path(path).open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["单位名称", "层级"])
        for r in records:
            w.writerow([r["name"], r["level"]])
    return Path(path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="生成 N 份模拟填报的单位工作簿（用于汇总测试与性能测试）")
    p.add_argument("n", type=int, help="单位数")
    p.add_argument("dir", type=Path, help="输出文件夹")
    p.add_argument("--form", default="2021", choices=["2019", "2021"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--year", type=int)
    p.add_argument("--no-bad", action="store_true", help="不生成损坏文件等异常文件")
    p.add_argument("--keep", action="store_true", help="保留文件夹中已有的同名文件（只写其余的）")
    p.add_argument("--openpyxl", action="store_true", help="每份都用 openpyxl 保存（慢约 30 倍；默认直接写工作表 XML）")
    args = p.parse_args(argv)
    t = time.perf_counter()
    records = write_agencies(args.n, args.dir, args.form, args.seed, args.year, fast=not args.openpyxl,
                             keep=args.keep)
    if not args.no_bad:
        write_bad_files(args.dir, records[0]["path"] if records else None, args.seed)  # type: ignore[arg-type]
    roster = write_roster(args.dir.with_name(args.dir.name + "-名单.csv"), records)
    planted = sum(1 for r in records if r["planted"])
    print(f"已生成 {len(records)} 份工作簿（其中 {planted} 份有一处错误）于 {args.dir}（名单：{roster}），"
          f"用时 {time.perf_counter() - t:.1f} 秒", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

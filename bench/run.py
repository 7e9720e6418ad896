"""Run every bench/bench_*.py and write bench/RESULTS.md with the figures and the machine.

Each benchmark module has `run(scale: float) -> list[dict]`; each dict is one measured line with
`name`, `rows`, `seconds`, `rows_per_s`, and the naive way's `naive_rows_per_s` and `ratio`.
`BENCH_SCALE=0.1 make bench` runs everything on a tenth of the rows.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).parent


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem} RAM, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    only = sys.argv[1:]
    lines, notes = [], []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(f"== {path.stem}", flush=True)
        notes.append(f"### {path.stem}\n\n{(mod.__doc__ or '').strip()}\n")
        for r in mod.run(scale):
            print(
                f"  {r['name']}: {r['rows']:,} rows in {r['seconds']:.2f} s = {r['rows_per_s']:,.0f} rows/s; "
                f"naive {r['naive_rows_per_s']:,.0f} rows/s; ratio {r['ratio']:.1f}x",
                flush=True,
            )
            lines.append((path.stem, r))
    if only:
        return  # partial runs don't overwrite RESULTS.md
    out = [
        "# Benchmark results",
        "",
        f"Latest `make bench` (BENCH_SCALE={scale}), {dt.date.today().isoformat()}.",
        f"Machine: {machine()}.",
        "",
        "| benchmark | what | rows | seconds | rows/s | naive rows/s | ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for stem, r in lines:
        out.append(
            f"| {stem} | {r['name']} | {r['rows']:,} | {r['seconds']:.2f} | {r['rows_per_s']:,.0f} | "
            f"{r['naive_rows_per_s']:,.0f} | {r['ratio']:.1f}x |"
        )
    extra = HERE / "NOTES.md"  # measurements made by hand (too long for `make bench`), kept across runs
    if extra.exists():
        out += ["", extra.read_text(encoding="utf-8").strip(), ""]
    out += ["", "## What is measured, and the naive way", "", *notes]
    (HERE / "RESULTS.md").write_text("\n".join(out), encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()

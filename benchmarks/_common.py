"""Shared helpers for benchmark scripts: machine description and the results JSON format.

Every `benchmarks/<name>.py` prints a table and calls `write_result` to produce
`benchmarks/results/<name>.json` (format in ARCHITECTURE.md "Benchmarks");
`make bench-report` turns those files into BENCHMARKS.md.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_name() -> str:
    """The CPU model string from /proc/cpuinfo (falls back to platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """Short hash of HEAD, with '+dirty' when the tree has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "") if head else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_info(gl_renderer: str | None = None) -> dict:
    """The `machine` block of a result: cpu, cores, gl_renderer, python, commit."""
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "gl_renderer": gl_renderer or "none",
        "python": platform.python_version(),
        "commit": git_commit(),
    }


def target(op: str, value: float, measured: float) -> dict:
    """One entry of `targets`: whether `measured op value` holds."""
    ops = {"<=": measured <= value, ">=": measured >= value, "<": measured < value, ">": measured > value}
    if op not in ops:
        raise ValueError(f"unknown target operator {op!r}; allowed: {', '.join(ops)}")
    return {"op": op, "value": value, "measured": measured, "met": bool(ops[op])}


def write_result(name: str, metrics: dict, targets: dict, gl_renderer: str | None = None,
                 machine: dict | None = None) -> Path:
    """Write benchmarks/results/<name>.json and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine or machine_info(gl_renderer),
        "metrics": metrics,
        "targets": targets,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return path


def print_table(rows: list[dict], columns: list[str] | None = None) -> None:
    """Print rows of dicts as an aligned text table."""
    if not rows:
        print("(no rows)")
        return
    columns = columns or list(rows[0])
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

"""How many community shaders play unchanged: ISF collections and Shadertoy exports.

    python benchmarks/isf_compat.py DIR [--shadertoy] [--json] [--timeout S] [--no-strict]

For every shader under DIR (ISF: ``*.fs`` and ``*.frag`` files and ``.vs`` files in
VERTEX_SHADER_ART mode; with ``--shadertoy``:
JSON exports and folders holding image.glsl) the file is loaded, compiled and rendered for 30
frames at 64x64 in a child process with its own GL context while its inputs are driven the way
a performer would (floats and points animated, events pulsed, a test picture on image inputs,
the analysis of a test signal on audio inputs; see live/render/importer.py). Each file is
classified:

- ``nonconstant``: some frame has a pixel standard deviation above 1/255, or two frames differ
  by more than 1/255 somewhere;
- ``constant``: it renders, but nothing of that;
- ``compile_error``: it does not load, compile or render (the reason says where and why);
- ``unsupported:<feature>``: it needs a feature the engine does not have;
- ``timeout``: no result within the time limit (killed);
- ``strict_reject``: the translated GLSL is refused by ``glslangValidator -S frag`` (Debian's
  glslang-tools), stricter than Mesa, so it might fail on macOS or NVIDIA drivers.

Prints one tab-separated line per file (file, kind, status, reason) and ends with
``TOTAL <n> nonconstant <k> (<p>%)``; ``--json`` prints the same as one JSON document. Writes
benchmarks/results/isf_compat.json (or isf_compat_shadertoy.json) unless ``--no-write``.
Targets (issue 9): at least 98% of ISF files nonconstant and none strict_reject; at least 90%
of Shadertoy files nonconstant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import target, write_result
from live.render.importer import (
    DEFAULT_FRAMES,
    DEFAULT_SIZE,
    DEFAULT_TIMEOUT,
    ISF_FOLDER_SUFFIXES,
    ShaderChecker,
)
from live.render.shadertoy import is_shadertoy_source
from live.render.vsa import is_vsa_file

#: Share of files that must be nonconstant.
ISF_TARGET = 98.0
SHADERTOY_TARGET = 90.0


def find_shaders(root: Path, shadertoy: bool) -> list[Path]:
    """The files (and Shadertoy folders) to measure under ``root``, sorted."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames.sort()
        if shadertoy:
            if is_shadertoy_source(here):
                found.append(here)
                dirnames.clear()
                continue
            found.extend(here / f for f in sorted(filenames)
                         if f.lower().endswith(".json") and is_shadertoy_source(here / f))
        else:
            # vertexshaderart pieces are .vs files whose header says MODE VERTEX_SHADER_ART.
            found.extend(here / f for f in sorted(filenames)
                         if Path(f).suffix.lower() in ISF_FOLDER_SUFFIXES or is_vsa_file(here / f))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="folder of shaders (searched recursively)")
    parser.add_argument("--shadertoy", action="store_true", help="measure Shadertoy exports and "
                        "folders instead of ISF files")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds per file (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES)
    parser.add_argument("--no-strict", action="store_true", help="skip glslangValidator")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        parser.error(f"{args.dir}: not a folder")

    files = find_shaders(args.dir, args.shadertoy)
    rows = []
    with ShaderChecker(timeout=args.timeout, frames=args.frames, size=DEFAULT_SIZE,
                       strict=not args.no_strict) as checker:
        for file in files:
            result = checker.check(file, "shadertoy" if args.shadertoy else "isf")
            rel = file.relative_to(args.dir).as_posix()
            row = {"file": rel, "kind": result.kind, "status": result.status,
                   "reason": " ".join(result.reason.split()), "seconds": round(result.seconds, 3),
                   "max_std": result.max_std, "max_change": result.max_change}
            rows.append(row)
            if not args.json:
                print(f"{rel}\t{row['kind'] or '-'}\t{row['status']}\t{row['reason']}", flush=True)
        renderer = checker.renderer
    n = len(rows)
    counts = Counter(r["status"] for r in rows)
    k = counts.get("nonconstant", 0)
    percent = 100.0 * k / n if n else 0.0
    summary = f"TOTAL {n} nonconstant {k} ({percent:.1f}%)"
    if args.json:
        print(json.dumps({"files": rows, "counts": dict(counts), "total": n, "nonconstant": k,
                          "percent": round(percent, 2)}, indent=2))
    else:
        print(summary)
    if not args.no_write:
        name = "isf_compat_shadertoy" if args.shadertoy else "isf_compat"
        goal = SHADERTOY_TARGET if args.shadertoy else ISF_TARGET
        targets = {"nonconstant_percent": target(">=", goal, round(percent, 2))}
        if not args.shadertoy:
            targets["strict_reject"] = target("<=", 0, counts.get("strict_reject", 0))
        write_result(name, {"files": n, "counts": dict(counts), "nonconstant_percent":
                            round(percent, 2), "corpus": str(args.dir)}, targets, renderer)
    return 0


if __name__ == "__main__":
    sys.exit(main())

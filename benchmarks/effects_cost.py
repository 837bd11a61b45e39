"""Cost of every bundled warp and effect, as a ratio to a pass-through shader in the same run.

For each output size (640x360 and 1280x720) every effect renders over the standard test picture
(live/render/effects_preview.py) with its default parameters into an RGBA16F target, like a
layer's effect chain. A pass-through effect (one texture read) renders the same way. Blocks of
frames of each effect alternate with blocks of the pass-through, round after round, and every
frame ends with `ctx.finish()`, so each effect's median frame time is compared with the
pass-through's median over the same stretch of time: on a shared, noisy machine the ratio is
far steadier than the milliseconds. On llvmpipe the GPU is the CPU, so this is CPU time spent
rendering (both cores).

Target: every effect costs at most 10 times the pass-through at 640x360.

Usage: python benchmarks/effects_cost.py [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import moderngl
import numpy as np

from benchmarks._common import machine_info, print_table, target, write_result
from live.render.context import (
    create_headless_context,
    release_framebuffers,
    renderer_name,
)
from live.render.effects_catalog import list_effects
from live.render.effects_preview import (
    is_stateful,
    preview_engine_values,
    standard_picture,
)
from live.render.isf import IsfShader, load_isf
from live.render.program import IsfRenderer

SIZES = ((640, 360), (1280, 720))
#: An effect may cost at most this many pass-throughs at 640x360.
MAX_RATIO = 10.0

PASSTHROUGH = """/*{
    "DESCRIPTION": "Pass-through: the cheapest possible effect, the unit of cost",
    "INPUTS": [{"NAME": "inputImage", "TYPE": "image"}]
}*/
void main() {
    gl_FragColor = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
}
"""


class Runner:
    """One effect rendering frame after frame into a layer-like target. Render thread."""

    def __init__(self, ctx: moderngl.Context, shader: IsfShader, size: tuple[int, int],
                 picture: moderngl.Texture) -> None:
        self.ctx, self.shader, self.size, self.picture = ctx, shader, size, picture
        self.renderer = IsfRenderer(ctx, shader)
        self.params = shader.defaults()
        self.stateful = is_stateful(shader)
        self.targets = []
        for _ in range(2):
            tex = ctx.texture(size, 4, dtype="f2")
            self.targets.append((tex, ctx.framebuffer(color_attachments=[tex])))
        self.frame = 0
        self.current = 0

    def render_frame(self) -> float:
        """Render one frame and wait for it; returns the seconds it took."""
        uniforms = preview_engine_values(1.0 + self.frame / 30.0, self.frame)
        if self.stateful:
            uniforms.prev_frame = self.targets[self.current][0]
        self.current = 1 - self.current
        start = time.perf_counter()
        self.renderer.render(self.targets[self.current][1], self.size, self.params,
                             {"inputImage": self.picture}, uniforms)
        self.ctx.finish()
        self.frame += 1
        return time.perf_counter() - start

    def release(self) -> None:
        self.renderer.release()
        release_framebuffers(self.ctx, *(obj for pair in self.targets for obj in pair))


def measure_size(ctx: moderngl.Context, effects: list[tuple[str, IsfShader]], passthrough: IsfShader,
                 size: tuple[int, int], rounds: int, block: int) -> dict[str, dict]:
    """Median ms per frame of every effect and of the pass-through, blocks interleaved."""
    picture = ctx.texture(size, 4, np.ascontiguousarray(standard_picture(*size)[::-1], np.float16).tobytes(),
                          dtype="f2")
    picture.filter = (moderngl.LINEAR, moderngl.LINEAR)
    base = Runner(ctx, passthrough, size, picture)
    runners = {name: Runner(ctx, shader, size, picture) for name, shader in effects}
    base_times: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in runners}
    try:
        for runner in [base, *runners.values()]:  # warm up: first draws compile and allocate
            for _ in range(2):
                runner.render_frame()
        for _ in range(rounds):
            for name, runner in runners.items():
                base_times.extend(base.render_frame() for _ in range(block))
                times[name].extend(runner.render_frame() for _ in range(block))
    finally:
        for runner in [base, *runners.values()]:
            runner.release()
        picture.release()
    base_ms = statistics.median(base_times) * 1e3
    out = {"passthrough": {"ms": base_ms, "ratio": 1.0}}
    for name, samples in times.items():
        ms = statistics.median(samples) * 1e3
        out[name] = {"ms": ms, "ratio": ms / base_ms}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a rough figure)")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="only these effects (warps/ripple ...)")
    parser.add_argument("--sizes", default="640x360,1280x720", help="comma-separated WxH list")
    args = parser.parse_args(argv)
    rounds, block = (3, 3) if args.quick else (7, 4)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]

    catalog = list_effects()
    if args.only:
        catalog = [e for e in catalog if e.name in args.only or e.name.split("/", 1)[1] in args.only]
    ctx = create_headless_context()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "passthrough.fs"
        path.write_text(PASSTHROUGH)
        passthrough = load_isf(path)
    effects = [(e.name, load_isf(e.path)) for e in catalog]

    results: dict[str, dict] = {}
    for size in sizes:
        label = f"{size[0]}x{size[1]}"
        print(f"measuring {len(effects)} effects at {label} ...", flush=True)
        results[label] = measure_size(ctx, effects, passthrough, size, rounds, block)

    rows = []
    metrics: dict[str, dict] = {}
    for name, _ in [("passthrough", None), *effects]:
        row = {"effect": name}
        entry = {}
        for label, res in results.items():
            row[f"ms {label}"] = res[name]["ms"]
            row[f"x {label}"] = res[name]["ratio"]
            entry[f"ms_{label}"] = round(res[name]["ms"], 3)
            entry[f"ratio_{label}"] = round(res[name]["ratio"], 2)
        rows.append(row)
        metrics[name] = entry
    print_table(rows)

    targets = {}
    first = f"{sizes[0][0]}x{sizes[0][1]}"
    ratios = {name: res["ratio"] for name, res in results[first].items() if name != "passthrough"}
    worst = max(ratios, key=ratios.get) if ratios else None
    if worst is not None and sizes[0] == (640, 360):
        targets["max_ratio_to_passthrough_640x360"] = target("<=", MAX_RATIO, round(ratios[worst], 2))
        over = sorted((n for n, r in ratios.items() if r > MAX_RATIO), key=ratios.get, reverse=True)
        print(f"costliest at {first}: {worst} ({ratios[worst]:.2f}x pass-through); "
              f"over {MAX_RATIO:g}x: {', '.join(over) or 'none'}")
    costly = sorted(ratios, key=ratios.get, reverse=True)[:10]
    metrics["costliest_" + first] = {n: round(ratios[n], 2) for n in costly[:6]}
    if args.only or args.quick:
        print("(partial or quick run: results not written)")
        return 0
    path = write_result("effects_cost", metrics, targets, gl_renderer=renderer_name(ctx),
                        machine=machine_info(renderer_name(ctx)))
    # The report (benchmarks/report.py) prints a result's "notes" under its table.
    doc = json.loads(path.read_text())
    base = results[first]["passthrough"]["ms"]
    doc["notes"] = (f"Ratios are median frame times over the pass-through shader's "
                    f"({base:.2f} ms at {first} in this run), blocks interleaved. Costliest at {first}: "
                    + ", ".join(f"{n} {ratios[n]:.1f}x" for n in costly[:8]) + ".")
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")
    ctx.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost of the photosensitivity flash guard per frame at 640x360 and 1280x720.

Three ways of getting the program picture into the output framebuffer are timed, interleaved
in blocks, `ctx.finish()` after every frame, medians reported:

- `copy`: a bare full-size copy pass (what the output stage costs without a guard);
- `steady`: `FlashGuard.process` on a scrolling picture that never flashes (the usual case:
  two small measuring passes, a tiny readback and the copy pass);
- `damped`: `FlashGuard.process` on a full-screen 10 Hz black/white strobe, counting only the
  frames it damped (blend pass, history copy and a second measurement).

Targets (ratios to the copy pass, which hold up better than milliseconds on a shared machine):
at 640x360 the guard costs at most 2 copy passes per frame when nothing needs damping, and a
damped frame at most 10. Medians are the figures; minimums (the least disturbed frames) and the
load average are recorded alongside.

Usage: python benchmarks/flash_guard.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import moderngl
import numpy as np

from benchmarks._common import machine_info, print_table, target, write_result
from live.render.compositor import FULLSCREEN_VERTEX
from live.render.context import (
    create_headless_context,
    release_framebuffers,
    renderer_name,
)
from live.render.safety import FlashGuard

SIZES = ((640, 360), (1280, 720))
FPS = 60

_COPY = """
#version 330 core
out vec4 f_color;
uniform sampler2D u_src;
void main() { f_color = vec4(texelFetch(u_src, ivec2(gl_FragCoord.xy), 0).rgb, 1.0); }
"""


def scrolling_frames(size: tuple[int, int], n: int) -> list[np.ndarray]:
    """A slowly scrolling colour gradient (never a flash), RGBA8, n frames."""
    w, h = size
    x = np.arange(w)[None, :] / w
    y = np.arange(h)[:, None] / h
    frames = []
    for i in range(n):
        phase = 0.002 * i
        img = np.empty((h, w, 4), np.uint8)
        for c, off in enumerate((0.0, 0.33, 0.66)):
            img[..., c] = (127.5 + 127.5 * np.sin(2 * np.pi * (x + 0.5 * y - phase + off))).astype(np.uint8)
        img[..., 3] = 255
        frames.append(img)
    return frames


def run_size(ctx: moderngl.Context, size: tuple[int, int], rounds: int, block: int) -> dict:
    w, h = size
    scroll = [ctx.texture(size, 4, f.tobytes()) for f in scrolling_frames(size, 8)]
    white = np.full((h, w, 4), 255, np.uint8)
    strobe = [ctx.texture(size, 4, white.tobytes()), ctx.texture(size, 4, bytes(w * h * 4))]
    out_tex = ctx.texture(size, 4)
    dst = ctx.framebuffer(color_attachments=[out_tex])
    copy_prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_COPY)
    copy_vao = ctx.vertex_array(copy_prog, [])
    steady_guard = FlashGuard(ctx, size, fps_hint=FPS)
    strobe_guard = FlashGuard(ctx, size, fps_hint=FPS)
    times: dict[str, list[float]] = {"copy": [], "steady": [], "damped": [], "strobe_passed": []}
    frame = 0
    for i in range(3 * block):  # warm-up: compile, first allocations, fill the flash window
        steady_guard.process(scroll[i % 8], dst, 1 / FPS)
        strobe_guard.process(strobe[(i * 20 // FPS) % 2], dst, 1 / FPS)
    ctx.finish()
    strobe_frame = 3 * block
    for _ in range(rounds):
        for _ in range(block):
            t0 = time.perf_counter()
            dst.use()
            scroll[frame % 8].use(0)
            copy_vao.render(moderngl.TRIANGLES, vertices=3)
            ctx.finish()
            times["copy"].append((time.perf_counter() - t0) * 1e3)
            frame += 1
        for _ in range(block):
            t0 = time.perf_counter()
            steady_guard.process(scroll[frame % 8], dst, 1 / FPS)
            ctx.finish()
            times["steady"].append((time.perf_counter() - t0) * 1e3)
            frame += 1
        for _ in range(block):
            t0 = time.perf_counter()
            stats = strobe_guard.process(strobe[(strobe_frame * 20 // FPS) % 2], dst, 1 / FPS)
            ctx.finish()
            ms = (time.perf_counter() - t0) * 1e3
            times["damped" if stats.damped else "strobe_passed"].append(ms)
            strobe_frame += 1
    steady_guard.release()
    strobe_guard.release()
    copy_vao.release()
    copy_prog.release()
    release_framebuffers(ctx, dst, out_tex, *scroll, *strobe)
    med = {k: statistics.median(v) if v else float("nan") for k, v in times.items()}
    low = {k: min(v) if v else float("nan") for k, v in times.items()}
    return {
        "size": f"{w}x{h}",
        "copy_ms": round(med["copy"], 4),
        "steady_ms": round(med["steady"], 4),
        "damped_ms": round(med["damped"], 4),
        "strobe_undamped_ms": round(med["strobe_passed"], 4),
        "steady_overhead_ms": round(med["steady"] - med["copy"], 4),
        "steady_over_copy": round(med["steady"] / med["copy"], 3),
        "damped_over_copy": round(med["damped"] / med["copy"], 3),
        "min_ms": {k: round(v, 4) for k, v in low.items()},
        "frames_each": len(times["copy"]),
        "damped_frames": len(times["damped"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames (smoke run)")
    args = parser.parse_args()
    rounds, block = (3, 12) if args.quick else (10, 30)
    ctx = create_headless_context()
    gl = renderer_name(ctx)
    load_before = os.getloadavg()[0]
    rows = [run_size(ctx, size, rounds, block) for size in SIZES]
    ctx.release()
    load = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    print(f"GL: {gl}; ms per frame, medians, ctx.finish() after each frame")
    print_table(rows, ["size", "copy_ms", "steady_ms", "damped_ms", "steady_over_copy",
                       "damped_over_copy", "frames_each", "damped_frames"])
    print(f"minimums: {[r['min_ms'] for r in rows]}; load average {load}")
    small = rows[0]
    metrics = {**{r["size"]: r for r in rows}, "load_average": load}
    targets = {
        "steady_over_copy_640x360": target("<=", 2.0, small["steady_over_copy"]),
        "damped_over_copy_640x360": target("<=", 10.0, small["damped_over_copy"]),
    }
    if not args.quick:
        path = write_result("flash_guard", metrics, targets, machine=machine_info(gl))
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

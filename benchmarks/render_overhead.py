"""Render-core overhead: the engine against a bare moderngl loop, engine CPU time per frame,
and the offline render speed of every bundled scene.

1. A one-layer scene of a light fbm warp (benchmarks/shaders/bench/fbm_warp.fs, about 8 ms per
   frame on llvmpipe at 640x360) rendered by the engine, against a bare moderngl loop drawing the
   same translated shader into the same framebuffer; blocks interleaved, `ctx.finish()` after
   every frame, medians compared. Target: engine/bare <= 1.10.
2. The engine's own CPU time per frame: `Engine.tick()` at a 16x16 output minus the time spent
   inside moderngl calls that do GL work (draws, clears, binds, uploads). Targets: <= 0.5 ms for
   one layer, <= 2 ms for 8 layers with 3 effects each.
3. Offline render speed (x real time at 30 fps, H.264 encode and audio mux included) of every
   bundled scene at 640x360.

Usage: python benchmarks/render_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import moderngl  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from benchmarks._common import machine_info, print_table, target, write_result  # noqa: E402
from live.audio.synthetic import kick_hat_loop  # noqa: E402
from live.clock import ManualClock  # noqa: E402
from live.engine import Engine  # noqa: E402
from live.render.context import create_headless_context, renderer_name  # noqa: E402
from live.render.isf import load_isf  # noqa: E402
from live.render.offline import render_offline  # noqa: E402
from live.render.shader_source import default_search_roots  # noqa: E402
from live.scene import list_scenes, load_scene, parse_scene  # noqa: E402

BENCH_SHADERS = ROOT / "benchmarks" / "shaders"
SIZE = (640, 360)

ONE_LAYER = """
schema = 1
[scene]
name = "bench-fbm"
[[layers]]
id = "warp"
kind = "shader"
source = "bench/fbm_warp"
"""


def many_layers_scene(n_layers: int = 8, n_fx: int = 3) -> str:
    parts = ['schema = 1\n[scene]\nname = "bench-many"\n']
    blends = ["normal", "screen", "add", "multiply", "overlay", "difference", "lighten", "soft_light"]
    for i in range(n_layers):
        parts.append(f'[[layers]]\nid = "l{i}"\nkind = "shader"\nsource = "bench/solid"\n'
                     f'blend = "{blends[i % len(blends)]}"\nopacity = 0.8\n')
        for j in range(n_fx):
            parts.append(f'[[layers.fx]]\nid = "fx{j}"\nshader = "bench/tint"\n')
    for i in range(n_layers):
        parts.append(f'[[mappings]]\nsource = "audio.bass"\ntarget = "layers.l{i}.level"\nrange = [0.2, 0.9]\n')
    return "\n".join(parts)


def roots() -> list[Path]:
    return [BENCH_SHADERS, *default_search_roots()]


class BareLoop:
    """The same translated shader drawn with plain moderngl calls, no engine around it."""

    def __init__(self, ctx: moderngl.Context, fbo: moderngl.Framebuffer) -> None:
        shader = load_isf(BENCH_SHADERS / "bench" / "fbm_warp.fs", roots())
        self.ctx, self.fbo = ctx, fbo
        self.prog = ctx.program(vertex_shader=shader.vertex_source, fragment_shader=shader.fragment_source)
        quad = np.array([-1, -1, 1, -1, -1, 1, 1, 1], dtype="f4")
        self.vbo = ctx.buffer(quad.tobytes())
        self.vao = ctx.vertex_array(self.prog, [(self.vbo, "2f", "isf_Position")])
        for name, value in (("speed", 0.2), ("scale", 3.0), ("RENDERSIZE", SIZE)):
            if name in self.prog:
                self.prog[name].value = value
        self.time = self.prog["TIME"] if "TIME" in self.prog else None

    def frame(self, t: float) -> None:
        self.fbo.use()
        if self.time is not None:
            self.time.value = t
        self.vao.render(moderngl.TRIANGLE_STRIP)


def overhead(ctx: moderngl.Context, rounds: int, block: int) -> dict:
    clock = ManualClock()
    engine = Engine(ctx, SIZE, clock, shader_roots=roots())
    engine.load_scene(parse_scene(ONE_LAYER, "bench-fbm.toml"))
    bare = BareLoop(ctx, engine.output_fbo)
    engine_ms: list[float] = []
    bare_ms: list[float] = []
    frame = 0
    # Warm up both paths (shader compile, first allocations).
    for _ in range(5):
        engine.tick()
        bare.frame(0.0)
    ctx.finish()
    for _ in range(rounds):
        for _ in range(block):
            clock.set(frame / 60.0)
            frame += 1
            t0 = time.perf_counter()
            engine.tick()
            ctx.finish()
            engine_ms.append((time.perf_counter() - t0) * 1e3)
        for _ in range(block):
            frame += 1
            t0 = time.perf_counter()
            bare.frame(frame / 60.0)
            ctx.finish()
            bare_ms.append((time.perf_counter() - t0) * 1e3)
    engine.release()
    e, b = statistics.median(engine_ms), statistics.median(bare_ms)
    return {"engine_ms_median": e, "bare_ms_median": b, "ratio": e / b, "frames_each": len(engine_ms)}


class GLCallTimer:
    """Times the moderngl calls that do GL work, so engine CPU time = tick time - GL time.

    Wraps draw, clear, framebuffer/texture binding, texture upload and uniform writes on the
    classes (benchmark only). The wrappers' own cost lands on the engine side: conservative.
    """

    METHODS = ((moderngl.VertexArray, "render"), (moderngl.Framebuffer, "clear"),
               (moderngl.Framebuffer, "use"), (moderngl.Texture, "use"), (moderngl.Texture, "write"),
               (moderngl.Context, "copy_framebuffer"))

    def __init__(self) -> None:
        self.total = 0.0
        self._saved = []

    def __enter__(self) -> "GLCallTimer":
        for cls, name in self.METHODS:
            original = getattr(cls, name)
            self._saved.append((cls, name, original))

            def timed(*args, __original=original, **kwargs):
                t0 = time.perf_counter()
                try:
                    return __original(*args, **kwargs)
                finally:
                    self.total += time.perf_counter() - t0
            setattr(cls, name, timed)
        return self

    def __exit__(self, *exc) -> None:
        for cls, name, original in self._saved:
            setattr(cls, name, original)


def engine_cpu(ctx: moderngl.Context, scene_text: str, name: str, frames: int) -> dict:
    """Median CPU time per tick outside GL calls, at a 16x16 output."""
    clock = ManualClock()
    engine = Engine(ctx, (16, 16), clock, shader_roots=roots())
    engine.load_scene(parse_scene(scene_text, f"{name}.toml"))
    cpu, wall = [], []
    with GLCallTimer() as gl_timer:
        for i in range(frames + 20):
            clock.set(i / 60.0)
            gl_before = gl_timer.total
            t0 = time.perf_counter()
            engine.tick()
            dt = time.perf_counter() - t0
            gl = gl_timer.total - gl_before
            ctx.finish()
            if i >= 20:
                cpu.append((dt - gl) * 1e3)
                wall.append(dt * 1e3)
    engine.release()
    cpu.sort()
    return {"median_ms": statistics.median(cpu), "p90_ms": cpu[int(0.9 * len(cpu))],
            "tick_wall_median_ms": statistics.median(wall)}


def scene_speeds(seconds: float) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "loop.wav"
        sf.write(audio, kick_hat_loop(124.0, seconds), 48000)
        for name, path, _ in list_scenes([ROOT / "scenes"]):
            report = render_offline(load_scene(path), audio, Path(tmp) / "out.mp4", fps=30, size=SIZE,
                                    progress=False)
            rows.append({"scene": name, "file": path.name, "speed_x_realtime": round(report.speed, 3),
                         "ms_per_frame": round(1e3 * report.wall_seconds / report.frames, 2)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames (smoke run)")
    args = parser.parse_args()
    rounds, block, cpu_frames, seconds = (3, 10, 60, 2.0) if args.quick else (10, 30, 400, 4.0)

    ctx = create_headless_context()
    gl = renderer_name(ctx)
    ov = overhead(ctx, rounds, block)
    one = engine_cpu(ctx, ONE_LAYER, "one", cpu_frames)
    many = engine_cpu(ctx, many_layers_scene(), "many", cpu_frames)
    ctx.release()
    speeds = scene_speeds(seconds)

    print(f"GL: {gl}; output {SIZE[0]}x{SIZE[1]}")
    print_table([
        {"measure": "fbm warp, engine (ms/frame, median)", "value": ov["engine_ms_median"]},
        {"measure": "fbm warp, bare moderngl (ms/frame, median)", "value": ov["bare_ms_median"]},
        {"measure": "engine / bare", "value": ov["ratio"]},
        {"measure": "engine CPU, 1 layer (ms/frame, median)", "value": one["median_ms"]},
        {"measure": "engine CPU, 8 layers x 3 fx (ms/frame, median)", "value": many["median_ms"]},
    ])
    print()
    print_table(speeds)
    metrics = {"size": f"{SIZE[0]}x{SIZE[1]}", "overhead": ov, "engine_cpu_one_layer": one,
               "engine_cpu_8_layers_3_fx": many,
               "offline_speed": {r["scene"]: r["speed_x_realtime"] for r in speeds},
               "offline_ms_per_frame": {r["scene"]: r["ms_per_frame"] for r in speeds}}
    targets = {
        "engine_over_bare": target("<=", 1.10, round(ov["ratio"], 4)),
        "engine_cpu_one_layer_ms": target("<=", 0.5, round(one["median_ms"], 4)),
        "engine_cpu_8x3_ms": target("<=", 2.0, round(many["median_ms"], 4)),
    }
    if not args.quick:
        path = write_result("render_overhead", metrics, targets, gl_renderer=gl)
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

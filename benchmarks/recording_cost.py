"""Recording's cost per frame at 640x360 and 1280x720.

For each size a one-layer scene of a light fbm warp (benchmarks/shaders/bench/fbm_warp.fs: a
moving picture, so the encoder has real work; about 8 ms per frame at 640x360 and 20 ms at
1280x720 on llvmpipe, so a 30 fps show is possible at both sizes), with synthetic audio blocks
handed to `add_audio` as the live audio side would, is measured three ways:

1. Render-thread cost of `Recorder.capture()` alone (the asynchronous readback into a pixel
   buffer and the queueing of the previous frame), `ctx.finish()` before and after.
2. Frame time with and without recording, rendering flat out: blocks interleaved, `ctx.finish()`
   after every frame, medians compared. The difference is what recording takes from the render
   thread, including the CPU the encoder thread competes for (llvmpipe and x264 share 2 cores).
   Recording runs at 30 fps on a 30 fps timeline, so every frame is recorded.
3. The encoder alone: frames per second the writer encodes (H.264 ultrafast plus AAC).
4. A real-time show at 30 fps (wall clock, paced) with recording: frames the show missed and
   frames the recorder dropped because the encoder fell behind.

Targets: capture() at most 1 ms (640x360) and 3 ms (1280x720) per frame (median); no frame
dropped by the recorder in the real-time 640x360 show.

Usage: python benchmarks/recording_cost.py [--quick]
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

import numpy as np  # noqa: E402

from benchmarks._common import print_table, target, write_result  # noqa: E402
from live.clock import ManualClock, WallClock  # noqa: E402
from live.engine import Engine  # noqa: E402
from live.render.context import create_headless_context, renderer_name  # noqa: E402
from live.render.outputs.timing import FramePacer  # noqa: E402
from live.render.recorder import LIVE_PRESET, Recorder  # noqa: E402
from live.render.shader_source import default_search_roots  # noqa: E402
from live.render.video import Mp4Writer  # noqa: E402
from live.scene import parse_scene  # noqa: E402

SIZES = ((640, 360), (1280, 720))
FPS = 30
SR = 48000
ROOTS = [ROOT / "benchmarks" / "shaders", *default_search_roots()]
SCENE = parse_scene('schema = 1\n[scene]\nname = "bench-fbm"\n[[layers]]\nid = "warp"\nkind = "shader"\n'
                    'source = "bench/fbm_warp"\n', "bench-fbm.toml")


def audio_block(i: int) -> np.ndarray:
    """1/30 s of a quiet tone, as the audio callback would hand it over."""
    t = (np.arange(SR // FPS) + i * (SR // FPS)) / SR
    x = (0.2 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
    return np.stack([x, x], axis=1)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def flat_out(ctx, size: tuple[int, int], rounds: int, block: int, folder: Path) -> dict:
    """Frame time with and without recording (interleaved) and capture() time alone."""
    clock = ManualClock()
    engine = Engine(ctx, size, clock, shader_roots=ROOTS)
    engine.load_scene(SCENE)
    frame = 0
    for _ in range(5):  # warm up: compile, first allocations
        clock.set(frame / FPS)
        engine.tick()
        frame += 1
    ctx.finish()
    plain_ms: list[float] = []
    recorded_ms: list[float] = []
    capture_ms: list[float] = []
    dropped = written = 0
    for r in range(rounds):
        for _ in range(block):
            clock.set(frame / FPS)
            frame += 1
            t0 = time.perf_counter()
            engine.tick()
            ctx.finish()
            plain_ms.append((time.perf_counter() - t0) * 1e3)
        clock.set(frame / FPS)
        rec = Recorder(engine.output_fbo, folder / f"flat-{size[0]}-{r}.mp4", clock=clock, fps=FPS,
                       audio_rate=SR)
        for i in range(block):
            clock.set(frame / FPS)
            frame += 1
            t0 = time.perf_counter()
            engine.tick()
            ctx.finish()
            t1 = time.perf_counter()
            rec.capture()
            ctx.finish()
            t2 = time.perf_counter()
            rec.add_audio(audio_block(i), SR, t=clock.now())
            recorded_ms.append((t2 - t0) * 1e3)
            capture_ms.append((t2 - t1) * 1e3)
        rec.stop()
        report = rec.join(120)
        dropped += report.frames_dropped
        written += report.frames_written
    engine.release()
    plain, recorded = statistics.median(plain_ms), statistics.median(recorded_ms)
    return {
        "frame_ms_median_plain": plain,
        "frame_ms_median_recording": recorded,
        "recording_cost_ms": recorded - plain,
        "capture_ms_median": statistics.median(capture_ms),
        "capture_ms_p99": pct(capture_ms, 99),
        "flat_out_frames_recorded": written,
        "flat_out_frames_dropped": dropped,
    }


def encoder_speed(ctx, size: tuple[int, int], frames: int, folder: Path) -> dict:
    """Frames per second the writer alone encodes (H.264 ultrafast plus AAC), no rendering."""
    clock = ManualClock()
    engine = Engine(ctx, size, clock, shader_roots=ROOTS)
    engine.load_scene(SCENE)
    pictures = []
    for i in range(frames):
        clock.set(i / FPS)
        engine.tick()
        pictures.append(engine.read_rgba().copy())
    engine.release()
    writer = Mp4Writer(folder / f"enc-{size[0]}.mp4", size, FPS, audio_rate=SR, preset=LIVE_PRESET, crf=23)
    t0 = time.perf_counter()
    for i, picture in enumerate(pictures):
        writer.write_frame(picture, pts=i)
        writer.write_audio(audio_block(i))
    writer.close()
    return {"encoder_fps": frames / (time.perf_counter() - t0)}


def real_time(ctx, size: tuple[int, int], seconds: float, folder: Path) -> dict:
    """A paced 30 fps show with recording: missed frame slots and recorder drops."""
    clock = WallClock()
    engine = Engine(ctx, size, clock, shader_roots=ROOTS)
    engine.load_scene(SCENE)
    engine.tick()
    ctx.finish()
    rec = Recorder(engine.output_fbo, folder / f"live-{size[0]}.mp4", clock=clock, fps=FPS, audio_rate=SR)
    pacer = FramePacer(clock, FPS)
    frames = 0
    frame_ms: list[float] = []
    end = clock.now() + seconds
    while clock.now() < end:
        pacer.wait()
        t0 = time.perf_counter()
        engine.tick()
        rec.capture()
        ctx.finish()
        frame_ms.append((time.perf_counter() - t0) * 1e3)
        rec.add_audio(audio_block(frames), SR)
        frames += 1
    rec.stop()
    report = rec.join(120)
    engine.release()
    return {
        "live_frames": frames,
        "live_slots_missed": pacer.dropped,
        "live_frame_ms_p50": pct(frame_ms, 50),
        "live_frame_ms_p99": pct(frame_ms, 99),
        "live_recorder_written": report.frames_written,
        "live_recorder_dropped": report.frames_dropped,
        "live_recorder_error": report.error or "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames (a smoke run)")
    args = parser.parse_args()
    rounds, block, seconds = (2, 15, 3.0) if args.quick else (4, 30, 10.0)
    ctx = create_headless_context()
    rows, metrics, targets = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            label = f"{size[0]}x{size[1]}"
            result = flat_out(ctx, size, rounds, block, Path(tmp))
            result.update(encoder_speed(ctx, size, block * 2, Path(tmp)))
            result.update(real_time(ctx, size, seconds, Path(tmp)))
            rows.append({"size": label, **{k: (round(v, 3) if isinstance(v, float) else v)
                                           for k, v in result.items()}})
            for key, value in result.items():
                metrics[f"{key}_{label}"] = value
    limit = {"640x360": 1.0, "1280x720": 3.0}
    for label, value in limit.items():
        targets[f"capture_ms_median_{label}"] = target("<=", value, metrics[f"capture_ms_median_{label}"])
    targets["live_recorder_dropped_640x360"] = target("<=", 0, metrics["live_recorder_dropped_640x360"])
    columns = ["size", "frame_ms_median_plain", "frame_ms_median_recording", "recording_cost_ms",
               "capture_ms_median", "capture_ms_p99", "flat_out_frames_dropped", "encoder_fps", "live_frames",
               "live_slots_missed", "live_frame_ms_p99", "live_recorder_dropped"]
    print_table(rows, columns)
    path = write_result("recording_cost", metrics, targets, gl_renderer=renderer_name(ctx))
    print(f"wrote {path}")
    ctx.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())

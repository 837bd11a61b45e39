"""Live frame times: every bundled scene running live at 640x360 under Xvfb, and scene switches.

1. Each bundled scene plays live (a real `echoel run` session: program window, operator monitor,
   the demo track in real time, the flash guard on) for `--duration` seconds (default 60) at
   `--fps` (default 30): frame time p50/p99 (work per frame: tick, outputs, presenting) and
   dropped frames (frame slots the real-time pacer saw pass without a new frame).
2. Ten scene switches through the bundled show scenes, one every `--switch-every` seconds, with
   the default 1 s crossfade and again as cuts: frame-time p99 in the frames around each switch
   (from the key press to the end of the crossfade plus the compile of the next entry) against
   the p99 of the frames in between. Target: at most 1.5 times.

Total run time at the defaults: about 14 scenes x 60 s + 2 x 10 x 6 s, some 17 minutes plus start-up.
Frame times come from `time.perf_counter` around each frame (the show's own measurement); Xvfb
is started here on a free display unless $DISPLAY is set (`--headless` measures without windows).

Usage: python benchmarks/live_frames.py [--duration 60] [--fps 30] [--switch-every 6]
       [--scenes demo,neon-grid] [--no-operator] [--headless]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks._common import machine_info, print_table, target, write_result  # noqa: E402
from live.audio.demo_track import ensure_demo_track  # noqa: E402
from live.render.outputs.session import LiveOptions, run_live  # noqa: E402
from live.render.outputs.window import OutputSpec  # noqa: E402
from live.scene import find_scene, list_scenes  # noqa: E402
from live.show import PREPARE_DELAY_S, SetList, Show  # noqa: E402

SIZE = (640, 360)
SWITCHES = 10
WARMUP_S = 2.0
RATIO_TARGET = 1.5


def start_xvfb() -> subprocess.Popen | None:
    """Start Xvfb on a free display and point DISPLAY at it (None when DISPLAY is already set)."""
    if os.environ.get("DISPLAY"):
        return None
    exe = shutil.which("Xvfb")
    if exe is None:
        raise SystemExit("Xvfb is not installed (Debian: xvfb xauth); or run with --headless")
    for n in range(240, 340):
        if Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
            continue
        proc = subprocess.Popen([exe, f":{n}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if Path(f"/tmp/.X11-unix/X{n}").exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        if proc.poll() is None:
            os.environ["DISPLAY"] = f":{n}"
            return proc
    raise SystemExit("no free X display number")


class FrameLog:
    """A show output that notes each frame's show time (frame times are the show's own)."""

    name = "bench-log"

    def __init__(self) -> None:
        self.times: list[float] = []
        self.show: Show | None = None

    def present(self, show: Show) -> None:
        self.times.append(show.elapsed)

    def close(self) -> None:
        pass


class Switcher(FrameLog):
    """Also presses 'next' every `every` seconds, ten times, and remembers when."""

    def __init__(self, every: float) -> None:
        super().__init__()
        self.every = every
        self.switched_at: list[float] = []

    def present(self, show: Show) -> None:
        super().present(show)
        t = show.elapsed
        if len(self.switched_at) < SWITCHES and t >= self.every * (len(self.switched_at) + 1):
            show.post("scene.next")
            self.switched_at.append(t)


def options(args, duration: float, fade: float) -> LiveOptions:
    return LiveOptions(size=SIZE, fps=args.fps, fade=fade, duration=duration, audio=ensure_demo_track(),
                       headless=args.headless, video=Path("/tmp/echoel-bench-live.mp4"),
                       program=OutputSpec("program", size=SIZE, vsync=False), operator=not args.no_operator)


def run_scene(args, path: Path) -> dict:
    log = FrameLog()
    report = run_live(SetList(path.stem, (path,)), options(args, args.duration, 1.0),
                      print_fn=lambda s: None, on_show=lambda show: show.outputs.append(log))
    frames = report.frames
    return {"scene": path.stem, "frames": frames.frames, "fps": round(frames.fps, 1),
            "p50_ms": round(frames.p50_ms, 1), "p99_ms": round(frames.p99_ms, 1),
            "dropped": frames.dropped, "headless": bool(report.headless_reason)}


def run_switches(args, scenes: list[Path], fade: float) -> dict:
    switcher = Switcher(args.switch_every)
    captured: list[Show] = []

    def on_show(show: Show) -> None:
        show.outputs.append(switcher)
        captured.append(show)

    entries = tuple((scenes * (SWITCHES // len(scenes) + 2))[: SWITCHES + 1])
    duration = args.switch_every * (SWITCHES + 1)
    run_live(SetList("switches", entries), options(args, duration, fade), print_fn=lambda s: None,
             on_show=on_show)
    work_ms = np.array(captured[0].times._all) * 1000.0  # one entry per frame, in order
    t = np.array(switcher.times[: len(work_ms)])
    work_ms = work_ms[: len(t)]
    # A switch's frames: from the key press through the crossfade and the next entry's compile.
    span = fade + PREPARE_DELAY_S + 0.5
    in_switch = np.zeros(len(t), bool)
    for s in switcher.switched_at:
        in_switch |= (t >= s) & (t <= s + span)
    steady = ~in_switch & (t >= WARMUP_S)
    p99_switch = float(np.percentile(work_ms[in_switch], 99))
    p99_steady = float(np.percentile(work_ms[steady], 99))
    return {"fade_s": fade, "switches": len(switcher.switched_at), "frames_switching": int(in_switch.sum()),
            "frames_steady": int(steady.sum()), "p99_switch_ms": round(p99_switch, 1),
            "p99_steady_ms": round(p99_steady, 1), "ratio": round(p99_switch / p99_steady, 2),
            "max_switch_ms": round(float(work_ms[in_switch].max()), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per scene (default 60)")
    parser.add_argument("--fps", type=float, default=30.0, help="target frame rate (default 30)")
    parser.add_argument("--switch-every", type=float, default=6.0, help="seconds between switches (default 6)")
    parser.add_argument("--scenes", help="comma-separated scene names (default: every bundled scene)")
    parser.add_argument("--no-operator", action="store_true", help="program window only")
    parser.add_argument("--headless", action="store_true", help="no windows (real-time headless)")
    args = parser.parse_args()
    started = time.perf_counter()
    xvfb = None if args.headless else start_xvfb()
    try:
        if args.scenes:
            paths = [find_scene(name) for name in args.scenes.split(",")]
        else:
            paths = [path for _name, path, _desc in list_scenes()]
        per_scene = []
        for path in paths:
            row = run_scene(args, path)
            per_scene.append(row)
            print(f"{row['scene']}: p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
                  f"dropped {row['dropped']}", flush=True)
        show_scenes = [p for p in paths if p.stem[:3].isdigit() and int(p.stem[:3]) >= 10] or paths
        switching = [run_switches(args, show_scenes, fade) for fade in (1.0, 0.0)]
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    total = time.perf_counter() - started
    print()
    print_table(per_scene)
    print()
    print_table(switching)
    print(f"\ntotal run time {total / 60:.1f} min")
    fade_run = switching[0]
    metrics = {"size": f"{SIZE[0]}x{SIZE[1]}", "fps_target": args.fps, "seconds_per_scene": args.duration,
               "operator_monitor": not args.no_operator, "windows": not args.headless,
               "scenes": per_scene, "switching": switching, "total_run_s": round(total, 1)}
    targets = {"switch_p99_ratio_crossfade": target("<=", RATIO_TARGET, fade_run["ratio"]),
               "switch_p99_ratio_cut": target("<=", RATIO_TARGET, switching[1]["ratio"])}
    renderer = "llvmpipe (Xvfb)" if not args.headless else "llvmpipe (EGL, headless)"
    print(f"wrote {write_result('live_frames', metrics, targets, machine=machine_info(renderer))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

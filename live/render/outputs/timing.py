"""Frame timing for live output: real-time pacing and frame-time statistics.

`FramePacer` keeps a headless show on the wall clock (there is no vsync to wait for): it sleeps
until the next frame slot and, when a frame ran long, skips the slots that already passed and
counts them as dropped, so the show stays in time with the music instead of drifting behind.

`FrameTimes` keeps a ring of recent frame times for the HUD graph and every frame time of a run
for the end-of-show report (p50, p99, fps, dropped).

Both run on the render thread; time comes from an injected `Clock` and sleep function, so tests
drive them with a manual clock.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from live.clock import Clock


class FramePacer:
    """Paces a loop to `fps` on `clock`, counting frame slots missed. Render thread.

    Args:
        clock: the show's clock.
        fps: target frames per second (> 0).
        sleep: how to wait (``time.sleep``; tests pass a function that advances a manual clock).
    """

    def __init__(self, clock: Clock, fps: float, sleep: Callable[[float], None] = time.sleep) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self.clock = clock
        self.period = 1.0 / float(fps)
        self._sleep = sleep
        self._next = clock.now() + self.period
        self.dropped = 0

    def wait(self) -> int:
        """Wait for the next frame slot; return how many slots were missed since the last call.

        A late frame does not make the following frames hurry to catch up: the schedule moves on
        to the next slot still in the future.
        """
        now = self.clock.now()
        missed = 0
        if now > self._next:
            missed = int((now - self._next) // self.period) + 1
            self._next += missed * self.period
        delay = self._next - now
        if delay > 0:
            self._sleep(delay)
        self._next += self.period
        self.dropped += missed
        return missed


@dataclass(frozen=True)
class FrameReport:
    """Summary of a run: frames, achieved fps, frame-time p50/p99 (ms), dropped frame slots."""

    frames: int
    seconds: float
    fps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    dropped: int

    def lines(self) -> list[str]:
        """Human-readable report lines."""
        return [f"frames: {self.frames} in {self.seconds:.1f} s ({self.fps:.1f} fps)",
                f"frame time: p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms",
                f"dropped frames: {self.dropped}"]


class FrameTimes:
    """Recent and total frame times. Render thread writes; `recent()` copies for the HUD.

    Args:
        history: frames kept for the HUD graph.
    """

    def __init__(self, history: int = 120) -> None:
        self._recent: deque[float] = deque(maxlen=history)
        self._all: list[float] = []
        self._start: float | None = None
        self._last: float | None = None
        self.dropped = 0

    def add(self, frame_seconds: float, now: float, dropped: int = 0) -> None:
        """Record one frame that took `frame_seconds` of work, finishing at clock time `now`."""
        if self._start is None:
            self._start = now - frame_seconds
        self._last = now
        self._recent.append(frame_seconds)
        self._all.append(frame_seconds)
        self.dropped += dropped

    def recent(self) -> np.ndarray:
        """The recent frame times in seconds, oldest first."""
        return np.array(self._recent, dtype=np.float64)

    def fps(self, window: int = 30) -> float:
        """Frames per second over the last `window` frames' work (0 when nothing recorded)."""
        tail = list(self._recent)[-window:]
        total = sum(tail)
        return len(tail) / total if total > 0 else 0.0

    def report(self, wall_seconds: float | None = None) -> FrameReport:
        """Summary of everything recorded; `wall_seconds` defaults to first-to-last frame time."""
        n = len(self._all)
        seconds = wall_seconds if wall_seconds is not None else (
            (self._last - self._start) if self._last is not None else 0.0)
        if n == 0:
            return FrameReport(0, seconds, 0.0, 0.0, 0.0, 0.0, self.dropped)
        ms = np.array(self._all) * 1000.0
        return FrameReport(n, seconds, n / seconds if seconds > 0 else 0.0,
                           float(np.percentile(ms, 50)), float(np.percentile(ms, 99)),
                           float(ms.max()), self.dropped)

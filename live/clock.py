"""Time sources and musical time.

Engine code never reads the system time itself: it asks a `Clock`, so the same scene and audio
file give the same frames offline (`ManualClock`) as live (`WallClock`).

`BeatClock` turns seconds into musical time (beats, bars, phases). It keeps an *anchor*
(t0, beat0, bpm) and computes ``beat = beat0 + (t - t0) * bpm / 60`` from it, instead of summing
per-frame increments, so hours of playback accumulate no floating-point drift. Every tempo or phase
change moves the anchor. Until the audio beat tracker exists (a later issue), the scene's bpm or tap
tempo is in charge.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

#: Tempo limits accepted by `BeatClock.set_tempo` (and produced by tap tempo), in bpm.
MIN_BPM = 20.0
MAX_BPM = 400.0
#: Taps further apart than this (seconds) start a new tap sequence.
TAP_RESET_GAP_S = 2.0
#: Tap tempo uses the median of at most this many recent intervals.
TAP_HISTORY = 8
#: Two taps closer than this (seconds; 400 bpm) are treated as one bouncing press.
TAP_DEBOUNCE_S = 60.0 / MAX_BPM


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the engine the current time in seconds (monotonic, any thread)."""

    def now(self) -> float:
        """Current time in seconds."""
        ...


class ManualClock:
    """A clock that only moves when told to: tests and offline renders.

    Any thread, but not synchronised: drive it from the thread that reads it (the render thread).
    """

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)

    def now(self) -> float:
        """Current time in seconds."""
        return self._t

    def advance(self, dt: float) -> float:
        """Move forward by `dt` seconds (>= 0) and return the new time.

        Raises:
            ValueError: `dt` is negative or not finite (use `set` to jump backwards).
        """
        if not math.isfinite(dt) or dt < 0:
            raise ValueError(f"ManualClock.advance: dt must be a finite number >= 0, got {dt!r}")
        self._t += float(dt)
        return self._t

    def set(self, t: float) -> None:
        """Jump to time `t` (seconds), backwards included.

        Raises:
            ValueError: `t` is not finite.
        """
        if not math.isfinite(t):
            raise ValueError(f"ManualClock.set: t must be finite, got {t!r}")
        self._t = float(t)


class WallClock:
    """Real time: seconds since construction, from `time.monotonic` or an injected source.

    Any thread (reading a monotonic source is thread-safe). Inject `time_source` in tests that need
    a wall clock they control.
    """

    def __init__(self, time_source: Callable[[], float] = time.monotonic) -> None:
        self._source = time_source
        self._start = float(time_source())

    def now(self) -> float:
        """Seconds elapsed since this clock was created."""
        return float(self._source()) - self._start


@dataclass(frozen=True)
class BeatState:
    """Immutable snapshot of a `BeatClock`, safe to hand to any thread.

    `beat_fired` and `downbeat_fired` say whether the update that produced this snapshot crossed
    a beat (the `audio.beat` trigger) or a bar boundary.
    """

    bpm: float
    beat: float
    beat_phase: float
    bar: int
    bar_beat: int
    bar_phase: float
    beats_per_bar: int
    source: str
    time: float = 0.0
    beat_fired: bool = False
    downbeat_fired: bool = False

    def signals(self) -> dict[str, float]:
        """The clock's values under their signal-bus names (ARCHITECTURE "Names")."""
        return {
            "beat.phase": self.beat_phase,
            "bar.phase": self.bar_phase,
            "bar.beat": float(self.bar_beat),
            "tempo.bpm": self.bpm,
            "audio.beat": 1.0 if self.beat_fired else 0.0,
        }


def _check_bpm(bpm: float) -> float:
    bpm = float(bpm)
    if not (MIN_BPM <= bpm <= MAX_BPM):  # also rejects NaN
        raise ValueError(f"tempo must be between {MIN_BPM:g} and {MAX_BPM:g} bpm, got {bpm!r}")
    return bpm


class BeatClock:
    """Musical time. Runs on the render thread; `update(t)` once per frame with the frame's time.

    Beat 0.0 is at `origin`. Beats count from 0; bars count from 0; `bar_beat` is 1-based (the
    first beat of a bar is 1). Times are seconds on the engine's `Clock`.

    Not thread-safe: other threads (MIDI, OSC, HTTP) enqueue tap/nudge/tempo commands that the
    render thread applies, and read `snapshot()` results.
    """

    def __init__(
        self,
        bpm: float = 120.0,
        beats_per_bar: int = 4,
        origin: float = 0.0,
        source: str = "scene",
    ) -> None:
        if int(beats_per_bar) != beats_per_bar or not 1 <= beats_per_bar <= 64:
            raise ValueError(f"beats_per_bar must be an integer from 1 to 64, got {beats_per_bar!r}")
        if not math.isfinite(origin):
            raise ValueError(f"origin must be a finite time in seconds, got {origin!r}")
        self.beats_per_bar = int(beats_per_bar)
        self.source = str(source)
        self._bpm = _check_bpm(bpm)
        # The anchor: beat_at(t) = beat0 + (t - t0) * bpm / 60.
        self._t0 = float(origin)
        self._beat0 = 0.0
        self._t = float(origin)
        self._updated = False
        # Index (floor) of the last beat reported through beat_fired. Kept separately from the
        # current beat so a backwards phase change (nudge, tap, align) never fires a beat twice.
        self._last_fired: int | None = None
        self.beat_fired = False
        self.downbeat_fired = False
        self._taps: list[float] = []

    # ------------------------------------------------------------------ reading
    @property
    def bpm(self) -> float:
        """Current tempo in beats per minute."""
        return self._bpm

    @property
    def time(self) -> float:
        """The time of the latest `update` (the origin before the first one)."""
        return self._t

    def beat_at(self, t: float) -> float:
        """Continuous beat count at time `t` (0.0 at the origin) under the current anchor."""
        return self._beat0 + (float(t) - self._t0) * self._bpm / 60.0

    def time_of_beat(self, beat: float) -> float:
        """The time at which the continuous beat count reaches `beat` under the current anchor."""
        return self._t0 + (float(beat) - self._beat0) * 60.0 / self._bpm

    @property
    def beat(self) -> float:
        """Continuous beat count at the current time."""
        return self.beat_at(self._t)

    @property
    def beat_phase(self) -> float:
        """Position within the current beat, 0 <= phase < 1."""
        b = self.beat
        return b - math.floor(b)

    @property
    def bar(self) -> int:
        """0-based bar count (negative before the origin)."""
        return math.floor(self.beat / self.beats_per_bar)

    @property
    def bar_beat(self) -> int:
        """1-based beat within the current bar."""
        return math.floor(self.beat) % self.beats_per_bar + 1

    @property
    def bar_phase(self) -> float:
        """Position within the current bar, 0 <= phase < 1."""
        bars = self.beat / self.beats_per_bar
        return bars - math.floor(bars)

    def snapshot(self) -> BeatState:
        """An immutable copy of the current musical position."""
        return BeatState(
            bpm=self._bpm,
            beat=self.beat,
            beat_phase=self.beat_phase,
            bar=self.bar,
            bar_beat=self.bar_beat,
            bar_phase=self.bar_phase,
            beats_per_bar=self.beats_per_bar,
            source=self.source,
            time=self._t,
            beat_fired=self.beat_fired,
            downbeat_fired=self.downbeat_fired,
        )

    # ------------------------------------------------------------------ advancing
    def update(self, t: float) -> None:
        """Advance to time `t` and set `beat_fired` / `downbeat_fired` for this frame.

        A `t` earlier than the current time is clamped to the current time (no beat fires), so a
        jittery clock never runs the music backwards.

        Raises:
            ValueError: `t` is not finite.
        """
        if not math.isfinite(t):
            raise ValueError(f"BeatClock.update: t must be finite, got {t!r}")
        if self._updated:
            self._t = max(self._t, float(t))
        else:
            self._t = float(t)
            self._updated = True
        index = math.floor(self.beat)
        if self._last_fired is None:
            # The clock starts just before its first update: a beat fires on the first frame only
            # if that frame lies exactly on a beat (e.g. an offline render starting at the origin).
            self._last_fired = index if self.beat_phase > 0.0 else index - 1
        if index > self._last_fired:
            bpb = self.beats_per_bar
            self.beat_fired = True
            # A bar starts among the beats crossed (last_fired, index] iff the last multiple of
            # beats_per_bar at or below `index` is above `last_fired`.
            self.downbeat_fired = (index // bpb) * bpb > self._last_fired
            self._last_fired = index
        else:
            self.beat_fired = False
            self.downbeat_fired = False

    # ------------------------------------------------------------------ changing tempo and phase
    def _reanchor(self, t: float, beat: float, bpm: float) -> None:
        before = self.beat
        self._t0 = float(t)
        self._beat0 = float(beat)
        self._bpm = bpm
        after = self.beat
        # A small step back (nudge, a tap just after a beat) must not fire the same beat twice,
        # which the last-fired index prevents. A step back of half a beat or more redefines where
        # the music is (align to "this is the one"): beats fire again as the count reaches them.
        if self._last_fired is not None and after <= before - 0.5:
            self._last_fired = min(self._last_fired, math.ceil(after) - 1)

    def set_tempo(self, bpm: float, t: float, source: str = "scene") -> None:
        """Change the tempo from time `t` on without a jump: the beat count at `t` is unchanged.

        Args:
            bpm: new tempo, 20..400.
            t: the time the change takes effect (usually the current frame time).
            source: who sets the tempo ("scene", "tap", later "audio", "midi", "link").

        Raises:
            ValueError: bpm outside 20..400, or `t` not finite.
        """
        bpm = _check_bpm(bpm)
        if not math.isfinite(t):
            raise ValueError(f"BeatClock.set_tempo: t must be finite, got {t!r}")
        self._reanchor(t, self.beat_at(t), bpm)
        self.source = str(source)

    @property
    def last_tap(self) -> float | None:
        """Time of the latest tap, or None before the first."""
        return self._taps[-1] if self._taps else None

    def tap(self, t: float) -> None:
        """Tap tempo: one call per tap, `t` the time of the tap.

        From the second tap of a sequence on, the tempo is 60 / median of the recent tap intervals
        and the source becomes "tap". Every tap moves the phase so a beat lands exactly on it (the
        nearest beat, so the bar count stays meaningful). A gap over 2 s starts a new sequence; a
        tap within 150 ms of the previous one (faster than 400 bpm) is ignored as a bounce.

        Raises:
            ValueError: `t` is not finite.
        """
        if not math.isfinite(t):
            raise ValueError(f"BeatClock.tap: t must be finite, got {t!r}")
        t = float(t)
        if self._taps:
            gap = t - self._taps[-1]
            if 0.0 <= gap < TAP_DEBOUNCE_S:
                return
            if gap > TAP_RESET_GAP_S or gap < 0.0:
                self._taps.clear()
        self._taps.append(t)
        del self._taps[: -(TAP_HISTORY + 1)]
        bpm = self._bpm
        if len(self._taps) >= 2:
            intervals = sorted(b - a for a, b in zip(self._taps, self._taps[1:]))
            mid = len(intervals) // 2
            median = intervals[mid] if len(intervals) % 2 else 0.5 * (intervals[mid - 1] + intervals[mid])
            bpm = min(max(60.0 / median, MIN_BPM), MAX_BPM)
            self.source = "tap"
        self._reanchor(t, float(round(self.beat_at(t))), bpm)

    def align(self, t: float, beat_in_bar: int = 1) -> None:
        """Make time `t` a beat boundary that is beat number `beat_in_bar` (1-based) of a bar.

        The nearest such beat to the current count at `t` is chosen, so the bar count moves by at
        most half a bar. The tempo is unchanged.

        Raises:
            ValueError: `beat_in_bar` outside 1..beats_per_bar, or `t` not finite.
        """
        if int(beat_in_bar) != beat_in_bar or not 1 <= beat_in_bar <= self.beats_per_bar:
            raise ValueError(
                f"beat_in_bar must be an integer from 1 to {self.beats_per_bar}, got {beat_in_bar!r}"
            )
        if not math.isfinite(t):
            raise ValueError(f"BeatClock.align: t must be finite, got {t!r}")
        bpb = self.beats_per_bar
        offset = int(beat_in_bar) - 1
        bars = round((self.beat_at(t) - offset) / bpb)
        self._reanchor(t, float(bars * bpb + offset), self._bpm)

    def nudge(self, beats: float) -> None:
        """Shift the phase by `beats` (positive: the music is ahead, e.g. +0.05 of a beat).

        Raises:
            ValueError: `beats` is not finite.
        """
        if not math.isfinite(beats):
            raise ValueError(f"BeatClock.nudge: beats must be finite, got {beats!r}")
        self._reanchor(self._t0, self._beat0 + float(beats), self._bpm)

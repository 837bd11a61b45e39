"""Tempo sources and the arbitration that decides which one drives the BeatClock.

A tempo source is anything with a `name` and a ``reading(t)`` method returning a
`TempoReading` — (bpm, beat position at a time, confidence, whether its beat count is
bar-aligned) — or None while it has nothing to say. Sources: MIDI clock in
(`live.control.midi_clock.MidiClockIn`), Ableton Link (`live.control.link.LinkSource`), the audio
beat tracker (any object with the same two members; `CallableTempoSource` adapts a function), and
tap tempo (the BeatClock's own `tap`).

Priority (documented in docs and README; first available wins):

1. ``midi_clock`` — a running MIDI clock is an explicit master (a drum machine, the DAW).
2. ``link`` — an Ableton Link session with at least one peer (the band's laptops).
3. ``tap`` — the operator tapped within the last `TAP_HOLD_S` seconds: the operator's word
   beats the tracker's guess. With Link leading, a tap proposes its tempo to the Link session.
4. ``audio`` — the beat tracker, while its confidence is at least `MIN_CONFIDENCE`.
5. The scene's bpm (``scene``), or, once any source has led, the last tempo running free
   (``free``).

Following: each frame the leader's tempo is applied and the BeatClock's phase is pulled towards
the leader's (bar phase for bar-aligned sources, beat phase otherwise) with a time constant of
`PHASE_TAU_S`, never faster than `MAX_RATE` (10 %) of the tempo, so corrections never jump. The
phase snaps at once only when a source of higher priority than the current leader appears (it
defines where "one" is) or the leader announces a new epoch (MIDI start, song position, a Link
re-sync). A leader that disappears hands over to the next source without any jump: the clock
keeps its phase and slews towards the new leader.

The leader shows as `BeatClock.source`, the part state "tempo" and the signals
``tempo.source.<name>`` (1.0 for the leader, 0.0 for the others) and ``tempo.confidence``.

Threads: `TempoArbiter.update` runs on the render thread once per frame; sources' ``reading`` is
called there too.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from live.clock import MAX_BPM, MIN_BPM, BeatClock
from live.health.registry import PartRegistry
from live.modulation.signals import SignalBus

log = logging.getLogger(__name__)

#: The documented order; names not listed rank after these, in registration order.
SOURCE_PRIORITY = ("midi_clock", "link", "tap", "audio")
#: Seconds a tap keeps "tap" in charge over the audio tracker.
TAP_HOLD_S = 30.0
#: The audio tracker leads only at or above this confidence.
MIN_CONFIDENCE = 0.5
#: Time constant of the phase correction, seconds.
PHASE_TAU_S = 0.25
#: Largest phase correction per second, as a fraction of the tempo (0.1 = 10 % faster/slower).
MAX_RATE = 0.1


@dataclass(frozen=True)
class TempoReading:
    """What a tempo source says at one moment.

    Attributes:
        bpm: tempo in beats per minute.
        beat: the source's continuous beat count at `time`.
        time: seconds on the engine's clock that `beat` refers to.
        confidence: 0..1; external clocks say 1.
        bars: whether the beat count is bar-aligned (beat 0, 4, 8... are downbeats for 4/4), so
            the bar phase follows too; otherwise only the beat phase is followed.
        epoch: changes when the source's position is redefined (start, song position, re-sync):
            the follower snaps instead of slewing.
    """

    bpm: float
    beat: float
    time: float
    confidence: float = 1.0
    bars: bool = False
    epoch: int = 0

    def beat_at(self, t: float) -> float:
        """The source's beat count extrapolated to time `t`."""
        return self.beat + (t - self.time) * self.bpm / 60.0


@runtime_checkable
class TempoSource(Protocol):
    """A tempo source (render thread). `propose_tempo` is optional (Link implements it)."""

    name: str

    def reading(self, t: float) -> TempoReading | None:
        """The current reading at engine time `t`, or None while unavailable."""
        ...


class CallableTempoSource:
    """Adapts a function ``fn(t) -> TempoReading | None`` into a tempo source (e.g. a tracker).

    Render thread (whatever `fn` needs it must keep thread-safe itself).
    """

    def __init__(self, name: str, fn: Callable[[float], TempoReading | None]) -> None:
        self.name = name
        self._fn = fn

    def reading(self, t: float) -> TempoReading | None:
        return self._fn(t)


class TrackerTempoSource:
    """The audio beat tracker as a tempo source named "audio".

    `get_state` returns the tracker's latest immutable snapshot (`live.audio.tracker.
    TrackerState`: bpm, confidence, locked, active, ``beat_at(t)``, beats_per_bar,
    downbeat_index) or None; `to_audio_time` maps engine time to the tracker's audio time
    (identity when the analysis runs on the engine clock). The tracker leads only while locked,
    active and confident (the arbiter applies `MIN_CONFIDENCE`); its beat count is re-based on a
    known downbeat so the bar phase follows too.

    Render thread (`get_state` must be safe to call there, e.g. reading an attribute the
    analysis thread swaps).
    """

    name = "audio"

    def __init__(self, get_state: Callable[[], object | None],
                 to_audio_time: Callable[[float], float] = lambda t: t) -> None:
        self._get_state = get_state
        self._to_audio = to_audio_time
        self._downbeat: int | None = None
        self.epoch = 0

    def reading(self, t: float) -> TempoReading | None:
        st = self._get_state()
        if st is None or not getattr(st, "locked", False) or not getattr(st, "active", True):
            return None
        beat = st.beat_at(self._to_audio(t))
        down = st.downbeat_index
        if down is not None and down % st.beats_per_bar != (self._downbeat or 0) % st.beats_per_bar:
            self.epoch += 1  # the tracker moved "one": a new bar alignment
        self._downbeat = down
        bars = down is not None
        return TempoReading(bpm=float(st.bpm), beat=beat - down if bars else beat, time=t,
                            confidence=float(st.confidence), bars=bars, epoch=self.epoch)


def _last_tap_time(beat: BeatClock) -> float | None:
    """Time of the BeatClock's latest tap, or None."""
    return beat.last_tap


def wrap(x: float, period: float) -> float:
    """`x` wrapped into (-period/2, period/2]."""
    y = math.fmod(x, period)
    if y > period / 2:
        y -= period
    elif y <= -period / 2:
        y += period
    return y


class TempoArbiter:
    """Chooses the leading tempo source each frame and makes the BeatClock follow it.

    Args:
        sources: the tempo sources (MIDI clock, Link, audio tracker...).
        priority: names in order of precedence (default `SOURCE_PRIORITY`).
        parts: where the "tempo" part state is reported.
        tap_hold_s, min_confidence, phase_tau_s, max_rate: see the module constants.

    Render thread.
    """

    def __init__(self, sources: Iterable[TempoSource] = (), *,
                 priority: Iterable[str] = SOURCE_PRIORITY, parts: PartRegistry | None = None,
                 tap_hold_s: float = TAP_HOLD_S, min_confidence: float = MIN_CONFIDENCE,
                 phase_tau_s: float = PHASE_TAU_S, max_rate: float = MAX_RATE) -> None:
        self.sources: list[TempoSource] = list(sources)
        self.priority = tuple(priority)
        self.parts = parts
        self.tap_hold_s = float(tap_hold_s)
        self.min_confidence = float(min_confidence)
        self.phase_tau_s = float(phase_tau_s)
        self.max_rate = float(max_rate)
        self.leader = "scene"
        self.confidence = 0.0
        self._last_tap: float | None = None
        self._seen_tap: float | None = None
        self._last_t: float | None = None
        self._epochs: dict[str, int] = {}
        self._logged: set[str] = set()
        self._led = False

    def add(self, source: TempoSource) -> None:
        """Register another source (e.g. the audio tracker once it runs)."""
        self.sources.append(source)

    def rank(self, name: str) -> int:
        """Position of `name` in the priority (lower leads)."""
        return self.priority.index(name) if name in self.priority else len(self.priority)

    def _log_once(self, cause: str, message: str, *args) -> None:
        if cause not in self._logged:
            self._logged.add(cause)
            log.warning(message + " (logged once)", *args)

    def _readings(self, t: float) -> dict[str, TempoReading]:
        out: dict[str, TempoReading] = {}
        for src in self.sources:
            try:
                r = src.reading(t)
            except Exception as exc:  # noqa: BLE001 - a broken source must not stop the frame
                self._log_once(f"error:{src.name}", "tempo source %s failed: %s", src.name, exc)
                continue
            if r is None:
                continue
            if not (math.isfinite(r.bpm) and MIN_BPM <= r.bpm <= MAX_BPM and math.isfinite(r.beat)
                    and math.isfinite(r.time)):
                self._log_once(f"range:{src.name}", "tempo source %s reports %r bpm, outside "
                               "%g..%g; ignored", src.name, r.bpm, MIN_BPM, MAX_BPM)
                continue
            if src.name == "audio" and r.confidence < self.min_confidence:
                continue
            out[src.name] = r
        return out

    def update(self, beat: BeatClock, t: float, bus: SignalBus | None = None) -> str:
        """Pick the leader at time `t` and pull `beat` towards it; returns the leader's name."""
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        readings = self._readings(t)
        tap = _last_tap_time(beat)
        if tap is not None and tap != self._seen_tap:  # BeatClock.tap ran since the last frame
            self._seen_tap = tap
            self._last_tap = tap
            link = next((s for s in self.sources if s.name == "link"), None)
            if (beat.source == "tap" and "link" in readings and "midi_clock" not in readings
                    and hasattr(link, "propose_tempo")):
                link.propose_tempo(beat.bpm)  # the operator's tap becomes the session's tempo
        if self._last_tap is not None and t - self._last_tap <= self.tap_hold_s:
            readings["tap"] = TempoReading(beat.bpm, beat.beat_at(t), t, 1.0)
        leader = min(readings, key=self.rank) if readings else None
        previous = self.leader
        if leader is None:
            if self._led and beat.source != "free":
                beat.source = "free"  # keep tempo and phase: the handover has no jump
            self.leader = "free" if self._led else beat.source
            self.confidence = 0.0
        elif leader == "tap":
            beat.source = "tap"
            self.leader, self.confidence, self._led = "tap", 1.0, True
        else:
            self._follow(beat, t, dt, leader, readings[leader], previous)
        if bus is not None:
            names = {s.name for s in self.sources} | {"tap"}
            for name in names:
                bus.set(f"tempo.source.{name}", 1.0 if name == self.leader else 0.0)
            bus.set("tempo.confidence", self.confidence)
        if self.parts is not None and (self.leader != previous or leader is not None):
            self.parts.ok("tempo", f"source: {self.leader} ({beat.bpm:.1f} bpm)")
        if self.leader != previous:
            log.info("tempo source: %s -> %s", previous, self.leader)
        return self.leader

    def _follow(self, beat: BeatClock, t: float, dt: float, name: str, r: TempoReading,
                previous: str) -> None:
        snap = (previous != name and (previous in ("scene", "free") or
                                      self.rank(name) < self.rank(previous)))
        if self._epochs.get(name) != r.epoch:
            snap = snap or name in self._epochs  # a new epoch of a source we followed before
            self._epochs[name] = r.epoch
        if abs(beat.bpm - r.bpm) > 1e-9:
            beat.set_tempo(r.bpm, t, source=name)
        beat.source = name
        period = float(beat.beats_per_bar) if r.bars else 1.0
        error = wrap(r.beat_at(t) - beat.beat_at(t), period)
        if snap:
            beat.nudge(error)
        elif dt > 0.0 and error != 0.0:
            step = error * -math.expm1(-dt / self.phase_tau_s)
            limit = self.max_rate * dt * r.bpm / 60.0
            beat.nudge(max(-limit, min(limit, step)))
        self.leader, self.confidence, self._led = name, r.confidence, True

"""MIDI clock in: 24 pulses per quarter note, start, stop, continue and song position.

`MidiClockIn` listens to the MIDI decoder (`MidiDecoder.clock_listeners`) and is a tempo source
("midi_clock", see `live.control.tempo`).

- Tempo: a least-squares line through the arrival times of the last `window` clock pulses
  (48 = two beats by default) gives seconds per pulse, so the jitter of single pulses (a JACK
  period, USB frames) averages out; bpm = 60 / (24 * seconds per pulse). Pulses delivered late
  (a stall of the machine) lie well above the line and are left out of a second fit. A pause longer than `timeout_s` restarts the estimate; pulses that keep drifting
  off the line for half a beat (a tempo change) restart it from where the drift began.
- Position: Start (0xFA) sets the song position to 0; the first pulse after it is beat 0.
  Song Position Pointer (0xF2, in sixteenth notes = 6 pulses) moves the position while stopped;
  Continue (0xFB) resumes from it. Stop (0xFC) freezes it. The reading's beat count is
  bar-aligned only after a Start or a song position (a clock joined mid-song knows the beat,
  not the bar).
- The source is available while pulses keep arriving (within `timeout_s`) and the transport is
  running; stopped or silent, it steps aside so the next source leads.

Render thread: `handle` is called from `MidiInput.drain`, `reading` from the tempo arbiter.
"""

from __future__ import annotations

import collections
import itertools
import math

from live.control.midi import CLOCK, CONTINUE, SONG_POSITION, START, STOP, MidiMessage
from live.control.tempo import TempoReading

PPQN = 24
#: Pulses used for the tempo fit (two beats).
WINDOW = 48
#: Fewer pulses than this give no reading yet (half a beat).
MIN_PULSES = 12
#: Seconds without a pulse after which the clock counts as gone.
TIMEOUT_S = 0.5
#: Pulses drifting steadily away from the fitted line, the last by more than this many pulse
#: intervals ...
OFF_FIT = 0.75
#: ... over this many pulses in a row start a tempo-change candidate (see `_check_tempo_change`).
OFF_FIT_PULSES = 4
#: Pulses arriving more than this (seconds) later than the median pulse (relative to the fitted
#: line) are left out of the tempo fit (two audio periods of 256 frames at 48 kHz, plus margin).
LATE_S = 0.012


def _least_squares(xs: list[int], ys: list[float]) -> tuple[float, float] | None:
    """(intercept, slope) of the least-squares line y = intercept + slope * x, or None."""
    n = len(xs)
    if n < 2:
        return None
    mx = math.fsum(xs) / n
    my = math.fsum(ys) / n
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    if sxx <= 0:
        return None
    slope = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    if slope <= 0:
        return None
    return (my - slope * mx, slope)


class MidiClockIn:
    """Decodes MIDI clock into tempo and position (a tempo source named "midi_clock").

    Args:
        window: pulses in the tempo fit.
        timeout_s: silence after which the source is unavailable.
        port: only listen to this port alias (None: any port).
    """

    name = "midi_clock"

    def __init__(self, window: int = WINDOW, timeout_s: float = TIMEOUT_S,
                 port: str | None = None) -> None:
        self.window = int(window)
        self.timeout_s = float(timeout_s)
        self.port = port
        self.running = False
        self.epoch = 0
        self.bars = False
        self._pulse = -1            # song position in pulses of the last pulse (-1: before the first)
        self._times: collections.deque[float] = collections.deque(maxlen=self.window)
        self._positions: collections.deque[int] = collections.deque(maxlen=self.window)
        self._last_pulse_time: float | None = None
        self._fit: tuple[float, float] | None = None  # (t at pulse 0 of the fit, s per pulse)
        self._candidate: tuple[int, tuple[float, float]] | None = None  # (first pulse, old line)
        # Recent fits: the oldest is the reference the latest pulses are checked against.
        self._fits: collections.deque[tuple[float, float]] = collections.deque(maxlen=OFF_FIT_PULSES)

    # -- input ------------------------------------------------------------------------------------
    def handle(self, msg: MidiMessage, t: float, alias: str | None = None) -> None:
        """A clock-related message received at time `t` (a `MidiDecoder` clock listener)."""
        if self.port is not None and alias != self.port:
            return
        kind = msg.status
        if kind in (START, CONTINUE) and self._silent_since_start(t):
            # The clock was silent before this Start: its old pulses say nothing about the
            # tempo that starts now (a clock that keeps running through Start keeps them).
            self._times.clear()
            self._positions.clear()
            self._fits.clear()
            self._candidate = None
            self._fit = None
        if kind == CLOCK:
            self._on_pulse(t)
        elif kind == START:
            self._pulse = -1
            self.running, self.bars = True, True
            self._new_epoch()
        elif kind == CONTINUE:
            self.running = True
            self._new_epoch()
        elif kind == STOP:
            self.running = False
        elif kind == SONG_POSITION:
            # Sixteenth notes -> pulses; the next pulse after Continue lands on this position.
            self._pulse = msg.data1 * (PPQN // 4) - 1
            self.bars = True
            self._new_epoch()

    def _silent_since_start(self, t: float) -> bool:
        last, fit = self._last_pulse_time, self._fit
        return last is not None and (fit is None or t - last > 3 * fit[1])

    def _new_epoch(self) -> None:
        self.epoch += 1
        # Positions restart, but the pulse times still measure the tempo: keep the fit data by
        # renumbering it relative to the new position.
        if self._positions:
            shift = (self._pulse) - self._positions[-1]
            self._positions = collections.deque((p + shift for p in self._positions),
                                                maxlen=self.window)

    def _on_pulse(self, t: float) -> None:
        last = self._last_pulse_time
        if last is not None and (t - last > self.timeout_s or t < last):
            self._times.clear()
            self._positions.clear()
            self._fits.clear()
            self._candidate = None
        self._last_pulse_time = t
        if self.running:
            self._pulse += 1
        position = self._pulse if self.running else (self._positions[-1] + 1 if self._positions else 0)
        self._check_tempo_change(position, t)
        self._times.append(t)
        self._positions.append(position)
        self._fit = self._fit_line()
        if self._fit is not None:
            self._fits.append(self._fit)

    def _check_tempo_change(self, position: int, t: float) -> None:
        """Follow a tempo change without being fooled by late deliveries.

        When the latest pulses drift away from the line fitted before them (`_drifting`), a
        candidate starts at the first drifting pulse. If later pulses come back to that line it
        was a stall, and the candidate is dropped; if they keep off it until the candidate holds
        `MIN_PULSES` pulses, the fit restarts from the candidate (half a beat after the change).
        """
        if self._candidate is not None:
            start, ref = self._candidate
            if abs(t - (ref[0] + ref[1] * position)) <= OFF_FIT * ref[1]:
                self._candidate = None  # back on the old line: it was jitter
            elif position - start + 1 >= MIN_PULSES:
                while self._positions and self._positions[0] < start:
                    self._times.popleft()
                    self._positions.popleft()
                self._candidate = None
                self._fits.clear()
            return
        ref = self._fits[0] if len(self._fits) == self._fits.maxlen else None
        if ref is None or len(self._times) < MIN_PULSES:
            return
        recent = list(zip(self._positions, self._times))[-(OFF_FIT_PULSES - 1):]
        residuals = [y - (ref[0] + ref[1] * x) for x, y in [*recent, (position, t)]]
        if self._drifting(residuals, ref[1]):
            self._candidate = (position - OFF_FIT_PULSES + 1, ref)

    @staticmethod
    def _drifting(r: list[float], slope: float) -> bool:
        """Whether the latest pulses drift away from the fitted line steadily (a new tempo).

        Late pulses after a stall arrive together: their residuals are large but shrink from
        one pulse to the next, which is jitter. A tempo change makes the residuals grow, all
        with one sign, past `OFF_FIT` pulse intervals.
        """
        if len(r) < OFF_FIT_PULSES or abs(r[-1]) <= OFF_FIT * slope:
            return False
        sign = 1.0 if r[-1] > 0 else -1.0
        return all(sign * b > sign * a > 0 for a, b in itertools.pairwise(r))

    def _fit_line(self) -> tuple[float, float] | None:
        """Least squares through the pulses, leaving out the ones that arrived late.

        Arrival times are the true times plus a delay that is never negative (audio periods,
        scheduling, stalls of a loaded machine). A first fit over every pulse gives residuals;
        pulses more than `LATE_S` above their median are the late ones and are left out of a
        second fit, which then averages the remaining (small) jitter.
        """
        xs, ys = list(self._positions), list(self._times)
        fit = _least_squares(xs, ys)
        if fit is None or len(xs) < 4:
            return fit
        residuals = [y - (fit[0] + fit[1] * x) for x, y in zip(xs, ys)]
        limit = sorted(residuals)[len(residuals) // 2] + LATE_S
        keep = [(x, y) for x, y, r in zip(xs, ys, residuals) if r <= limit]
        if len(keep) < max(2, len(xs) // 2) or len(keep) == len(xs):
            return fit
        return _least_squares([x for x, _ in keep], [y for _, y in keep]) or fit

    # -- output -----------------------------------------------------------------------------------
    @property
    def bpm(self) -> float | None:
        """The measured tempo, or None before enough pulses arrived."""
        if self._fit is None or len(self._times) < MIN_PULSES:
            return None
        return 60.0 / (PPQN * self._fit[1])

    def available(self, t: float) -> bool:
        """Whether the clock is running and pulses arrived within `timeout_s` of `t`."""
        return (self.running and self._last_pulse_time is not None
                and t - self._last_pulse_time <= self.timeout_s and self.bpm is not None)

    def reading(self, t: float) -> TempoReading | None:
        """Tempo and beat position at time `t` from the fitted line, or None while unavailable."""
        if not self.available(t):
            return None
        intercept, slope = self._fit  # type: ignore[misc]
        beat = (t - intercept) / slope / PPQN
        return TempoReading(bpm=60.0 / (PPQN * slope), beat=beat, time=t, confidence=1.0,
                            bars=self.bars, epoch=self.epoch)

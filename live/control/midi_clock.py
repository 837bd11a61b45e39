"""MIDI clock in: 24 pulses per quarter note, start, stop, continue and song position.

`MidiClockIn` listens to the MIDI decoder (`MidiDecoder.clock_listeners`) and is a tempo source
("midi_clock", see `live.control.tempo`).

- Tempo: a least-squares line through the arrival times of the last `window` clock pulses
  (48 = two beats by default) gives seconds per pulse, so the jitter of single pulses (a JACK
  period, USB frames) averages out; bpm = 60 / (24 * seconds per pulse). A pause longer than
  `timeout_s` restarts the estimate; three pulses in a row off the fitted line (a tempo change)
  restart it from the latest pulses.
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
#: A pulse further than this many pulse intervals from the fitted line is off the fit...
OFF_FIT = 0.75
#: ... and this many in a row restart the fit from the latest pulses (a tempo change).
OFF_FIT_PULSES = 3


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
        self._off = 0                                 # consecutive pulses off the fitted line
        self._locked = False                          # a full fit existed since the last silence

    # -- input ------------------------------------------------------------------------------------
    def handle(self, msg: MidiMessage, t: float, alias: str | None = None) -> None:
        """A clock-related message received at time `t` (a `MidiDecoder` clock listener)."""
        if self.port is not None and alias != self.port:
            return
        kind = msg.status
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
            self._off = 0
            self._locked = False
        self._last_pulse_time = t
        if self.running:
            self._pulse += 1
        position = self._pulse if self.running else (self._positions[-1] + 1 if self._positions else 0)
        fit = self._fit
        if fit is not None and len(self._times) >= MIN_PULSES:
            # Pulses that keep landing off the fitted line mean the tempo changed: keep only
            # the recent ones so the estimate catches up within a few pulses, not two beats.
            # One late pulse (a missed audio period) is jitter and stays in the fit.
            predicted = fit[0] + fit[1] * position
            self._off = self._off + 1 if abs(t - predicted) > OFF_FIT * fit[1] else 0
            if self._off >= OFF_FIT_PULSES:
                keep = OFF_FIT_PULSES - 1
                while len(self._times) > keep:
                    self._times.popleft()
                    self._positions.popleft()
                self._off = 0
        self._times.append(t)
        self._positions.append(position)
        self._fit = self._fit_line()
        if len(self._times) >= MIN_PULSES:
            self._locked = True

    def _fit_line(self) -> tuple[float, float] | None:
        n = len(self._times)
        if n < 2:
            return None
        xs, ys = self._positions, self._times
        mx = math.fsum(xs) / n
        my = math.fsum(ys) / n
        sxx = math.fsum((x - mx) ** 2 for x in xs)
        if sxx <= 0:
            return None
        slope = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
        if slope <= 0:
            return None
        return (my - slope * mx, slope)  # time = intercept + slope * pulse

    # -- output -----------------------------------------------------------------------------------
    @property
    def bpm(self) -> float | None:
        """The measured tempo, or None before enough pulses arrived."""
        # A fit restarted by a tempo change needs only a few pulses: the clock is known to be
        # there. A clock just joined needs half a beat, so one odd interval cannot set the tempo.
        needed = OFF_FIT_PULSES if self._locked else MIN_PULSES
        if self._fit is None or len(self._times) < needed:
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

"""Causal beat tracking and the predictive beat clock driver.

`BeatTracker` follows the beat of music from its onset strength, one analysis hop at a time, using
only audio that has already arrived. It is built from four parts:

1. **Tempo.** Every `update_hops` hops the autocorrelation of the last `history_s` seconds of
   onset strength is read at the lag of each candidate tempo (200 log-spaced tempi), plus a share
   of its value at half that lag: the beat level is the one whose subdivision (eighth notes) is
   periodic too, which separates it from its double and from 3/2-relations. The salience is
   averaged over `salience_tau_s` and weighted by a log-Gaussian prior around the seed tempo (the
   scene's bpm, 120 by default). The tracked tempo follows the nearest salience peak within
   `follow_octaves` (so ramps are followed), and jumps to a distant peak only when that peak has
   been `switch_ratio` times stronger for `switch_s` seconds (so octave errors do not flicker).
2. **Cumulative beat score.** Each hop adds the onset strength to the best-scoring earlier beat
   about one period back (a log-Gaussian window around the period), as in dynamic-programming
   beat tracking; a regular beat builds up a strong, clean score and off-beat onsets do not.
3. **Phase.** The score of the last `phase_beats` periods is folded onto one period (older beats
   weigh less): the fold's peak is where the beats fall. A phase-locked loop moves the predicted
   beat `pll_gain` of the way to that measurement per update. Where the kick alone marks every
   beat (four-on-the-floor) and points at a different candidate of the fold, the kick's candidate
   wins, so the louder off-beat hats of dance music cannot pull the beat onto the off-beat. While
   the fold is flat (confidence under `hold_confidence`) tempo and phase are held.
4. **Bars.** At every beat the kick strength and the change of the spectrum between the beat
   intervals on either side are accumulated per position in the bar; the position where kicks
   and changes gather is reported as the downbeat. This cue is weak on real music (near chance
   on the development corpus), so the clock driver does not move bars by it unless asked.

Beats are *predicted*: the tracker commits the next beat while it still lies ahead of the audio
(at most one hop ahead), at its predicted time, and never corrects it afterwards. When onsets stop
(a breakdown), tempo and phase stop updating and the beat free-runs at the last tempo; the
confidence decays meanwhile.

`BeatClockDriver` keeps the engine's `BeatClock` in step with the tracker on the render thread:
it shifts the clock by a visual offset (projectors add 30-100 ms, so flashes are fired earlier),
keeps any nudge the performer gives as a lasting phase offset, and leaves the clock alone while
tap tempo (or another manual source) is in charge, until `release` hands it back.

Threading: `BeatTracker` runs on the thread that feeds the analysis; its `state()` snapshots are
immutable and may be handed to any thread. `BeatClockDriver` runs on the render thread.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from live.clock import MAX_BPM, MIN_BPM, BeatClock

#: BeatClock source name while the tracker is in charge.
AUDIO_SOURCE = "audio"
#: BeatClock sources that override the tracker until released (tap tempo, a mapped tempo fader).
# Sources the driver yields to: the operator (tap tempo, a tempo fader) and the external clocks
# that rank above the tracker in live.control.tempo's priority (MIDI clock, Ableton Link).
OVERRIDE_SOURCES = frozenset({"tap", "mapping", "midi_clock", "link"})


@dataclass(frozen=True)
class TrackerConfig:
    """Parameters of `BeatTracker`. Fixed before the final benchmark run (see BENCHMARKS.md)."""

    #: Tempo range (bpm) searched.
    min_bpm: float = 40.0
    max_bpm: float = 240.0
    #: Number of log-spaced tempo candidates.
    n_tempi: int = 200
    #: Seconds of onset strength the tempo and phase estimates look back on.
    history_s: float = 8.0
    #: Weight of the oldest onset strength in the autocorrelation is 1 - history_taper (linear).
    history_taper: float = 0.5
    #: Tempo and phase are re-estimated every this many hops (4 hops = 43 ms at 48 kHz).
    update_hops: int = 4
    #: Seconds of audio before the first estimate.
    warmup_s: float = 1.0
    #: Width (octaves) of the log-Gaussian tempo prior around the seed tempo.
    prior_octaves: float = 0.8
    #: Weight of the autocorrelation at half the beat period (the subdivision) in the salience.
    subdivision_weight: float = 0.5
    #: Time constant (s) of the salience average.
    salience_tau_s: float = 1.5
    #: The tracked tempo follows its salience peak within this many octaves per update.
    follow_octaves: float = 0.04
    #: A distant salience peak takes over when it is this much stronger for `switch_s` seconds.
    switch_ratio: float = 1.05
    switch_s: float = 0.5
    #: Cumulative score: weight of the past (0..1) and sharpness of its log-Gaussian window.
    score_memory: float = 0.8
    score_sharpness: float = 5.0
    #: Phase: periods folded, and the weight factor per period back.
    phase_beats: int = 4
    phase_decay: float = 0.8
    #: Four-on-the-floor arbitration (see `BeatTracker._arbitrate`): on when True; the folded bass
    #: onsets count when at least `kick_focus` of them lie within an eighth of a beat of their
    #: peak; a rival peak of the fold counts when it reaches `rival_ratio` of the highest; the
    #: rival wins when it has `kick_margin` times more kick under it.
    kick_arbitration: bool = True
    kick_focus: float = 0.6
    rival_ratio: float = 0.5
    kick_margin: float = 1.5
    #: Fraction of the phase error corrected per update.
    pll_gain: float = 0.15
    #: Activity: onsets count as stopped when the onset strength of the last `activity_window_s`
    #: falls below this fraction of its long-term average (or below `silence_strength`, dB per
    #: hop, in absolute terms).
    activity_ratio: float = 0.2
    silence_strength: float = 0.05
    #: Seconds of onset strength the activity test averages. Onsets have also stopped when none
    #: stronger than `onset_ratio` times the long-term average came for 1.25 beats.
    activity_window_s: float = 0.75
    onset_ratio: float = 2.0
    #: Below this confidence tempo and phase are held (the beat free-runs) until rhythm returns.
    hold_confidence: float = 0.12
    #: Time constant (s) with which the confidence falls while the beat free-runs.
    confidence_fall_s: float = 4.0
    #: Bars: beats per bar and how many bars of evidence are needed before downbeats are reported.
    downbeat_bars: float = 2.0
    downbeat_memory_bars: float = 8.0
    #: A bar position becomes the downbeat once its evidence leads the next by this fraction.
    downbeat_margin: float = 0.1
    #: Weights of the two bar cues: kicks at the beat, harmonic change at the beat.
    bar_cue_weights: tuple[float, float] = (1.0, 2.0)

    def __post_init__(self) -> None:
        if not (MIN_BPM <= self.min_bpm < self.max_bpm <= MAX_BPM):
            raise ValueError(
                f"TrackerConfig: need {MIN_BPM:g} <= min_bpm < max_bpm <= {MAX_BPM:g}, "
                f"got min_bpm={self.min_bpm!r}, max_bpm={self.max_bpm!r}")
        for name in ("history_s", "warmup_s", "prior_octaves", "salience_tau_s", "switch_s",
                     "confidence_fall_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"TrackerConfig.{name} must be a positive number, got {value!r}")
        if int(self.update_hops) != self.update_hops or self.update_hops < 1:
            raise ValueError(f"TrackerConfig.update_hops must be an integer >= 1, "
                             f"got {self.update_hops!r}")
        for name in ("score_memory", "phase_decay", "pll_gain"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"TrackerConfig.{name} must be between 0 and 1, got {value!r}")


@dataclass(frozen=True)
class BeatEvent:
    """One beat the tracker fired. Immutable; produced on the feeding thread.

    Attributes:
        time: the predicted time of the beat (s, audio sample time). Fired before the audio
            reaches it, never corrected afterwards.
        index: beat count since the tracker started following the music (0-based).
        position: 1-based position in the bar (1 = downbeat), or 0 while the bar is unknown.
        bpm: the tempo at the time the beat was fired.
        confidence: 0..1, how sure the tracker was (see `TrackerState.confidence`).
    """

    time: float
    index: int
    position: int
    bpm: float
    confidence: float

    @property
    def downbeat(self) -> bool:
        """True for the first beat of a bar (when bars are known)."""
        return self.position == 1


@dataclass(frozen=True)
class TrackerState:
    """Immutable snapshot of a `BeatTracker`: what the beat clock should do. Any thread.

    Musical time is continuous: ``beat_at(t) = next_index - (next_time - t) / period`` counts
    beats (beat `k` falls at integer value `k`), valid around `time` at the current tempo.

    Attributes:
        time: audio time (s) of the newest analysed hop.
        bpm: current tempo (the seed tempo until the first estimate).
        confidence: 0..1; 0 until the first estimate, falling while onsets have stopped.
        locked: True once tempo and phase have been estimated from the audio.
        active: False while onsets have stopped (the beat free-runs).
        next_time: predicted time (s) of the next beat not yet fired.
        next_index: index of that beat.
        beats_per_bar: bar length in beats.
        downbeat_index: index of some beat that is a downbeat, or None while bars are unknown.
    """

    time: float
    bpm: float
    confidence: float
    locked: bool
    active: bool
    next_time: float
    next_index: int
    beats_per_bar: int
    downbeat_index: int | None

    @property
    def period(self) -> float:
        """Seconds per beat."""
        return 60.0 / self.bpm

    def beat_at(self, t: float) -> float:
        """Continuous beat count at time `t` (integer values on beats)."""
        return self.next_index - (self.next_time - t) / self.period

    def beat_phase(self, t: float) -> float:
        """Position within the beat at time `t`, 0 <= phase < 1."""
        b = self.beat_at(t)
        return b - math.floor(b)

    def bar_beat(self, t: float) -> int:
        """1-based beat in the bar at time `t` (1 while bars are unknown)."""
        if self.downbeat_index is None:
            return 1
        return int(math.floor(self.beat_at(t)) - self.downbeat_index) % self.beats_per_bar + 1

    def bar_phase(self, t: float) -> float:
        """Position within the bar at time `t`, 0 <= phase < 1 (0 while bars are unknown)."""
        if self.downbeat_index is None:
            return 0.0
        bars = (self.beat_at(t) - self.downbeat_index) / self.beats_per_bar
        return bars - math.floor(bars)

    def position_of(self, index: int) -> int:
        """1-based position in the bar of beat `index`, 0 while bars are unknown."""
        if self.downbeat_index is None:
            return 0
        return (index - self.downbeat_index) % self.beats_per_bar + 1


def _interp(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation of `values` at fractional indices `x` (clamped to the array)."""
    return _Lookup(x, len(values))(values)


class _Lookup:
    """Linear interpolation at fixed fractional indices into arrays of a fixed length.

    The integer parts and fractions are computed once; each call is then two gathers and a
    blend, which matters at tens of calls per second.
    """

    def __init__(self, x: np.ndarray, length: int) -> None:
        x = np.asarray(x, np.float64)
        self.shape = x.shape
        i = np.clip(np.floor(x).astype(np.int64), 0, length - 2)
        self.i0 = i
        self.i1 = i + 1
        self.frac = np.clip(x - i, 0.0, 1.0)
        self.keep = 1.0 - self.frac

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return values[self.i0] * self.keep + values[self.i1] * self.frac


class _Fold:
    """Folds the last `beats` periods of a per-hop buffer (newest last) onto one period.

    `fold(buffer)[j]` is the weighted sum of the buffer at `phases[j]` hops before the newest
    hop and whole periods before that; older periods weigh `decay` times less each, and
    positions before the buffer's start count as 0. Built once per period.
    """

    def __init__(self, period: float, length: int, beats: int, decay: float) -> None:
        self.period = period
        self.phases = np.arange(0.0, period, 0.5)
        idx = (length - 1) - self.phases[:, None] - (np.arange(beats) * period)[None, :]
        self._lookup = _Lookup(np.maximum(idx, 0.0), length)
        self._weights = np.where(idx >= 0.0, decay ** np.arange(beats)[None, :], 0.0)

    def __call__(self, buffer: np.ndarray) -> np.ndarray:
        return (self._lookup(buffer) * self._weights).sum(axis=1)


class BeatTracker:
    """Causal tempo, beat and bar tracking from per-hop onset strength.

    Feed it once per analysis hop with `process`; it returns the beats fired in that hop. See the
    module docstring for the method. Runs on the feeding thread; `state()` snapshots go anywhere.

    Args:
        hop_s: seconds per hop (512 / 48000).
        config: parameters.
        seed_bpm: the tempo the prior is centred on and the state reports before the first
            estimate (the scene's bpm).
        beats_per_bar: bar length for bar positions and downbeats.
        onset_delay_s: delay from a sound to the peak of its onset strength; beat times are
            corrected by it (`BandOnsetDetector.delay_s`).
    """

    def __init__(self, hop_s: float = 512 / 48000, config: TrackerConfig | None = None, *,
                 seed_bpm: float = 120.0, beats_per_bar: int = 4,
                 onset_delay_s: float = 1.5 * 512 / 48000) -> None:
        if not (math.isfinite(hop_s) and 0.0 < hop_s <= 0.1):
            raise ValueError(f"BeatTracker: hop_s must be in (0, 0.1] seconds, got {hop_s!r}")
        if int(beats_per_bar) != beats_per_bar or not 1 <= beats_per_bar <= 64:
            raise ValueError(f"beats_per_bar must be an integer from 1 to 64, got {beats_per_bar!r}")
        self.config = config or TrackerConfig()
        self.hop_s = float(hop_s)
        self.beats_per_bar = int(beats_per_bar)
        self.onset_delay_s = float(onset_delay_s)
        c = self.config
        self._fps = 1.0 / self.hop_s
        self._n_hist = int(round(c.history_s * self._fps))
        self._bpms = np.geomspace(c.min_bpm, c.max_bpm, c.n_tempi)
        self._log2_bpms = np.log2(self._bpms)
        self._lags = 60.0 * self._fps / self._bpms  # beat periods in hops
        self._bin_ratio = float(self._bpms[1] / self._bpms[0])
        self._fft_n = 1 << int(math.ceil(math.log2(2 * self._n_hist)))
        # Fixed lookups, computed once: the autocorrelation at every candidate period and half
        # period, and the taper that weighs older onsets less.
        self._at_lags = _Lookup(self._lags, self._n_hist)
        self._at_half_lags = _Lookup(self._lags / 2.0, self._n_hist)
        self._taper = 1.0 - c.history_taper * np.linspace(1.0, 0.0, self._n_hist)
        self._overlap_n = 0
        self._overlap = np.ones(self._n_hist)
        self._salience_keep = math.exp(-c.update_hops * self.hop_s / c.salience_tau_s)
        self._conf_keep = math.exp(-self.hop_s / c.confidence_fall_s)
        self._long_alpha = 1.0 - math.exp(-self.hop_s / 10.0)
        self._recent_n = max(1, int(round(c.activity_window_s * self._fps)))
        self.seed(seed_bpm)
        self.reset()

    # ------------------------------------------------------------------ public API
    @property
    def latency_s(self) -> float:
        """Declared latency: time from a sound to the tracker's state reflecting it (two hops).

        One hop of buffering plus the onset strength's own delay (1.5 hops, compensated in the
        beat times). Beats are predicted, so they fire on time despite it.
        """
        return 2.0 * self.hop_s

    def seed(self, bpm: float) -> None:
        """Centre the tempo prior on `bpm` (the scene's tempo); used from the next estimate on.

        Feeding thread (or before feeding starts).

        Raises:
            ValueError: `bpm` is outside 20..400.
        """
        bpm = float(bpm)
        if not (MIN_BPM <= bpm <= MAX_BPM):
            raise ValueError(f"seed tempo must be between {MIN_BPM:g} and {MAX_BPM:g} bpm, got {bpm!r}")
        self.seed_bpm = bpm
        self._prior = np.exp(-0.5 * ((self._log2_bpms - math.log2(bpm))
                                     / self.config.prior_octaves) ** 2)

    def reset(self) -> None:
        """Forget all audio (back to time 0, unlocked). Feeding thread."""
        n = self._n_hist
        self._hops = 0
        self._time = 0.0
        self._odf = np.zeros(n)
        self._low_odf = np.zeros(n)
        self._score = np.zeros(n)
        self._low = deque(maxlen=8)  # (time, kick flux) of the last hops, for downbeat cues
        self._salience: np.ndarray | None = None
        self._tempo_bin: int | None = None
        self._challenge_s = 0.0
        self._period: float | None = None  # hops per beat
        self._score_window: tuple[np.ndarray, np.ndarray] | None = None
        self._fold: _Fold | None = None
        self._score_period = 0.0
        self._next_time: float | None = None
        self._next_index = 0
        self._confidence = 0.0
        self._long_strength = 0.0
        self._recent: deque[float] = deque()
        self._last_onset_time = -math.inf
        self._active = False
        # Bars: beat times awaiting their cues, per-position evidence, interval spectra.
        self._fired: deque[tuple[int, float]] = deque()
        self._bar_evidence = np.zeros((2, self.beats_per_bar))  # rows: kicks, harmonic novelty
        self._bar_beats_seen = 0
        self._interval_sum: np.ndarray | None = None
        self._interval_n = 0
        self._prev_interval: np.ndarray | None = None
        self._downbeat_index: int | None = None

    def state(self) -> TrackerState:
        """An immutable snapshot of tempo, phase, bars and confidence."""
        if self._period is None or self._next_time is None:
            period_s = 60.0 / self.seed_bpm
            return TrackerState(self._time, self.seed_bpm, 0.0, False, self._active,
                                self._time + period_s, 0, self.beats_per_bar, None)
        return TrackerState(self._time, self._bpm(), self._confidence, True, self._active,
                            self._next_time, self._next_index, self.beats_per_bar,
                            self._downbeat_index)

    def process(self, strength: float, time: float, kick: float = 0.0,
                levels: np.ndarray | None = None) -> list[BeatEvent]:
        """Take one hop's onset features; return the beats fired in this hop (usually none).

        Args:
            strength: onset strength of the hop (`BandOnsets.strength`).
            time: audio time (s) of the end of the hop.
            kick: the kick detection function of the hop (`BandOnsets.flux[0]`): a beat
                reference in four-on-the-floor music and a downbeat cue.
            levels: the hop's filter levels in dB (`BandOnsets.levels`), for chord-change cues.
        """
        c = self.config
        strength = float(strength) if math.isfinite(strength) else 0.0
        self._time = float(time)
        self._hops += 1
        self._track_activity(strength)
        odf = self._odf
        odf[:-1] = odf[1:]
        odf[-1] = strength
        low_odf = self._low_odf
        low_odf[:-1] = low_odf[1:]
        kick = float(kick) if math.isfinite(kick) else 0.0
        low_odf[-1] = kick
        self._update_score(strength)
        self._low.append((self._time, kick))
        if levels is not None:
            self._accumulate_interval(levels)

        if (self._hops >= c.warmup_s * self._fps and self._hops % c.update_hops == 0
                and self._active):
            period = self._estimate_tempo()
            if period is not None:
                # Without rhythm (a breakdown of pads and risers, noise) the estimates wander:
                # hold tempo and phase, keep measuring, and follow again once the beat is back.
                held = self._period is not None and self._confidence < c.hold_confidence
                if not held:
                    self._period = period
                self._update_phase(steer=not held)
        if not self._active:
            self._confidence *= self._conf_keep

        fired: list[BeatEvent] = []
        if self._next_time is not None and self._period is not None:
            period_s = self._period * self.hop_s
            self._close_due_beats()
            # Commit every beat that falls before the next hop is analysed: it is still ahead of
            # (or within one hop of) the audio, so it is a prediction, not a detection.
            while self._next_time <= self._time + self.hop_s:
                d = self._downbeat_index
                position = 0 if d is None else (self._next_index - d) % self.beats_per_bar + 1
                fired.append(BeatEvent(self._next_time, self._next_index, position,
                                       self._bpm(), self._confidence))
                self._fired.append((self._next_index, self._next_time))
                self._next_time += period_s
                self._next_index += 1
        return fired

    # ------------------------------------------------------------------ internals
    def _bpm(self) -> float:
        return 60.0 / (self._period * self.hop_s)

    def _track_activity(self, strength: float) -> None:
        """Is there music with onsets right now? Compares recent with long-term strength."""
        recent = self._recent
        recent.append(strength)
        if len(recent) > self._recent_n:
            recent.popleft()
        # Summed afresh (about 140 floats): a running sum would drift over hours of show.
        recent_mean = sum(recent) / len(recent)
        c = self.config
        if strength > c.onset_ratio * max(self._long_strength, c.silence_strength):
            self._last_onset_time = self._time
        # Onsets have stopped when none came for over a beat (plus some slack): measuring the
        # phase on a fold whose newest beat is silent would pull it towards older off-beats.
        gap = 1.25 * (self._period * self.hop_s if self._period else 60.0 / self.seed_bpm)
        active = (recent_mean > c.silence_strength
                  and recent_mean > c.activity_ratio * self._long_strength
                  and self._time - self._last_onset_time <= max(gap, c.activity_window_s))
        if active:
            # The long-term average learns only from active music, so a breakdown does not
            # lower the bar the music must clear to count as back.
            self._long_strength += (strength - self._long_strength) * self._long_alpha
            if self._long_strength == 0.0:
                self._long_strength = strength
        self._active = active

    def _update_score(self, strength: float) -> None:
        """Cumulative beat score: this hop's strength plus the best-placed earlier beat."""
        score = self._score
        score[:-1] = score[1:]
        if self._period is None:
            score[-1] = strength
            return
        if self._score_window is None or abs(self._period / self._score_period - 1.0) > 0.005:
            p = self._period
            lags = np.arange(max(1, int(round(p / 2))), min(len(score) - 1, int(round(2 * p))) + 1)
            weights = np.exp(-0.5 * (self.config.score_sharpness * np.log(lags / p)) ** 2)
            self._score_window = (len(score) - 1 - lags, weights)
            self._score_period = p
        idx, weights = self._score_window
        m = self.config.score_memory
        score[-1] = (1.0 - m) * strength + m * float(np.max(weights * score[idx]))

    def _estimate_tempo(self) -> float | None:
        """Update the tempo salience and return the tracked beat period in hops."""
        c = self.config
        n = min(self._hops, self._n_hist)
        o = self._odf[-n:] - self._odf[-n:].mean()
        if c.history_taper:
            # Older onsets weigh less, so a new tempo takes over the autocorrelation sooner.
            if n == self._n_hist:
                o *= self._taper
            else:  # the first seconds: the taper spans the history there is
                o *= 1.0 - c.history_taper * np.linspace(1.0, 0.0, n)
        spec = np.fft.rfft(o, self._fft_n)
        spec = spec.real * spec.real + spec.imag * spec.imag
        # Zero padding to twice the history: lags beyond n read as 0, so every lag is valid.
        ac = np.fft.irfft(spec, self._fft_n)[: self._n_hist]
        if not ac[0] > 0.0:
            return self._period
        # Normalised, and corrected for the shrinking overlap at long lags.
        if self._overlap_n != n:
            self._overlap = np.maximum((n - np.arange(self._n_hist)) / n, 0.25)
            self._overlap_n = n
        ac /= ac[0] * self._overlap
        salience = np.maximum(self._at_lags(ac), 0.0)
        salience[self._lags >= 0.6 * n] = 0.0  # lags the history cannot show repeating
        if c.subdivision_weight:
            salience += c.subdivision_weight * np.maximum(self._at_half_lags(ac), 0.0)
        if self._salience is None:
            self._salience = salience
        else:
            keep = self._salience_keep
            self._salience = keep * self._salience + (1.0 - keep) * salience
        scores = self._salience * self._prior
        best = int(np.argmax(scores))
        if self._tempo_bin is None:
            self._tempo_bin = best
        else:
            near = np.abs(self._log2_bpms - self._log2_bpms[self._tempo_bin]) <= c.follow_octaves
            current = int(np.argmax(np.where(near, scores, -1.0)))
            self._tempo_bin = current
            distant = abs(self._log2_bpms[best] - self._log2_bpms[current]) > c.follow_octaves
            if distant and scores[best] > c.switch_ratio * scores[current]:
                self._challenge_s += c.update_hops * self.hop_s
                if self._challenge_s >= c.switch_s:
                    self._tempo_bin = best
                    self._challenge_s = 0.0
            else:
                self._challenge_s = 0.0
        j = self._tempo_bin
        bpm = float(self._bpms[j])
        if 0 < j < c.n_tempi - 1 and scores[j - 1] > 0.0 and scores[j + 1] > 0.0:
            # Parabolic refinement between tempo bins (in the log domain).
            y0, y1, y2 = math.log(scores[j - 1]), math.log(scores[j]), math.log(scores[j + 1])
            den = y0 - 2.0 * y1 + y2
            if den < 0.0:
                bpm *= self._bin_ratio ** max(-0.5, min(0.5, 0.5 * (y0 - y2) / den))
        return 60.0 * self._fps / bpm

    def _update_phase(self, steer: bool = True) -> None:
        """Measure where the beats fall in the folded score and (if `steer`) steer the
        predicted beat towards it; the confidence is updated either way."""
        c = self.config
        p = self._period
        score = self._score
        fold = self._fold
        if fold is None or abs(fold.period - p) > 0.02:
            # Rebuilt only when the tempo moves by more than a fiftieth of a hop per beat.
            fold = self._fold = _Fold(p, len(score), c.phase_beats, c.phase_decay)
        phases = fold.phases
        folded = fold(score)
        k = int(np.argmax(folded))
        peak = float(folded[k])
        mean = float(folded.mean())
        contrast = (peak - mean) / peak if peak > 0.0 else 0.0
        # Smoothed confidence: how peaked the fold is (a clean beat gives a narrow peak).
        if self._next_time is None:
            self._confidence = contrast
        else:
            self._confidence += (contrast - self._confidence) * 0.1

        if c.kick_arbitration:
            k = self._arbitrate(k, folded, fold)
        period_s = p * self.hop_s
        measured = self._time - phases[k] * self.hop_s - self.onset_delay_s + period_s
        if self._next_time is None:
            while measured <= self._time:
                measured += period_s
            self._next_time = measured
            return
        if not steer:
            return
        error = (measured - self._next_time + period_s / 2.0) % period_s - period_s / 2.0
        self._move_next(self._next_time + c.pll_gain * error, period_s)

    def _arbitrate(self, k: int, folded: np.ndarray, fold: _Fold) -> int:
        """Let a four-on-the-floor kick choose between the fold's peak and its rival.

        In dance music the off-beat hats are often louder, in onset strength, than the kick on
        the beat, and the fold's highest peak is then the off-beat. When the bass onsets are
        focused on one phase (a kick on every beat; a bass line or a syncopated rock kick spreads
        out) and the fold has a rival peak at least a quarter beat away, the candidate with more
        kick under it wins. The phase itself still comes from the fold's peak, so the slower
        attack of bass notes does not delay the beat.
        """
        c = self.config
        p = self._period
        if self._hops < c.phase_beats * p:
            return k  # a fold of fewer beats is peaky by chance
        low_fold = fold(self._low_odf)
        phases = fold.phases
        total = float(low_fold.sum())
        if total <= 0.0:
            return k

        def around(centre: float, width: float) -> np.ndarray:
            return np.abs((phases - centre + p / 2.0) % p - p / 2.0) < width

        kick_phase = phases[int(np.argmax(low_fold))]
        focus = float(low_fold[around(kick_phase, p / 8.0)].sum()) / total
        if focus < c.kick_focus or not np.abs(
                (kick_phase - phases[k] + p / 2.0) % p - p / 2.0) >= p / 4.0:
            return k  # no steady kick, or it agrees with the fold already
        near_kick = np.flatnonzero(around(kick_phase, p / 16.0))
        rival = int(near_kick[np.argmax(folded[near_kick])])
        if folded[rival] < c.rival_ratio * folded[k]:
            return k  # the fold has no beat candidate where the kick is
        kick_here = float(low_fold[around(phases[k], p / 16.0)].max())
        kick_there = float(low_fold[near_kick].max())
        return rival if kick_there > c.kick_margin * kick_here else k

    def _move_next(self, next_time: float, period_s: float) -> None:
        """Move the predicted next beat, never before audio already analysed."""
        while next_time <= self._time:
            next_time += period_s
        self._next_time = next_time

    # ------------------------------------------------------------------ bars
    def _accumulate_interval(self, levels: np.ndarray) -> None:
        if self._interval_sum is None:
            self._interval_sum = np.zeros(len(levels))
        self._interval_sum += levels
        self._interval_n += 1

    def _close_due_beats(self) -> None:
        """Gather bar cues for fired beats whose audio has now been analysed."""
        c = self.config
        bpb = self.beats_per_bar
        while self._fired and self._time >= self._fired[0][1] + 2.5 * self.hop_s:
            index, t = self._fired.popleft()
            # Kick at the beat: the strongest kick flux within about two hops of it.
            low = max((v for tt, v in self._low
                       if abs(tt - self.onset_delay_s - t) <= 2.0 * self.hop_s), default=0.0)
            keep = 1.0 - 1.0 / (c.downbeat_memory_bars * bpb)
            self._bar_evidence *= keep
            self._bar_evidence[0, index % bpb] += low
            if self._interval_sum is not None and self._interval_n:
                interval = self._interval_sum / self._interval_n
                if self._prev_interval is not None:
                    # How much the spectrum rose from the previous beat interval to the one that
                    # just ended; a chord change at beat index-1 shows here.
                    novelty = float(np.abs(interval - self._prev_interval).mean())
                    self._bar_evidence[1, (index - 1) % bpb] += novelty
                self._prev_interval = interval
                self._interval_sum[:] = 0.0
                self._interval_n = 0
            self._bar_beats_seen += 1
            if bpb > 1 and self._bar_beats_seen >= c.downbeat_bars * bpb:
                ev = self._bar_evidence
                # Each cue relative to its own mean over the bar, so neither scale dominates.
                means = ev.mean(axis=1, keepdims=True)
                weights = np.asarray(c.bar_cue_weights, np.float64)[:, None]
                combined = (weights * ev / np.where(means > 0.0, means, 1.0)).sum(axis=0)
                # Evidence is kept per index modulo the bar, so the best column is a downbeat
                # index itself. A new position is taken only when it clearly leads; otherwise
                # the last decision stands (bar counts that hop around are worse than none).
                order = np.argsort(combined)
                best, second = float(combined[order[-1]]), float(combined[order[-2]])
                if best > 0.0 and (best - second) / best >= c.downbeat_margin:
                    self._downbeat_index = int(order[-1])


class BeatClockDriver:
    """Keeps a `BeatClock` in step with a `BeatTracker` state. Render thread.

    Each `apply` sets the clock's tempo and phase so that its beat count at `now` equals the
    tracker's beat count at ``now - visual_offset_s`` (negative offset: the clock runs ahead and
    visuals fire earlier, making up for projector latency), plus the performer's nudges, plus a
    whole number of beats chosen when the driver takes over (so the clock's count does not jump).
    With `align_bars`, once the tracker knows the bars, that whole number is moved forward (never
    back, so no beat fires twice) until the clock's bar starts fall on the tracker's downbeats.
    It is off by default: the downbeat estimate is weak on real music (see BENCHMARKS.md), and a
    bar count that jumps moves every keyframe track, while the scene's own bar grid, once the
    performer aligns it (`BeatClock.align`), stays put.

    While the clock's source is in `OVERRIDE_SOURCES` (tap tempo, a tempo fader) the driver leaves
    it alone; `release` hands the clock back to the tracker. Before the tracker locks, or while its
    confidence is below `min_confidence`, the clock keeps running at its own tempo (the scene's).

    Args:
        visual_offset_s: seconds added to the beat for display; -0.05 fires flashes 50 ms early.
        min_confidence: the tracker's confidence needed to take the clock over.
        align_bars: move the clock's bars onto the tracker's downbeats.
    """

    def __init__(self, visual_offset_s: float = 0.0, min_confidence: float = 0.15,
                 align_bars: bool = False) -> None:
        if not math.isfinite(visual_offset_s) or abs(visual_offset_s) > 1.0:
            raise ValueError(f"visual_offset_s must be within -1..1 s, got {visual_offset_s!r}")
        self.visual_offset_s = float(visual_offset_s)
        self.min_confidence = float(min_confidence)
        self.align_bars = bool(align_bars)
        #: Phase offset (beats) from the performer's nudges, kept on top of the tracker's phase.
        self.user_offset_beats = 0.0
        self._whole: int | None = None  # clock count minus tracker count, whole beats
        self._expected: tuple[float, float, float] | None = None  # (t, beat, bpm) we left it at

    def release(self, clock: BeatClock) -> None:
        """Hand a clock that tap tempo (or a fader) had taken back to the tracker. Render thread."""
        if clock.source in OVERRIDE_SOURCES:
            clock.source = AUDIO_SOURCE
        self._expected = None
        self._whole = None

    def apply(self, clock: BeatClock, state: TrackerState, now: float,
              audio_to_clock_s: float = 0.0) -> bool:
        """Steer `clock` towards the tracker's beat at clock time `now`; True if it was steered.

        Call it once per frame before `clock.update(now)` (the engine's tick).

        Args:
            clock: the engine's beat clock.
            state: the tracker's latest state.
            now: the clock time of the frame about to be drawn (seconds on the engine's clock).
            audio_to_clock_s: engine clock time minus audio sample time (0 offline; live, the
                stream's start time plus the capture latency).
        """
        if clock.source in OVERRIDE_SOURCES or not state.locked:
            self._expected = None
            self._whole = None
            return False
        if clock.source != AUDIO_SOURCE and state.confidence < self.min_confidence:
            return False
        if self._expected is not None and clock.source == AUDIO_SOURCE:
            t0, beat0, bpm0 = self._expected
            drift = clock.beat_at(now) - (beat0 + (now - t0) * bpm0 / 60.0)
            if abs(drift) > 1e-9:
                # Someone moved the phase since our last frame: a performer's nudge. Keep it.
                self.user_offset_beats += drift
        target = (state.beat_at(now - audio_to_clock_s - self.visual_offset_s)
                  + self.user_offset_beats)
        if self._whole is None:
            self._whole = round(clock.beat_at(now) - target)
        if self.align_bars and state.downbeat_index is not None:
            # Clock bar start <=> tracker downbeat: whole == -downbeat_index (mod beats_per_bar).
            self._whole += (-state.downbeat_index - self._whole) % clock.beats_per_bar
        bpm = min(max(state.bpm, MIN_BPM), MAX_BPM)
        clock.set_tempo(bpm, now, source=AUDIO_SOURCE)
        clock.nudge(target + self._whole - clock.beat_at(now))
        self._expected = (now, clock.beat_at(now), bpm)
        return True

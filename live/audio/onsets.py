"""Onset strength and per-band drum onsets (kick, snare, hats) from the per-hop spectrum.

One `BandOnsetDetector` runs per analysis hop on the spectrum the `FeatureExtractor` already
computed (2048-sample Hann window, 512-sample hop at 48 kHz), so it costs one small matrix product
and a few vector operations per hop:

1. The magnitude spectrum is pooled into `N_FILTERS` triangular filters on the mel scale (30 Hz to
   16 kHz): fine resolution where kick and bass live, coarse where only "how much noise" matters.
2. Each filter's power goes to dB, floored `FLOOR_DB` below a slowly falling running maximum, so
   hiss in quiet passages does not read as onsets and the result does not depend on the level.
3. The rise of each filter over `FLUX_LAG` hops, half-wave rectified, is its flux (dB per 21 ms).

The mean flux over all filters is the *onset strength* that drives the beat tracker; the mean over
a drum's filters (kick: low, snare: body and crack, hats: top octave) goes through an adaptive
threshold (a floor plus a multiple of the recent median) with a minimum gap, giving the
`audio.onset.kick`, `audio.onset.snare` and `audio.onset.hats` triggers. An onset is reported on
the hop where the flux first crosses its threshold (no waiting for the peak), so the trigger comes
at most one hop after the sound reaches the analysis.

Threading: everything here runs on the thread that feeds the analysis (`process` is called from a
`FeatureExtractor` hop listener); nothing is shared with other threads.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

#: Number of mel-spaced filters the spectrum is pooled into, and their range (Hz).
N_FILTERS = 48
FILTER_LO_HZ = 30.0
FILTER_HI_HZ = 16000.0
#: dB floor below the running maximum, and how fast that maximum falls (dB per second), so a
#: quiet passage after a loud one regains its dynamic range within tens of seconds.
FLOOR_DB = 60.0
MAX_FALL_DB_PER_S = 1.0
#: The flux compares each hop with the one FLUX_LAG hops earlier (21 ms at 48 kHz): overlapping
#: windows change little from one hop to the next, so a lag of one hop would halve the contrast.
FLUX_LAG = 2
#: Delay from a sound's start to the peak of the flux it causes, in hops (measured with clicks and
#: synthetic drums: 1.4 to 1.7 hops for the 2048 window and lag 2). Onset times subtract it.
FLUX_DELAY_HOPS = 1.5

#: The drum bands whose onsets are published, in signal-name order.
DRUMS = ("kick", "snare", "hats")


@dataclass(frozen=True)
class DrumBand:
    """How one drum's onsets are detected.

    Two detection functions exist, chosen per drum by what separated it best from the rest of a
    band mix on MDB Drums:

    * ``"power"``: the band's summed power relative to its own running mean (time constant
      `POWER_MEAN_TAU_S`), square-root compressed; its rise over `FLUX_LAG` hops is the flux. A
      kick or hat doubles its band's power from one hop to the next; a bass line rarely does.
    * ``"dbgeo"``: the geometric mean of the dB rises of two ranges, which must *both* rise: a
      snare's body (150-400 Hz) and its crack (3-8 kHz), where a hat alone or a kick alone
      raises only one of them. With `level_gate_db` set, the second range's level must also be
      within that many dB of its own maximum over the last `level_gate_s`: in a band mix the
      snare is the loudest thing in its crack range, while guitar strums, hats and cymbal wash
      that raise both ranges a little are quieter there than the last snare hit.

    Attributes:
        ranges_hz: frequency ranges (lo, hi) of the filters used ("dbgeo": exactly two).
        method: "power" or "dbgeo".
        floor: the threshold's fixed part, in units of the detection function.
        ratio: the threshold's adaptive part, a multiple of a median over the recent hops: of the
            detection function ("dbgeo"), or of the size of its changes, up or down ("power"),
            which grows with the band's restlessness (noise, a busy bass line) even between hits.
        min_gap_s: shortest time between two onsets of this drum.
        level_gate_db: "dbgeo" only: how far (dB) below its recent maximum the second range's
            level may be for an onset; None: no gate.
        level_gate_s: "dbgeo" only: how far back (s) that maximum reaches.
        min_power_rise: "power" only: the band's power must also have grown by this factor over
            `FLUX_LAG` hops (3 = 4.8 dB). Noise in a narrow band fluctuates enough to cross the
            threshold now and then; it rarely triples in 21 ms, while a hit does.
    """

    ranges_hz: tuple[tuple[float, float], ...]
    method: str
    floor: float
    ratio: float
    min_gap_s: float
    min_power_rise: float = 3.0
    level_gate_db: float | None = None
    level_gate_s: float = 1.0

    def __post_init__(self) -> None:
        if self.method not in ("power", "dbgeo"):
            raise ValueError(f"DrumBand.method must be 'power' or 'dbgeo', got {self.method!r}")
        if self.method == "dbgeo" and len(self.ranges_hz) != 2:
            raise ValueError("a 'dbgeo' DrumBand needs exactly two frequency ranges")
        if self.level_gate_db is not None and (self.method != "dbgeo" or self.level_gate_db < 0
                                               or self.level_gate_s <= 0):
            raise ValueError("DrumBand.level_gate_db needs method 'dbgeo', level_gate_db >= 0 "
                             f"and level_gate_s > 0, got {self.level_gate_db!r}, "
                             f"{self.level_gate_s!r} for method {self.method!r}")


#: Time constant (s) of the running mean that "power" detection functions are relative to.
POWER_MEAN_TAU_S = 3.0
#: Band power (full-scale sine = 0.5) below which a "power" band counts as silent (-100 dB).
POWER_GATE = 1e-10


@dataclass(frozen=True)
class OnsetConfig:
    """Tunable parameters of the per-band onset detectors (defaults chosen on MDB Drums)."""

    kick: DrumBand = DrumBand(((40.0, 100.0),), "power", floor=0.6, ratio=3.0, min_gap_s=0.09)
    # The snare's level gate (4.5 dB below the crack range's maximum over 1 s) and its 3-8 kHz
    # crack range raised mean F on MDB Drums from 0.56 to 0.70; leave-one-file-out selection
    # over gate 3-9 dB, 0.5-2 s, crack from 2 or 3 kHz, floor and ratio scored 0.73 held out.
    snare: DrumBand = DrumBand(((150.0, 400.0), (3000.0, 8000.0)), "dbgeo", floor=4.0, ratio=0.5,
                               min_gap_s=0.09, level_gate_db=4.5, level_gate_s=1.0)
    hats: DrumBand = DrumBand(((7000.0, 16000.0),), "power", floor=0.4, ratio=0.5,
                              min_gap_s=0.06)
    #: Hops of history for the adaptive thresholds (about 0.3 s).
    history_hops: int = 28

    def band(self, name: str) -> DrumBand:
        """The `DrumBand` called `name` (one of `DRUMS`)."""
        return getattr(self, name)


@dataclass(frozen=True)
class BandOnsets:
    """What one hop's band analysis found. Produced on the feeding thread, immutable.

    Attributes:
        time: sample time (s) of the end of the hop.
        strength: onset strength (mean flux over all filters, dB per lag); drives the tracker.
        flux: per-drum flux, in `DRUMS` order.
        onsets: per-drum onset flags for this hop, in `DRUMS` order.
        onset_time: estimated time (s) of the sound behind the onsets of this hop (the hop end
            minus the flux delay); meaningful only where a flag is set.
        levels: the hop's filter levels in dB (floored), a fresh array; chord-change cues.
    """

    time: float
    strength: float
    flux: tuple[float, float, float]
    onsets: tuple[bool, bool, bool]
    onset_time: float
    levels: np.ndarray | None = None


def mel_filterbank(n_filters: int, lo_hz: float, hi_hz: float, n_bins: int,
                   bin_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Triangular filters evenly spaced on the mel scale, as weights over FFT bins.

    Returns:
        (weights of shape (n_filters, n_bins), centre frequencies in Hz). A filter narrower than
        one bin gets the nearest bin instead, so no filter is empty. Any thread.
    """

    def to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)

    def from_mel(m):
        return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)

    points = from_mel(np.linspace(to_mel(lo_hz), to_mel(hi_hz), n_filters + 2))
    freqs = np.arange(n_bins) * bin_hz
    weights = np.zeros((n_filters, n_bins), np.float64)
    for i in range(n_filters):
        lo, centre, hi = points[i], points[i + 1], points[i + 2]
        rising = (freqs - lo) / (centre - lo)
        falling = (hi - freqs) / (hi - centre)
        weights[i] = np.maximum(0.0, np.minimum(rising, falling))
        if not weights[i].any():
            weights[i, min(n_bins - 1, int(round(centre / bin_hz)))] = 1.0
    return weights, points[1:-1]


class BandOnsetDetector:
    """Per-hop onset strength and kick/snare/hats onsets from a magnitude spectrum.

    Feeding thread only (see the module docstring).

    Args:
        sr: sample rate (Hz).
        hop: hop size in samples.
        fft_size: size of the FFT whose `fft_size // 2 + 1` magnitudes `process` receives.
        config: detector parameters.
    """

    def __init__(self, sr: int = 48000, hop: int = 512, fft_size: int = 2048,
                 config: OnsetConfig | None = None) -> None:
        self.sr, self.hop, self.fft_size = int(sr), int(hop), int(fft_size)
        self.config = config or OnsetConfig()
        self.hop_s = self.hop / self.sr
        bin_hz = self.sr / self.fft_size
        hi = min(FILTER_HI_HZ, 0.5 * self.sr * 0.95)
        n_bins = min(self.fft_size // 2 + 1, int(math.ceil(hi / bin_hz)) + 2)
        weights, centres = mel_filterbank(N_FILTERS, FILTER_LO_HZ, hi, n_bins, bin_hz)
        self._n_bins = n_bins
        # float32 keeps the per-hop product cheap; dB values do not need more.
        self._weights = np.ascontiguousarray(weights.T, dtype=np.float32)  # (n_bins, N_FILTERS)
        self.centres_hz = centres
        # Every per-hop reduction is one column of a small matrix, so a hop needs two matrix
        # products instead of a handful of numpy calls (whose overhead dominates at this size):
        # rise columns are means (0: all filters, the onset strength; then "dbgeo" ranges),
        # power columns are sums ("power" ranges).
        rise_cols = [np.full(N_FILTERS, 1.0 / N_FILTERS)]
        power_cols = []
        self._drum_cols: list[tuple[int, ...]] = []
        for name in DRUMS:
            band = self.config.band(name)
            cols = []
            for lo, hi_hz in band.ranges_hz:
                mask = (centres >= lo) & (centres <= hi_hz)
                if not mask.any():  # a range between two centres still gets its nearest filter
                    mask[int(np.argmin(np.abs(centres - 0.5 * (lo + hi_hz))))] = True
                if band.method == "power":
                    cols.append(len(power_cols))
                    power_cols.append(mask.astype(np.float64))
                else:
                    cols.append(len(rise_cols))
                    rise_cols.append(mask / mask.sum())
            self._drum_cols.append(tuple(cols))
        self._rise_matrix = np.array(rise_cols, np.float32).T  # (N_FILTERS, n_rise)
        self._power_matrix = np.array(power_cols or [np.zeros(N_FILTERS)]).T
        self._max_fall = MAX_FALL_DB_PER_S * self.hop_s
        self._mean_alpha = 1.0 - math.exp(-self.hop_s / POWER_MEAN_TAU_S)
        self._min_gap_hops = [max(1, int(round(self.config.band(n).min_gap_s / self.hop_s)))
                              for n in DRUMS]
        self._gate_hops = [max(1, int(round(self.config.band(n).level_gate_s / self.hop_s)))
                           for n in DRUMS]
        self.reset()

    @property
    def delay_s(self) -> float:
        """Typical delay (s) from a sound's start to the peak of its flux."""
        return FLUX_DELAY_HOPS * self.hop_s

    def reset(self) -> None:
        """Forget all history (feeding thread)."""
        self._hops = 0
        self._levels: deque[np.ndarray] = deque(maxlen=FLUX_LAG)
        self._running_max = -math.inf
        n = len(DRUMS)
        self._power_mean = [0.0] * n
        self._power_hist: list[deque[float]] = [deque(maxlen=FLUX_LAG) for _ in range(n)]
        self._history: list[deque[float]] = [deque(maxlen=self.config.history_hops)
                                             for _ in range(n)]
        self._last_onset = [-(10**9)] * n
        # Recent levels (dB) of each gated drum's second range, for its level gate.
        self._gate_levels: list[deque[float]] = [deque(maxlen=h) for h in self._gate_hops]

    def process(self, spectrum: np.ndarray, time: float) -> BandOnsets:
        """Analyse one hop's magnitude spectrum (amplitude units, bins 0..fft_size/2).

        Args:
            spectrum: the hop's magnitude spectrum (`HopAnalysis.spectrum`).
            time: sample time (s) of the end of the hop.
        """
        mag = spectrum[: self._n_bins]
        power = (mag * mag) @ self._weights
        levels = 10.0 * np.log10(np.maximum(power, 1e-20, dtype=np.float32))
        self._running_max = max(float(levels.max()), self._running_max - self._max_fall)
        np.maximum(levels, self._running_max - FLOOR_DB, out=levels)

        self._hops += 1
        ready = len(self._levels) == FLUX_LAG
        rise = levels - self._levels[0] if ready else np.zeros_like(levels)
        self._levels.append(levels)  # the deque drops the oldest
        np.maximum(rise, 0.0, out=rise)
        rise_means = (rise @ self._rise_matrix).tolist()
        level_means = None  # computed only if a drum has a level gate
        power_sums = (power.astype(np.float64) @ self._power_matrix).tolist()
        strength = rise_means[0]

        fluxes = []
        flags = []
        for i, name in enumerate(DRUMS):
            band = self.config.band(name)
            cols = self._drum_cols[i]
            if band.method == "power":
                flux, change = self._power_flux(i, power_sums[cols[0]], band.min_power_rise)
            else:
                flux = math.sqrt(max(rise_means[cols[0]], 0.0) * max(rise_means[cols[1]], 0.0))
                change = flux
                if band.level_gate_db is not None:
                    if level_means is None:
                        level_means = (levels @ self._rise_matrix).tolist()
                    recent = self._gate_levels[i]
                    recent.append(level_means[cols[1]])
                    if recent[-1] < max(recent) - band.level_gate_db:
                        flux = 0.0  # quieter than recent hits: not this drum (history keeps change)
            hist = self._history[i]
            ordered = sorted(hist)  # ~28 Python floats: cheaper than np.median here
            median = ordered[len(ordered) // 2] if ordered else 0.0
            onset = (ready and flux > band.floor + band.ratio * median
                     and len(hist) >= hist.maxlen // 2
                     and self._hops - self._last_onset[i] >= self._min_gap_hops[i])
            if onset:
                self._last_onset[i] = self._hops
            hist.append(change)
            fluxes.append(flux)
            flags.append(onset)
        return BandOnsets(time, strength, tuple(fluxes), tuple(flags),
                          time - self.delay_s, levels)

    def _power_flux(self, i: int, band_power: float, min_rise: float) -> tuple[float, float]:
        """The "power" detection function of drum `i` for this hop (0 unless it rose enough),
        and the size of the change it measures (for the adaptive threshold)."""
        mean = self._power_mean[i]
        if band_power > POWER_GATE:
            # Learns only while the band is audible: through silence the mean holds, so the
            # first hit after a pause is judged against the music before it, not against zero.
            mean += (band_power - mean) * self._mean_alpha
            self._power_mean[i] = mean
        value = math.sqrt(band_power / max(mean, POWER_GATE))
        hist = self._power_hist[i]
        flux = change = 0.0
        if len(hist) == FLUX_LAG:
            change = abs(value - hist[0])
            # value is the square root of power over a common mean: a power rise by min_rise is
            # a value rise by sqrt(min_rise).
            if value * value >= min_rise * hist[0] * hist[0]:
                flux = value - hist[0]
        hist.append(value)
        return flux, change

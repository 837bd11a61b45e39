"""Streaming audio analysis: levels, bands, onsets and the audio textures.

`FeatureExtractor` is fed mono float32 blocks of any size and analyses fixed hops (512 samples at
48 kHz, 93.75 hops per second). Each hop is stamped with its sample time, so live capture and
offline renders run the same code and get the same numbers. Per hop it computes:

* a 2048-sample Hann-windowed spectrum, giving the bass (20-250 Hz), mid (250-4000 Hz) and treble
  (4-16 kHz) levels, 16 log-spaced bands from 20 Hz to 16 kHz, and the FFT texture;
* the RMS and peak of the hop;
* spectral flux over the newest 1024 samples (shorter window: sharper timing) with an adaptive
  threshold, giving onsets.

Levels are auto-gained: each is its amplitude relative to its own long-term average (about 6 s),
mapped by ``1 - 2 ** -ratio`` so the average sits at 0.5 and a level twice the average at 0.75, in
quiet and loud mixes alike (the projectM idea). Three guards keep noise from being amplified into
motion: a gate (below -80 dBFS a level is 0, fading in over 20 dB), averages that hold still while
the whole input is silent, and a relative floor (no level is boosted more than it would be 24 dB
below the loudest level of its group, so a band holding only leakage or hiss stays dark). Each
level is then smoothed with separate attack and release twice: the fast version (`bass`) and the
slow, attenuated version (`bass_att`, as in projectM/MilkDrop). Smoothing runs per hop in *audio*
time with the ``rate ** (dt * 30)`` law, so it does not depend on the render frame rate at all, and
offline renders at any fps see the same curve as live.

Extension point: `add_hop_listener` gives every hop's `HopAnalysis` (spectrum, flux, onset, time)
to later analysis (beat tracking, per-band onsets) on the thread that feeds.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: Width of the FFT texture (`AUDIO_FFT`, 512x1) and the waveform texture (`AUDIO_WAVE`, 512x1).
FFT_TEXTURE_SIZE = 512
WAVE_TEXTURE_SIZE = 512
#: The FFT texture maps -80 dB .. 0 dB to 0 .. 1; 0 dB is a full-scale sine.
FFT_DB_FLOOR = -80.0
FFT_DB_CEIL = 0.0
#: The FFT texture falls back by at most this many dB per second (instant rise), so bins do not
#: flicker from hop to hop.
FFT_RELEASE_DB_PER_S = 120.0

N_BANDS = 16
#: Edges (Hz) of the 16 log-spaced bands: 17 values from 20 Hz to 16 kHz.
BAND_EDGES_HZ = tuple(float(f) for f in np.geomspace(20.0, 16000.0, N_BANDS + 1))
BASS_HZ = (20.0, 250.0)
MID_HZ = (250.0, 4000.0)
TREB_HZ = (4000.0, 16000.0)

#: Gate for auto-gain: below GATE_DBFS a level is 0; it fades in fully by GATE_DBFS + GATE_KNEE_DB.
GATE_DBFS = -80.0
GATE_KNEE_DB = 20.0
#: No level is boosted above what it would be at this many dB below the loudest of its group.
RELATIVE_FLOOR_DB = 24.0
#: Time constant (s) of the long-term average the levels are relative to.
LONG_TERM_TAU_S = 6.0
#: Smoothing retention per 1/30 s (``value += (target - value) * (1 - rate ** (dt * 30))``):
#: attack when rising, release when falling. Fast = `bass`, attenuated = `bass_att`.
FAST_ATTACK, FAST_RELEASE = 0.05, 0.75
ATT_ATTACK, ATT_RELEASE = 0.5, 0.92
#: Peak meter: instant rise, this retention per 1/30 s when falling.
PEAK_RELEASE = 0.8

#: Onsets: flux above ONSET_DELTA + ONSET_LAMBDA * median(flux of the last ONSET_HISTORY hops),
#: at least ONSET_MIN_GAP_S after the previous onset.
ONSET_DELTA = 5.0
ONSET_LAMBDA = 1.5
ONSET_HISTORY = 16
ONSET_MIN_GAP_S = 0.06
#: Hops of flux history needed before onsets are reported (the threshold needs a baseline, or
#: a stream that starts in the middle of music would begin with a false onset).
ONSET_WARMUP_HOPS = 8
#: Magnitude compression before the flux: log(1 + C * amplitude / long-term RMS), amplitude 1 =
#: full-scale sine, so onset detection works the same at any playback level.
ONSET_COMPRESSION = 2.0
ONSET_MAX_HZ = 16000.0
#: The onset window rises as a half Hann over its older samples and falls over only the newest
#: ONSET_END_TAPER samples (0.7 ms at 48 kHz), so a transient in the last samples of a hop is
#: seen in that hop (a symmetric Hann hid a hop's newest ~50 samples until the next hop, over
#: one hop of latency; now only the last ~5). The short taper still avoids the spectral
#: splatter of a hard cut, which makes steady chords fire (measured: 16 samples already does).
ONSET_END_TAPER = 32
#: The flux compares with the maximum of each bin over the previous ONSET_REF_HOPS hops (53 ms):
#: under the steep end of the window a low buzz (a 55-110 Hz saw bass) changes its magnitudes
#: from hop to hop as its pitch period drifts against the hop grid, and returns to them within a
#: few hops; a new sound exceeds them all. (Measured on saws at 55/110 Hz: 3 hops still let
#: them fire, 5 do not; on MDB Drums it costs a little recall of the overall onsets.)
ONSET_REF_HOPS = 5
#: With no audio arriving for longer than this (s), frame() lets the levels fall (stalled input).
STALL_S = 0.1

# Index of each level in the internal level vector: rms, bass, mid, treb, then the 16 bands.
_RMS, _BASS, _MID, _TREB, _BAND0 = 0, 1, 2, 3, 4
_N_LEVELS = _BAND0 + N_BANDS


@dataclass(frozen=True)
class AudioFrame:
    """Immutable snapshot of the analysis, read by the render thread; never mutated.

    Levels are 0..1 after auto-gain (0.5 = the level's long-term average). `bass`/`mid`/`treb`
    react fast; `bass_att`/`mid_att`/`treb_att` are the slower, attenuated twins (projectM's
    naming). `peak` is NOT auto-gained: it is the raw absolute sample peak 0..1 with a meter-style
    fall. Arrays are float32 and must be treated as read-only.
    """

    time: float  # sample time (s) of the end of the newest analysed hop
    rms: float
    peak: float
    bass: float
    mid: float
    treb: float
    bass_att: float
    mid_att: float
    treb_att: float
    bands: np.ndarray  # (16,), log-spaced 20 Hz-16 kHz, 0..1
    onset: float  # 1.0 if any hop since the previous frame had an onset
    onset_strength: float  # auto-gained spectral flux 0..1 (max over the hops since the last frame)
    fft: np.ndarray  # (512,), dB -80..0 mapped to 0..1, bin i = i * sr / 2048 Hz (0..12 kHz at 48k)
    wave: np.ndarray  # (512,), newest samples mapped to 0..1 (0.5 = silence)

    def signals(self) -> dict[str, float]:
        """The frame's values under their signal-bus names (ARCHITECTURE "Names")."""
        out = {
            "audio.rms": self.rms,
            "audio.peak": self.peak,
            "audio.bass": self.bass,
            "audio.bass_att": self.bass_att,
            "audio.mid": self.mid,
            "audio.mid_att": self.mid_att,
            "audio.treb": self.treb,
            "audio.treb_att": self.treb_att,
        }
        for i, v in enumerate(self.bands.tolist()):
            out[f"audio.band.{i}"] = v
        out["audio.onset"] = self.onset
        return out

    @staticmethod
    def silent(time: float = 0.0) -> "AudioFrame":
        """A frame of silence at `time`: levels 0, flat FFT texture at 0, wave at 0.5."""
        return AudioFrame(
            time=float(time), rms=0.0, peak=0.0, bass=0.0, mid=0.0, treb=0.0,
            bass_att=0.0, mid_att=0.0, treb_att=0.0,
            bands=_readonly(np.zeros(N_BANDS, np.float32)), onset=0.0, onset_strength=0.0,
            fft=_readonly(np.zeros(FFT_TEXTURE_SIZE, np.float32)),
            wave=_readonly(np.full(WAVE_TEXTURE_SIZE, 0.5, np.float32)),
        )


@dataclass(frozen=True)
class HopAnalysis:
    """What one hop's analysis found; handed to hop listeners on the feeding thread.

    Attributes:
        index: hop number since the last reset (0-based).
        time: sample time (s) of the end of the hop.
        spectrum: magnitude spectrum of the 2048-sample window (amplitude, 1.0 = full-scale sine),
            bins 0..fft_size/2; a fresh array per hop, listeners may keep it.
        levels: auto-gained, unsmoothed levels: rms, bass, mid, treb, then the 16 bands.
        flux: spectral flux (onset detection function) of this hop.
        threshold: the adaptive threshold the flux was compared with.
        onset: True if this hop is an onset.
        onset_time: estimated sample time (s) of the onset (within one hop), else None.
    """

    index: int
    time: float
    spectrum: np.ndarray
    levels: np.ndarray
    flux: float
    threshold: float
    onset: bool
    onset_time: float | None = None


@dataclass
class _Published:
    """State handed from the feeding thread to frame(); replaced (not mutated) under the lock."""

    time: float = 0.0
    fast: np.ndarray = field(default_factory=lambda: np.zeros(_N_LEVELS, np.float32))
    att: np.ndarray = field(default_factory=lambda: np.zeros(_N_LEVELS, np.float32))
    peak: float = 0.0
    strength: float = 0.0
    fft: np.ndarray = field(default_factory=lambda: np.zeros(FFT_TEXTURE_SIZE, np.float32))
    wave: np.ndarray = field(default_factory=lambda: np.full(WAVE_TEXTURE_SIZE, 0.5, np.float32))


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _band_weights(edges: list[tuple[float, float]], n_bins: int, bin_hz: float) -> np.ndarray:
    """(len(edges), n_bins) weights: the fraction of each FFT bin's span inside each band.

    Fractional weights let the narrow low bands (20-30 Hz is under one bin wide) still see energy.
    """
    centres = np.arange(n_bins) * bin_hz
    lo_bin, hi_bin = centres - bin_hz / 2, centres + bin_hz / 2
    w = np.zeros((len(edges), n_bins), np.float64)
    for row, (lo, hi) in enumerate(edges):
        w[row] = np.clip(np.minimum(hi_bin, hi) - np.maximum(lo_bin, lo), 0.0, None) / bin_hz
    return w


def onset_window(n: int, end_taper: int) -> np.ndarray:
    """An n-sample window rising as a half Hann over the first n - end_taper samples and falling
    as a half Hann over the last end_taper (0: a hard cut). Any thread."""
    w = np.ones(n, np.float64)
    rise = n - end_taper
    w[:rise] = np.hanning(2 * rise)[:rise]
    if end_taper:
        w[rise:] = np.hanning(2 * end_taper)[end_taper:]
    return w.astype(np.float32)


class FeatureExtractor:
    """Streaming analysis of mono audio into `AudioFrame` snapshots.

    Threading contract: `feed` and `reset` run on one thread (the analysis thread live, or the
    render thread when the engine calls ``feed(); frame()`` each frame, as offline renders do);
    `frame` runs on the render thread. They share only a small published state, swapped under a
    lock held just for the copy, so neither side waits for the other's work. Hop listeners run on
    the feeding thread.

    Args:
        sr: sample rate of the fed audio (Hz), at least 32000 so 16 kHz is below Nyquist.
        hop: hop size in samples (512 at 48 kHz: 10.7 ms).
        fft_size: spectrum window in samples, a power of two >= max(1024, 2 * hop).
    """

    def __init__(self, sr: int = 48000, hop: int = 512, fft_size: int = 2048) -> None:
        if int(sr) != sr or sr < 32000:
            raise ValueError(
                f"FeatureExtractor: sr must be an integer >= 32000 Hz, got {sr!r} "
                "(resample first, e.g. load_audio(path, target_sr=48000))"
            )
        if int(hop) != hop or hop < 64:
            raise ValueError(f"FeatureExtractor: hop must be an integer >= 64 samples, got {hop!r}")
        if (int(fft_size) != fft_size or fft_size < max(2 * FFT_TEXTURE_SIZE, 2 * hop)
                or fft_size & (fft_size - 1)):
            raise ValueError(
                "FeatureExtractor: fft_size must be a power of two >= max(1024, 2 * hop), "
                f"got {fft_size!r}"
            )
        self.sr, self.hop, self.fft_size = int(sr), int(hop), int(fft_size)
        self._hop_dt = self.hop / self.sr
        # Smoothing retention per hop, from the per-1/30 s rates (frame-rate independent law).
        k = self._hop_dt * 30.0
        self._fast = (FAST_ATTACK**k, FAST_RELEASE**k)
        self._att = (ATT_ATTACK**k, ATT_RELEASE**k)
        self._peak_fall = PEAK_RELEASE**k
        self._fft_fall = FFT_RELEASE_DB_PER_S * self._hop_dt / (FFT_DB_CEIL - FFT_DB_FLOOR)
        # Long-term average as an exponential average over about LONG_TERM_TAU_S: alpha = 1/long_n.
        self._long_n = 1.0 / (1.0 - math.exp(-self._hop_dt / LONG_TERM_TAU_S))
        self._gate = 10.0 ** (GATE_DBFS / 20.0)
        self._rel_floor = 10.0 ** (-RELATIVE_FLOOR_DB / 20.0)
        # knee = (20 log10(a) - GATE_DBFS) / GATE_KNEE_DB, written as log10(a) * mul + add.
        self._knee_mul = 20.0 / GATE_KNEE_DB
        self._knee_add = -GATE_DBFS / GATE_KNEE_DB
        # Per-hop gains (1 - retention) for the (fast, attenuated) rows, rising and falling.
        self._gain_up = np.array([[1.0 - self._fast[0]], [1.0 - self._att[0]]])
        self._gain_down = np.array([[1.0 - self._fast[1]], [1.0 - self._att[1]]])

        # Main spectrum: Hann window; power scaled so the bins sum to the signal's mean square
        # (band amplitudes are then RMS values in dBFS terms).
        n = self.fft_size
        self._window = np.hanning(n).astype(np.float32)
        wsq = float(np.sum(self._window.astype(np.float64) ** 2))
        scale = np.full(n // 2 + 1, 2.0 / (n * wsq))
        scale[0] = scale[-1] = 1.0 / (n * wsq)
        bin_hz = self.sr / n
        edges = [BASS_HZ, MID_HZ, TREB_HZ] + list(zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:]))
        n_used = min(n // 2 + 1, int(math.ceil(BAND_EDGES_HZ[-1] / bin_hz)) + 2)
        self._n_used = n_used
        # Magnitude to amplitude (full-scale sine = 1): 2 / sum(window). The band weights take
        # squared amplitudes, so they undo that scale and apply the power scale instead.
        amp_scale = 2.0 / float(np.sum(self._window, dtype=np.float64))
        self._amp_scale = np.float32(amp_scale)
        self._band_w = (
            _band_weights(edges, n_used, bin_hz) * (scale[:n_used] / amp_scale**2)
        ).astype(np.float32)

        # Onset spectrum: the newest 2 * hop samples under an asymmetric window (see
        # ONSET_END_TAPER); flux over bins up to 16 kHz.
        self._onset_n = 2 * self.hop
        self._onset_window = onset_window(self._onset_n, ONSET_END_TAPER)
        self._onset_scale = np.float32(
            ONSET_COMPRESSION * 2.0 / float(np.sum(self._onset_window, dtype=np.float64))
        )
        # The onset frame is zero-padded to fft_size, so its bins are sr / fft_size apart.
        self._onset_bins = min(n // 2 + 1, int(ONSET_MAX_HZ / bin_hz))
        self._min_gap_hops = max(1, int(math.ceil(ONSET_MIN_GAP_S / self._hop_dt)))

        self._lock = threading.Lock()
        self._listeners: list[Callable[[HopAnalysis], None]] = []
        self.reset()

    # ------------------------------------------------------------------ public API
    def add_hop_listener(self, listener: Callable[[HopAnalysis], None]) -> None:
        """Call `listener(HopAnalysis)` after every analysed hop, on the feeding thread.

        Listeners must be quick (they run inside `feed`); exceptions propagate to the caller of
        `feed`.
        """
        self._listeners.append(listener)

    def remove_hop_listener(self, listener: Callable[[HopAnalysis], None]) -> None:
        """Stop calling `listener`; unknown listeners are ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def reset(self) -> None:
        """Forget all audio: buffers, averages, onset history, time (back to 0). Feeding thread."""
        self.samples_consumed = 0  # samples passed to feed(), the incomplete hop included
        self._hops = 0
        self._ring = np.zeros(self.fft_size, np.float32)  # newest sample last
        self._pending = np.zeros(self.hop, np.float32)
        self._n_pending = 0
        self._work = np.zeros((2, self.fft_size), np.float32)
        self._amps = np.zeros(_N_LEVELS, np.float64)
        self._avg = np.zeros(_N_LEVELS, np.float64)
        self._ref = np.zeros(_N_LEVELS, np.float64)
        self._n_active = 0  # hops the averages have learnt from
        self._smoothed = np.zeros((2, _N_LEVELS), np.float64)  # rows: fast, attenuated
        self._peak = 0.0
        self._fft_tex = np.zeros(FFT_TEXTURE_SIZE, np.float32)
        self._prev_log_mags: deque[np.ndarray] = deque(maxlen=ONSET_REF_HOPS)
        self._flux_hist: deque[float] = deque(maxlen=ONSET_HISTORY)
        self._flux_avg = 0.0
        self._n_flux_avg = 0
        self._last_onset_hop = -(10**9)
        self._strength = 0.0
        self._onset_since_publish = False
        self._strength_since_publish = 0.0
        with self._lock:
            self._published = _Published()
            self._pending_onset = False
            self._pending_strength = 0.0
            self._frame_hops = 0
            self._starved = 0.0

    def feed(self, samples: np.ndarray) -> int:
        """Analyse a block of mono samples of any length; return how many hops were completed.

        Samples left over (less than a hop) wait for the next call. Non-finite samples are
        treated as 0. Runs on the feeding thread (see the class docstring).

        Raises:
            ValueError: `samples` is not one-dimensional (mix down with `to_mono` first) or not
                floating point.
        """
        x = np.asarray(samples)
        if x.ndim != 1:
            raise ValueError(
                f"FeatureExtractor.feed expects mono samples shaped (n,), got shape {x.shape}; "
                "use live.audio.decode.to_mono first"
            )
        if x.dtype.kind != "f":
            raise ValueError(
                f"FeatureExtractor.feed expects float samples in -1..1, got dtype {x.dtype} "
                "(scale integer PCM first, or decode with live.audio.decode.load_audio)"
            )
        x = x.astype(np.float32, copy=False)
        if x.size and not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        self.samples_consumed += x.size
        hop = self.hop
        done = 0
        pos = 0
        if self._n_pending:
            take = min(hop - self._n_pending, x.size)
            self._pending[self._n_pending:self._n_pending + take] = x[:take]
            self._n_pending += take
            pos = take
            if self._n_pending == hop:
                self._process_hop(self._pending)
                self._n_pending = 0
                done += 1
        while x.size - pos >= hop:
            self._process_hop(x[pos:pos + hop])
            pos += hop
            done += 1
        rest = x.size - pos
        if rest:
            self._pending[:rest] = x[pos:]
            self._n_pending = rest
        if done:
            self._publish(done)
        return done

    def frame(self, dt: float) -> AudioFrame:
        """Snapshot of the analysis for one render frame; `dt` is the time since the previous frame.

        The levels are already smoothed per hop in audio time, so the result does not depend on
        the frame rate. `dt` only matters when no audio arrives: after `STALL_S` without a hop the
        levels fall with their release rates, so a stalled input lets the visuals come to rest
        instead of freezing. Render thread.

        Raises:
            ValueError: `dt` is negative or not finite.
        """
        if not math.isfinite(dt) or dt < 0:
            raise ValueError(f"FeatureExtractor.frame: dt must be a finite number >= 0, got {dt!r}")
        with self._lock:
            pub = self._published
            onset = self._pending_onset
            strength = self._pending_strength if self._frame_hops else pub.strength
            if self._frame_hops:
                self._starved = 0.0
            else:
                self._starved += dt
            starved = self._starved
            self._pending_onset = False
            self._pending_strength = 0.0
            self._frame_hops = 0
        fast, att, peak = pub.fast, pub.att, pub.peak
        if starved > STALL_S:
            k = (starved - STALL_S) * 30.0
            fast = fast * np.float32(FAST_RELEASE**k)
            att = att * np.float32(ATT_RELEASE**k)
            peak *= PEAK_RELEASE**k
            strength = 0.0
        return AudioFrame(
            time=pub.time,
            rms=float(fast[_RMS]),
            peak=float(peak),
            bass=float(fast[_BASS]),
            mid=float(fast[_MID]),
            treb=float(fast[_TREB]),
            bass_att=float(att[_BASS]),
            mid_att=float(att[_MID]),
            treb_att=float(att[_TREB]),
            bands=_readonly(fast[_BAND0:].copy()),
            onset=1.0 if onset else 0.0,
            onset_strength=float(strength),
            fft=pub.fft,
            wave=pub.wave,
        )

    # ------------------------------------------------------------------ per hop (feeding thread)
    # Written for speed: about 25 small numpy calls per hop, both spectra in one rfft call
    # (numpy's per-call overhead is most of an FFT's cost at these sizes), results written into
    # preallocated arrays where that saves an allocation.
    def _process_hop(self, block: np.ndarray) -> None:
        hop, n = self.hop, self.fft_size
        ring = self._ring
        ring[:-hop] = ring[hop:]
        ring[-hop:] = block
        self._hops += 1
        t = self._hops * self._hop_dt

        # Row 0: the main window. Row 1: the newest 2 * hop samples under their own window,
        # zero-padded to the same length (finer bin spacing for the flux, same content).
        work = self._work
        np.multiply(ring, self._window, out=work[0])
        np.multiply(ring[-self._onset_n:], self._onset_window, out=work[1, n - self._onset_n:])
        mags = np.abs(np.fft.rfft(work, axis=1))
        mag = mags[0]
        mag *= self._amp_scale  # amplitude: a full-scale sine peaks at 1.0

        # Band amplitudes: RMS of the content in each band (weights hold the power scaling).
        amps = self._amps
        amps[_RMS] = math.sqrt(float(np.dot(block, block)) / hop)
        sub = mag[: self._n_used]
        np.sqrt(self._band_w @ (sub * sub), out=amps[_BASS:])

        # Auto-gain: ratio to the long-term average, gated with a soft knee in dB. The averages
        # learn from every hop while the input as a whole is above the gate (quiet gaps between
        # hits included, so a sparse part is scaled the same in a quiet and a loud mix) and hold
        # still through silence (a pause between songs does not turn the gain up). They start
        # as a plain running mean (alpha 1/n) so the first seconds already have a scale.
        if amps[_RMS] > self._gate:
            self._n_active += 1
            self._avg += (amps - self._avg) / min(self._n_active, self._long_n)
        knee = np.log10(np.maximum(amps, self._gate)) * self._knee_mul + self._knee_add
        np.minimum(knee, 1.0, out=knee)
        # The reference is the level's own average, but never less than RELATIVE_FLOOR_DB below
        # the loudest of its group (bass/mid/treb, or the 16 bands): a band that only holds
        # leakage or hiss is not boosted to the same brightness as the music.
        avg = self._avg
        ref = self._ref
        ref[_RMS] = avg[_RMS]
        ref[_BASS:_BAND0] = avg[_BASS:_BAND0].max() * self._rel_floor
        ref[_BAND0:] = avg[_BAND0:].max() * self._rel_floor
        np.maximum(ref, avg, out=ref)
        np.maximum(ref, self._gate, out=ref)
        levels = 1.0 - np.exp2(-(amps / ref) * knee)

        # Fast and attenuated smoothing in one (2, n_levels) step; retention per hop depends on
        # the direction of each change.
        state = self._smoothed
        diff = levels - state
        state += diff * np.where(diff > 0.0, self._gain_up, self._gain_down)

        peak = max(float(block.max()), -float(block.min()))
        self._peak = max(min(peak, 1.0), self._peak * self._peak_fall)

        # FFT texture: dB of the first 512 bins mapped to 0..1, instant rise, limited fall.
        tex = np.log10(np.maximum(mag[:FFT_TEXTURE_SIZE], 1e-10))
        tex *= 20.0 / (FFT_DB_CEIL - FFT_DB_FLOOR)
        tex += -FFT_DB_FLOOR / (FFT_DB_CEIL - FFT_DB_FLOOR)
        fft_tex = self._fft_tex
        fft_tex -= self._fft_fall
        np.maximum(fft_tex, tex, out=fft_tex)
        np.minimum(fft_tex, 1.0, out=fft_tex)  # (np.clip costs several times more per call)
        np.maximum(fft_tex, 0.0, out=fft_tex)

        onset, flux, threshold = self._detect_onset(
            mags[1, : self._onset_bins], max(float(self._avg[_RMS]), self._gate)
        )
        self._onset_since_publish = self._onset_since_publish or onset
        self._strength_since_publish = max(self._strength_since_publish, self._strength)

        if self._listeners:
            info = HopAnalysis(
                index=self._hops - 1,
                time=t,
                spectrum=mag,
                levels=levels.astype(np.float32),
                flux=flux,
                threshold=threshold,
                onset=onset,
                # A transient first shows in the newest hop (the flat end of the onset window):
                # its centre is the best single estimate of when it happened.
                onset_time=(t - 0.5 * self._hop_dt) if onset else None,
            )
            for listener in self._listeners:
                listener(info)

    def _detect_onset(self, onset_mag: np.ndarray, level: float) -> tuple[bool, float, float]:
        """Spectral flux of the newest hop against an adaptive threshold.

        `level` is the long-term RMS: amplitudes are compressed relative to it, so the flux and
        its absolute threshold floor mean the same in quiet and loud mixes.
        """
        log_mag = np.log1p(onset_mag * (self._onset_scale / level))
        history = self._prev_log_mags
        prev = None
        if history:
            prev = history[0].copy() if len(history) > 1 else history[0]
            for earlier in list(history)[1:]:
                np.maximum(prev, earlier, out=prev)
        history.append(log_mag)
        # No flux until one full onset window has been seen: the zeros the buffers start with
        # would make the first sound of any stream look like an onset.
        if prev is None or self._hops * self.hop <= self._onset_n:
            return False, 0.0, ONSET_DELTA
        flux_ready = len(self._flux_hist) >= ONSET_WARMUP_HOPS
        # SuperFlux idea: compare with the previous spectrum's maximum over neighbouring bins, so
        # beating partials and vibrato (energy moving between adjacent bins) do not read as onsets.
        widened = np.maximum(prev[:-2], prev[2:])
        np.maximum(widened, prev[1:-1], out=widened)
        rise = log_mag[1:-1] - widened
        flux = float(np.sum(rise, where=rise > 0.0))

        # 16 Python floats: sorted() is far cheaper here than np.median's overhead.
        hist = sorted(self._flux_hist)
        n_hist = len(hist)
        if n_hist == 0:
            median = 0.0
        elif n_hist % 2:
            median = hist[n_hist // 2]
        else:
            median = 0.5 * (hist[n_hist // 2 - 1] + hist[n_hist // 2])
        threshold = ONSET_DELTA + ONSET_LAMBDA * median
        self._flux_hist.append(flux)

        onset = flux_ready and flux > threshold and self._hops - self._last_onset_hop >= self._min_gap_hops
        if onset:
            self._last_onset_hop = self._hops

        # Onset strength: flux relative to its long-term average, same mapping as the levels.
        if flux > ONSET_DELTA:
            self._n_flux_avg += 1
            self._flux_avg += (flux - self._flux_avg) / min(self._n_flux_avg, self._long_n)
        self._strength = 1.0 - 2.0 ** (-flux / max(self._flux_avg, ONSET_DELTA))
        return onset, flux, threshold

    def _publish(self, n_hops: int) -> None:
        """Hand the latest state to frame(): copies made outside the lock, swapped inside it."""
        pub = _Published(
            time=self._hops * self._hop_dt,
            fast=_readonly(self._smoothed[0].astype(np.float32)),
            att=_readonly(self._smoothed[1].astype(np.float32)),
            peak=self._peak,
            strength=self._strength,
            fft=_readonly(self._fft_tex.copy()),
            wave=_readonly(
                np.clip(0.5 + 0.5 * self._ring[-WAVE_TEXTURE_SIZE:], 0.0, 1.0).astype(np.float32)
            ),
        )
        with self._lock:
            self._published = pub
            self._pending_onset = self._pending_onset or self._onset_since_publish
            self._pending_strength = max(self._pending_strength, self._strength_since_publish)
            self._frame_hops += n_hops
        self._onset_since_publish = False
        self._strength_since_publish = 0.0

"""R-peak (heartbeat) detection in an ECG recording, for `echoel companion-sim --ecg`.

The detector follows the idea of Pan and Tompkins (1985): band-pass the ECG to the QRS band,
differentiate, square, integrate over a QRS-long window, then separate heartbeats from noise with
two adaptive levels (a running estimate of QRS peaks and one of noise peaks, with the threshold a
quarter of the way between them), a refractory period, a T-wave check, and a search back with half
the threshold when a beat seems to have been missed. It is written for whole recordings (offline):
filters run forward and backward so no delay has to be compensated, and each beat's time is then
refined to a fraction of a sample, because the heart-rate variability computed from the intervals
needs millisecond precision that a 250 Hz recording (4 ms per sample) does not give by itself.

scipy.signal provides the filters and the candidate-peak search.

Threads: pure functions; any thread (the simulator's main thread in practice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: The QRS band, Hz. Pan and Tompkins used 5-15 Hz; 8-30 Hz keeps MIT-BIH record 100 at 100 %
#: and stops the tall, slow T waves of some monitors (PhysioNet 2015 record v102s) from being
#: taken for beats, because their fragmented QRS carries its energy above 15 Hz.
QRS_BAND = (8.0, 30.0)
#: Moving-window integration length: about one QRS complex.
INTEGRATION_S = 0.150
#: No second beat within this time of a beat (the heart cannot depolarise again that soon).
REFRACTORY_S = 0.200
#: Within this time of a beat, a candidate whose slope is under half the beat's slope is a T wave.
T_WAVE_S = 0.360
#: A gap longer than this many average intervals triggers a search back with half the threshold.
SEARCH_BACK_FACTOR = 1.66
#: Lowest sampling rate that still resolves the QRS band.
MIN_FS = 50.0


class EcgError(ValueError):
    """An ECG signal that cannot be analysed (empty, not finite, too short, too low a rate)."""


@dataclass(frozen=True)
class RPeaks:
    """Detected heartbeats.

    Attributes:
        samples: index of each R peak in the input signal (int, ascending).
        times: time of each R peak in seconds from the first sample, refined to a fraction of a
            sample (float, ascending).
    """

    samples: np.ndarray
    times: np.ndarray

    def rr_ms(self) -> np.ndarray:
        """Intervals between successive beats in milliseconds (one fewer than the beats)."""
        return np.diff(self.times) * 1000.0

    def __len__(self) -> int:
        return len(self.samples)


def detect_rpeaks(ecg: np.ndarray, fs: float) -> RPeaks:
    """Find the R peaks of a single-lead ECG.

    Args:
        ecg: the signal (any unit; 1-D). NaN gaps (e.g. a lead off) are treated as flat.
        fs: sampling rate in Hz (at least `MIN_FS`).

    Returns:
        The beats, in order. A recording with no heartbeat gives an empty result.

    Raises:
        EcgError: the signal is not 1-D, shorter than 2 s, or `fs` is too low or not finite.
    """
    from scipy import signal as sps

    x = np.asarray(ecg, dtype=np.float64)
    if x.ndim != 1:
        raise EcgError(f"expected one ECG lead (a 1-D signal), got shape {x.shape}")
    if not (isinstance(fs, (int, float)) and math.isfinite(fs) and fs >= MIN_FS):
        raise EcgError(f"sampling rate {fs!r} Hz is too low or not a number: at least {MIN_FS:g} Hz "
                       "is needed to see the QRS complex")
    if len(x) < 2 * fs:
        raise EcgError(f"the ECG is {len(x) / fs:.2f} s long; at least 2 s are needed")
    x = np.where(np.isfinite(x), x, 0.0)
    x = x - np.median(x)

    hi = min(QRS_BAND[1], 0.45 * fs)
    sos = sps.butter(2, [QRS_BAND[0], hi], btype="bandpass", fs=fs, output="sos")
    band = sps.sosfiltfilt(sos, x)
    slope = np.gradient(band) * fs
    energy = slope * slope
    width = max(1, int(round(INTEGRATION_S * fs)))
    integrated = np.convolve(energy, np.ones(width) / width, mode="same")

    refractory = max(1, int(round(REFRACTORY_S * fs)))
    candidates, _ = sps.find_peaks(integrated, distance=refractory)
    if len(candidates) == 0:
        return RPeaks(np.zeros(0, dtype=np.int64), np.zeros(0))
    beats = _classify(candidates, integrated, np.abs(slope), fs)
    samples, times = _locate(beats, band, fs, width)
    return RPeaks(samples, times)


def _classify(candidates: np.ndarray, integrated: np.ndarray, abs_slope: np.ndarray,
              fs: float) -> list[int]:
    """Adaptive thresholding of the integrated-energy peaks into beats and noise."""
    heights = integrated[candidates]
    learn = candidates < 2.0 * fs
    first = heights[learn] if learn.any() else heights[: max(1, len(heights) // 10)]
    # Initial levels from the first two seconds: the largest peak is a beat, the typical one noise.
    spk = 0.25 * float(np.max(first))
    npk = 0.5 * float(np.mean(first))
    t_wave = int(round(T_WAVE_S * fs))
    half_width = max(1, int(round(INTEGRATION_S * fs / 2)))

    def peak_slope(c: int) -> float:
        return float(np.max(abs_slope[max(0, c - half_width): c + half_width + 1]))

    beats: list[int] = []
    noise_since_beat: list[int] = []  # candidates rejected since the last beat, for search back
    intervals: list[int] = []
    last_slope = 0.0
    for c, h in zip(candidates.tolist(), heights.tolist()):
        threshold = npk + 0.25 * (spk - npk)
        if beats and intervals:
            # Search back: a long gap means a beat was probably missed below the threshold.
            mean_rr = sum(intervals[-8:]) / len(intervals[-8:])
            if c - beats[-1] > SEARCH_BACK_FACTOR * mean_rr and noise_since_beat:
                best = max(noise_since_beat, key=lambda n: integrated[n])
                if integrated[best] > 0.5 * threshold and best - beats[-1] > REFRACTORY_S * fs:
                    spk = 0.25 * float(integrated[best]) + 0.75 * spk
                    intervals.append(best - beats[-1])
                    beats.append(best)
                    last_slope = peak_slope(best)
                    noise_since_beat = [n for n in noise_since_beat if n > best]
                    threshold = npk + 0.25 * (spk - npk)
        if h > threshold:
            s = peak_slope(c)
            if beats and c - beats[-1] < t_wave and s < 0.5 * last_slope:
                npk = 0.125 * h + 0.875 * npk  # a T wave: as tall as a beat but much slower
                noise_since_beat.append(c)
                continue
            spk = 0.125 * h + 0.875 * spk
            if beats:
                intervals.append(c - beats[-1])
            beats.append(c)
            last_slope = s
            noise_since_beat = []
        else:
            npk = 0.125 * h + 0.875 * npk
            noise_since_beat.append(c)
    return beats


def _locate(beats: list[int], band: np.ndarray, fs: float, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Move each beat from the integrated-energy peak to the QRS extremum, to a fraction of a sample.

    The extremum is taken in the band-passed signal on the side (positive or negative) that
    dominates the recording, so an inverted lead still gives consistent times.
    """
    n = len(band)
    if not beats:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    windows = [(max(0, b - width), min(n, b + width // 2 + 1)) for b in beats]
    pos = np.median([band[a:z].max() for a, z in windows])
    neg = np.median([-band[a:z].min() for a, z in windows])
    sign = 1.0 if pos >= neg else -1.0
    samples = np.empty(len(beats), dtype=np.int64)
    times = np.empty(len(beats))
    for i, (a, z) in enumerate(windows):
        seg = sign * band[a:z]
        k = a + int(np.argmax(seg))
        samples[i] = k
        offset = 0.0
        if 0 < k < n - 1:
            y0, y1, y2 = sign * band[k - 1], sign * band[k], sign * band[k + 1]
            denom = y0 - 2.0 * y1 + y2
            if denom < 0.0:  # a real maximum: fit a parabola through the three samples
                offset = min(max(0.5 * (y0 - y2) / denom, -0.5), 0.5)
        times[i] = (k + offset) / fs
    order = np.argsort(samples, kind="stable")
    samples, times = samples[order], times[order]
    keep = np.concatenate(([True], np.diff(samples) > 0))  # two candidates on one QRS: keep one
    return samples[keep], times[keep]

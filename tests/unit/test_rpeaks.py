"""R-peak detection for companion-sim --ecg: against cardiologist annotations (MIT-BIH record 100,
from ../shared/corpus/bio; skipped with the reason when absent) and on signals with known beats."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from live.control.rpeaks import EcgError, detect_rpeaks

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "bio"
#: MIT-BIH annotation symbols that mark a heartbeat (the others mark rhythm changes, noise...).
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


def match(detected: np.ndarray, reference: np.ndarray, tolerance: int) -> tuple[int, int, int]:
    """(true positives, false negatives, false positives), each reference beat matched to at
    most one detection within `tolerance` samples."""
    used = np.zeros(len(detected), dtype=bool)
    idx = np.searchsorted(detected, reference)
    tp = 0
    for k, s in enumerate(reference):
        best = None
        for c in (idx[k] - 1, idx[k]):
            if 0 <= c < len(detected) and not used[c] and abs(int(detected[c]) - int(s)) <= tolerance:
                if best is None or abs(int(detected[c]) - int(s)) < abs(int(detected[best]) - int(s)):
                    best = c
        if best is not None:
            used[best] = True
            tp += 1
    return tp, len(reference) - tp, len(detected) - tp


def synthetic_ecg(fs: float, rr_s: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A crude ECG: a narrow R spike and a broad T wave per beat over wander and noise.
    Returns (signal, R-peak sample indices)."""
    rng = np.random.default_rng(seed)
    beats = np.cumsum(rr_s) + 0.5
    n = int((beats[-1] + 1.0) * fs)
    t = np.arange(n) / fs
    x = 0.2 * np.sin(2 * np.pi * 0.3 * t) + rng.normal(0, 0.02, n)
    for b in beats:
        x += 1.0 * np.exp(-0.5 * ((t - b) / 0.010) ** 2)          # R
        x -= 0.2 * np.exp(-0.5 * ((t - b - 0.03) / 0.012) ** 2)   # S
        x += 0.35 * np.exp(-0.5 * ((t - b - 0.25) / 0.05) ** 2)   # T
    return x, np.round(beats * fs).astype(int)


def test_mitbih_record_100_sensitivity_and_positive_predictivity_at_least_99_percent():
    wfdb = pytest.importorskip("wfdb", reason="wfdb (dev extra) reads the annotations")
    if not (CORPUS / "wfdb_mitbih100" / "100.atr").exists():
        pytest.skip(f"MIT-BIH record 100 absent from {CORPUS}")
    rec = wfdb.rdrecord(str(CORPUS / "wfdb_mitbih100" / "100"))
    ann = wfdb.rdann(str(CORPUS / "wfdb_mitbih100" / "100"), "atr")
    reference = np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym in BEAT_SYMBOLS])
    peaks = detect_rpeaks(rec.p_signal[:, 0], rec.fs)
    tp, fn, fp = match(peaks.samples, reference, int(0.150 * rec.fs))
    assert tp / (tp + fn) >= 0.99, f"sensitivity {tp / (tp + fn):.4f}"
    assert tp / (tp + fp) >= 0.99, f"positive predictivity {tp / (tp + fp):.4f}"


def test_the_csv_copy_of_record_100_gives_the_same_beats_as_the_annotations():
    path = CORPUS / "wfdb_mitbih100" / "100_signals.csv.gz"
    rr_path = CORPUS / "wfdb_mitbih100" / "100_rr_intervals.csv"
    if not path.exists() or not rr_path.exists():
        pytest.skip(f"MIT-BIH record 100 CSV absent from {CORPUS}")
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",", skiprows=1, max_rows=360 * 300)  # the first 5 minutes
    peaks = detect_rpeaks(data[:, 1], 360.0)
    ref_times = np.loadtxt(rr_path, delimiter=",", skiprows=1, usecols=0)
    ref = np.round(ref_times[ref_times < 299.5] * 360).astype(int)
    _, fn, fp = match(peaks.samples, ref, 54)
    assert fn <= 1 and fp <= 1


@pytest.mark.parametrize("fs", [250.0, 360.0, 1000.0])
def test_beats_of_a_synthetic_ecg_are_found_with_sub_sample_timing(fs):
    rng = np.random.default_rng(1)
    rr = 0.8 + 0.05 * np.sin(np.arange(80) * 0.6) + rng.normal(0, 0.01, 80)
    x, truth = synthetic_ecg(fs, rr)
    peaks = detect_rpeaks(x, fs)
    _, fn, fp = match(peaks.samples, truth, int(0.05 * fs))
    assert (fn, fp) == (0, 0)
    # Intervals (what the engine gets) are accurate to well under a sample period.
    assert np.max(np.abs(peaks.rr_ms() - rr[1:] * 1000)) < 1000.0 / fs


def test_an_inverted_lead_gives_the_same_beats():
    x, truth = synthetic_ecg(250.0, np.full(40, 0.7))
    a, b = detect_rpeaks(x, 250.0), detect_rpeaks(-x, 250.0)
    assert match(a.samples, truth, 12)[1:] == (0, 0)
    assert match(b.samples, truth, 12)[1:] == (0, 0)


def test_no_beats_in_noise_free_flat_signal_and_nan_gaps_survive():
    assert len(detect_rpeaks(np.zeros(5000), 250.0)) == 0
    x, truth = synthetic_ecg(250.0, np.full(30, 0.75))
    x[2000:2300] = np.nan  # a lead off for 1.2 s
    peaks = detect_rpeaks(x, 250.0)
    assert len(peaks) >= len(truth) - 3


@pytest.mark.parametrize("signal, fs, message", [
    (np.zeros((10, 2)), 250.0, "one ECG lead"),
    (np.zeros(100), 250.0, "at least 2 s"),
    (np.zeros(5000), 20.0, "too low"),
    (np.zeros(5000), float("nan"), "too low or not a number"),
])
def test_unusable_input_is_refused_with_a_clear_error(signal, fs, message):
    with pytest.raises(EcgError, match=message):
        detect_rpeaks(signal, fs)

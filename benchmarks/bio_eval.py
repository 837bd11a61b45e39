"""Bio signals against independent references on real recordings (../shared/corpus/bio).

1. RMSSD and SDNN (live/control/bio.py `RrAnalysis`, 60 s windows, every 10th beat) against the
   hrv-analysis library on the corpus RR series (MIT-BIH 100's annotated intervals, pyhrv's short
   and long NN series, hrv-analysis' test series): (a) the library on the same accepted
   intervals (the statistics themselves), (b) the library's own pipeline on the raw window
   (remove_outliers 300-2000 ms, remove_ectopic_beats "malik" 20 %, interpolation), which
   cleans differently (it interpolates where the engine leaves out).
2. R-peak detection (live/control/rpeaks.py) against the cardiologists' beat annotations of
   MIT-BIH record 100 (MLII lead): sensitivity and positive predictivity, 150 ms window.
3. Breath rate from the RR intervals of the ECG (R peaks detected, then `RrAnalysis`): the median
   of the engine's once-a-second estimates against the respiration channel of PhysioNet records
   v102s and mixedsignals (its breathing period from the autocorrelation of the whole channel,
   pacing spikes filtered out). Also the share of 64 s windows within 2 breaths/min of the same
   reference computed on that window.
4. Coherence on synthetic intervals: modulated at 0.1 Hz (50 ms swing, 10 ms noise; 20 seeds) and
   white noise (1000 +- 50 ms; 20 seeds).

Needs the dev extras hrv-analysis and wfdb. Usage: python benchmarks/bio_eval.py
"""

from __future__ import annotations

import csv
import math
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np

from benchmarks._common import print_table, target, write_result
from live.control.bio import RrAnalysis
from live.control.rpeaks import detect_rpeaks

CORPUS = ROOT.parent / "shared" / "corpus" / "bio"
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


def corpus_series() -> dict[str, np.ndarray]:
    """The RR/NN series of the corpus, in ms."""
    with (CORPUS / "wfdb_mitbih100" / "100_rr_intervals.csv").open() as f:
        mitbih = np.array([float(r["rr_s"]) * 1000.0 for r in csv.DictReader(f)])
    return {
        "mitbih100_rr": mitbih,
        "pyhrv_short": np.load(CORPUS / "pyhrv" / "SampleNNISeriesShort.npy").astype(float),
        "pyhrv_long": np.load(CORPUS / "pyhrv" / "SampleNNISeriesLong.npy").astype(float),
        "hrvanalysis_test": np.loadtxt(CORPUS / "hrvanalysis" / "test_nn_intervals.txt"),
    }


def hrv_figures() -> list[dict]:
    from hrvanalysis import (
        get_time_domain_features,
        interpolate_nan_values,
        remove_ectopic_beats,
        remove_outliers,
    )
    rows = []
    for name, rr in corpus_series().items():
        beat_t = np.cumsum(rr) / 1000.0
        a = RrAnalysis()
        accepted: list[bool] = []
        same_rmssd, same_sdnn, pipe_rmssd, pipe_sdnn = [], [], [], []
        for k, v in enumerate(rr):
            accepted.append(a.add(float(v)))
            if k % 10 or beat_t[k] < 60.0 or not math.isfinite(a.rmssd):
                continue
            window = beat_t[: k + 1] > beat_t[k] - 60.0
            nn = rr[: k + 1][window & np.array(accepted)]
            same = get_time_domain_features(list(nn))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = list(rr[: k + 1][window])
                clean = remove_outliers(raw, low_rri=300, high_rri=2000, verbose=False)
                clean = interpolate_nan_values(clean)
                clean = remove_ectopic_beats(clean, method="malik", verbose=False)
                clean = [x for x in interpolate_nan_values(clean) if np.isfinite(x)]
            pipe = get_time_domain_features(clean)
            same_rmssd.append(a.rmssd / same["rmssd"] - 1.0)
            same_sdnn.append(a.sdnn / same["sdnn"] - 1.0)
            pipe_rmssd.append(a.rmssd / pipe["rmssd"] - 1.0)
            pipe_sdnn.append(a.sdnn / pipe["sdnn"] - 1.0)
        med = lambda e: float(np.median(np.abs(e)))
        mx = lambda e: float(np.max(np.abs(e)))    
        rows.append({"series": name, "windows": len(same_sdnn), "rejected": sum(a.rejected.values()),
                     "sdnn_same_max": mx(same_sdnn), "rmssd_same_median": med(same_rmssd),
                     "rmssd_same_max": mx(same_rmssd),
                     "sdnn_pipeline_median": med(pipe_sdnn), "rmssd_pipeline_median": med(pipe_rmssd),
                     "sdnn_pipeline_max": mx(pipe_sdnn), "rmssd_pipeline_max": mx(pipe_rmssd)})
    return rows


def rpeak_figures() -> dict:
    import wfdb
    rec = wfdb.rdrecord(str(CORPUS / "wfdb_mitbih100" / "100"))
    ann = wfdb.rdann(str(CORPUS / "wfdb_mitbih100" / "100"), "atr")
    ref = np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym in BEAT_SYMBOLS])
    det = detect_rpeaks(rec.p_signal[:, 0], rec.fs).samples
    tol = int(round(0.150 * rec.fs))
    used = np.zeros(len(det), dtype=bool)
    idx = np.searchsorted(det, ref)
    offsets = []
    for k, s in enumerate(ref):
        cands = [c for c in (idx[k] - 1, idx[k]) if 0 <= c < len(det) and not used[c]
                 and abs(int(det[c]) - int(s)) <= tol]
        if cands:
            c = min(cands, key=lambda c: abs(int(det[c]) - int(s)))
            used[c] = True
            offsets.append((int(det[c]) - int(s)) / rec.fs * 1000.0)
    tp = len(offsets)
    return {"annotated_beats": len(ref), "detected": len(det), "true_positives": tp,
            "sensitivity": tp / len(ref), "positive_predictivity": tp / len(det),
            "median_offset_ms": float(np.median(offsets)), "tolerance_ms": 150}


def breath_reference(resp: np.ndarray, fs: float) -> float:
    """Breaths per minute of a respiration channel: the autocorrelation's first peak that reaches
    80 % of the highest one (so a multiple of the period is not taken)."""
    from scipy import signal as sps
    x = sps.medfilt(np.nan_to_num(resp), 2 * int(0.05 * fs) + 1)
    y = sps.sosfiltfilt(sps.butter(2, [0.05, 1.0], "bandpass", fs=fs, output="sos"), x)
    y = y - y.mean()
    spec = np.fft.rfft(y, 2 * len(y))
    ac = np.fft.irfft(spec * np.conj(spec))[: len(y)]
    lo, hi = int(1.5 * fs), min(int(20 * fs), len(ac) - 1)
    peaks, _ = sps.find_peaks(ac[lo:hi])
    if len(peaks) == 0:
        return math.nan
    peaks += lo
    best = peaks[np.argmax(ac[peaks])]
    first = next(p for p in peaks if ac[p] >= 0.8 * ac[best])
    return 60.0 * fs / first


def breath_figures() -> list[dict]:
    import wfdb
    rows = []
    for name, record, ecg, resp in (("v102s", "wfdb_challenge2015_ppg/v102s", 0, 3),
                                    ("mixedsignals", "wfdb_mimic_mixedsignals/mixedsignals", 0, 5)):
        rec = wfdb.rdrecord(str(CORPUS / record), smooth_frames=False)
        fs_e = rec.fs * rec.samps_per_frame[ecg]
        fs_r = rec.fs * rec.samps_per_frame[resp]
        peaks = detect_rpeaks(rec.e_p_signal[ecg], fs_e)
        a = RrAnalysis()
        estimates, windows = [], []
        last = None
        for k, v in enumerate(peaks.rr_ms()):
            a.add(float(v))
            if math.isfinite(a.breath_rate) and a.breath_rate != last:
                last = a.breath_rate
                estimates.append(a.breath_rate)
                t = float(peaks.times[k + 1])
                seg = rec.e_p_signal[resp][int((t - 64.0) * fs_r): int(t * fs_r)]
                windows.append((a.breath_rate, breath_reference(seg, fs_r)))
        reference = breath_reference(rec.e_p_signal[resp], fs_r)
        within = [abs(e - r) <= 2.0 for e, r in windows if math.isfinite(r)]
        rows.append({"record": name, "ecg_lead": rec.sig_name[ecg], "beats": len(peaks),
                     "rr_rejected": sum(a.rejected.values()), "estimates": len(estimates),
                     "engine_median_per_min": float(np.median(estimates)),
                     "respiration_per_min": reference,
                     "abs_error": abs(float(np.median(estimates)) - reference),
                     "windows_within_2": float(np.mean(within)) if within else math.nan})
    return rows


def coherence_figures(seeds: int = 20) -> dict:
    def run(rr: np.ndarray) -> list[float]:
        a = RrAnalysis()
        out = []
        for v in rr:
            a.add(float(v))
            if math.isfinite(a.coherence):
                out.append(a.coherence)
        return out

    modulated, white = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        t, rr = 0.0, []
        for _ in range(200):
            v = 1000.0 + 50.0 * math.sin(2 * math.pi * 0.1 * t) + rng.normal(0.0, 10.0)
            rr.append(v)
            t += v / 1000.0
        modulated.extend(run(np.array(rr)))
        white.extend(run(1000.0 + np.random.default_rng(1000 + seed).normal(0.0, 50.0, 200)))
    return {"modulated_min": float(np.min(modulated)), "modulated_median": float(np.median(modulated)),
            "white_mean": float(np.mean(white)), "white_p95": float(np.percentile(white, 95)),
            "white_max": float(np.max(white)), "seeds": seeds}


def main() -> int:
    if not CORPUS.exists():
        print(f"bio corpus not found at {CORPUS}; nothing to evaluate")
        return 1
    hrv = hrv_figures()
    print("RMSSD / SDNN against hrv-analysis (relative differences)")
    print_table(hrv)
    rp = rpeak_figures()
    print("\nR peaks, MIT-BIH record 100")
    print_table([rp])
    br = breath_figures()
    print("\nBreath rate from RR against the respiration channel")
    print_table(br)
    coh = coherence_figures()
    print("\nCoherence on synthetic RR")
    print_table([coh])

    targets = {
        "sdnn_same_intervals_max_rel_diff": target(
            "<=", 1e-9, max(r["sdnn_same_max"] for r in hrv)),
        "rmssd_clean_series_max_rel_diff": target(
            "<=", 1e-9, next(r["rmssd_same_max"] for r in hrv if r["series"] == "hrvanalysis_test")),
        "sdnn_vs_library_pipeline_median_rel_diff": target(
            "<=", 0.10, max(r["sdnn_pipeline_median"] for r in hrv)),
        "rmssd_vs_library_pipeline_median_rel_diff": target(
            "<=", 0.10, max(r["rmssd_pipeline_median"] for r in hrv)),
        "rpeak_sensitivity": target(">=", 0.99, rp["sensitivity"]),
        "rpeak_positive_predictivity": target(">=", 0.99, rp["positive_predictivity"]),
        **{f"breath_abs_error_{r['record']}": target("<=", 2.0, r["abs_error"]) for r in br},
        "coherence_modulated_min": target(">", 0.5, coh["modulated_min"]),
        "coherence_white_noise_mean": target("<", 0.2, coh["white_mean"]),
    }
    write_result("bio_eval", {"hrv": hrv, "rpeaks": rp, "breath": br, "coherence": coh}, targets)
    ok = all(t["met"] for t in targets.values())
    print("\ntargets:", "all met" if ok else "NOT all met",
          [k for k, t in targets.items() if not t["met"]])
    return 0


if __name__ == "__main__":
    sys.exit(main())

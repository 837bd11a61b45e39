"""Beat tracking accuracy: our causal tracker against aubio and librosa on annotated music.

Usage: python benchmarks/beat_eval.py DIR [--loo] [--no-baselines] [--synthetic] [--quiet]

DIR holds `manifest.csv` with the columns `id`, `audio` and `norm_beats` (paths relative to DIR;
`.norm.beats` files are `time<TAB>position`, position 1 = downbeat), the format of
../shared/corpus/beats. Any folder in that format works: the tracker is meant for music it has
never seen.

For every recording:

* ours: the file is decoded, mixed to mono and fed in 256-sample blocks through
  `live.audio.analysis.AudioAnalysis`, the object the engine runs; the estimate is the list of
  beat times the tracker *fired* (predicted, never corrected afterwards). `echoel beats FILE`
  prints exactly this list.
* aubio: plain `aubio.tempo("default", 1024, 512)` fed 512-sample hops of the same mono audio.
* librosa: offline `librosa.beat.beat_track` on the file loaded at 22050 Hz (sees the future).

All three are scored with `mir_eval.beat` (70 ms F-measure window, continuity metrics CMLt/AMLt
with their defaults); for recordings longer than 10 s, beats before 5 s are trimmed from both
the annotation and the estimate (mir_eval's `trim_beats`), as is usual for excerpts of songs.

`--loo` adds a leave-one-out run over a small grid of tracker settings: for each recording the
setting with the best mean (F + CMLt) / 2 on the *other* recordings is chosen and scores the
held-out one, an estimate of how the fixed defaults do on unseen music.

`--synthetic` (also run by default) measures, on signals whose beats are known, the median beat
phase error after lock and the time the tracker needs to re-lock after a 120 -> 128 bpm tempo
step, after the demo track's tempo ramp and after its breakdown.

Writes benchmarks/results/beat_eval.json (targets: mean F-measure and CMLt each at least 0.10
above aubio's).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks._common import print_table, target, write_result  # noqa: E402
from live.audio.analysis import analyse_samples  # noqa: E402
from live.audio.decode import ANALYSIS_RATE, load_audio, to_mono  # noqa: E402
from live.audio.onsets import BandOnsets  # noqa: E402
from live.audio.tracker import BeatTracker, TrackerConfig  # noqa: E402

#: Settings searched by the leave-one-out run (each a change from the defaults).
LOO_GRID: tuple[dict, ...] = tuple(
    {"subdivision_weight": sw, "pll_gain": gain, "prior_octaves": prior}
    for sw in (0.3, 0.5, 0.7)
    for gain in (0.1, 0.15, 0.2)
    for prior in (0.8, 1.0)
)


class ManifestError(ValueError):
    """The folder's manifest is missing or malformed (the message names file and line)."""


def read_manifest(folder: Path) -> list[dict]:
    """Rows of DIR/manifest.csv with `audio` and `norm_beats` resolved to paths.

    Raises:
        ManifestError: no manifest, a missing column, or a row naming a file that does not exist.
    """
    path = folder / "manifest.csv"
    if not path.is_file():
        raise ManifestError(f"{path}: no manifest.csv in {folder}")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "audio", "norm_beats"} - set(reader.fieldnames or [])
        if missing:
            raise ManifestError(f"{path}: missing column(s) {', '.join(sorted(missing))} "
                                "(need id, audio, norm_beats)")
        rows = []
        for line, row in enumerate(reader, start=2):
            audio, beats = folder / row["audio"], folder / row["norm_beats"]
            for p in (audio, beats):
                if not p.is_file():
                    raise ManifestError(f"{path}:{line}: {p} does not exist")
            rows.append({"id": row["id"], "audio": audio, "norm_beats": beats})
    if not rows:
        raise ManifestError(f"{path}: no recordings listed")
    return rows


def read_beats(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times, positions) of a `.norm.beats` file; positions are 0 where not given."""
    data = np.loadtxt(path, ndmin=2)
    positions = data[:, 1].astype(int) if data.shape[1] > 1 else np.zeros(len(data), int)
    return data[:, 0], positions


def score(reference: np.ndarray, estimate: np.ndarray, duration: float) -> dict[str, float]:
    """mir_eval F-measure, CMLt and AMLt; beats before 5 s trimmed for recordings over 10 s."""
    import mir_eval

    reference = np.asarray(reference, np.float64)
    estimate = np.asarray(estimate, np.float64)
    if duration > 10.0:
        reference = mir_eval.beat.trim_beats(reference)
        estimate = mir_eval.beat.trim_beats(estimate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty estimates warn; they score 0, which is the point
        f = mir_eval.beat.f_measure(reference, estimate)
        _, cmlt, _, amlt = mir_eval.beat.continuity(reference, estimate)
    return {"F": float(f), "CMLt": float(cmlt), "AMLt": float(amlt)}


def estimate_file(path: Path) -> np.ndarray:
    """Our tracker's estimate for one recording: the beat times it fires while the file plays
    through `AudioAnalysis` in 256-sample blocks (what `main` scores, and `echoel beats` prints)."""
    audio, sr = load_audio(path, ANALYSIS_RATE)
    return analyse_samples(to_mono(audio), sr, path=str(path)).beat_times


def run_tracker(hops: list[BandOnsets], config: TrackerConfig, hop_s: float,
                delay_s: float) -> np.ndarray:
    """Re-run a `BeatTracker` with `config` on recorded per-hop onset features; fired beat times."""
    tracker = BeatTracker(hop_s, config, onset_delay_s=delay_s)
    times = []
    for h in hops:
        for beat in tracker.process(h.strength, h.time, h.flux[0], h.levels):
            times.append(beat.time)
    return np.array(times)


def aubio_beats(mono: np.ndarray, sr: int) -> np.ndarray:
    """aubio's plain tempo tracker ("default", 1024, 512) on 512-sample hops."""
    import aubio

    tracker = aubio.tempo("default", 1024, 512, sr)
    x = np.ascontiguousarray(mono, dtype=np.float32)
    out = []
    for i in range(0, len(x) - 511, 512):
        if tracker(x[i:i + 512])[0]:
            out.append(float(tracker.get_last_s()))
    return np.array(out)


def librosa_beats(path: Path) -> np.ndarray:
    """librosa's offline beat tracker on the file at 22050 Hz."""
    import librosa

    y, sr = librosa.load(str(path), sr=22050, mono=True)
    _, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return np.asarray(beats, np.float64)


def phase_errors(reference: np.ndarray, estimate: np.ndarray, after: float) -> np.ndarray:
    """Signed errors (s) of estimated beats after `after` s to their nearest reference beat,
    for estimates within a quarter of the local beat period of one."""
    errors = []
    for t in estimate[estimate >= after]:
        j = int(np.argmin(np.abs(reference - t)))
        ibi = float(np.median(np.diff(reference))) if len(reference) > 1 else 0.5
        if abs(t - reference[j]) < 0.25 * ibi:
            errors.append(t - reference[j])
    return np.array(errors)


def lock_time(reference: np.ndarray, estimate: np.ndarray, start: float,
              tolerance: float = 0.035, run: int = 4) -> float | None:
    """Seconds after `start` until `run` consecutive fired beats each land within `tolerance` s
    of a reference beat (the first of them counts), or None if that never happens."""
    est = estimate[estimate >= start]
    good = [np.min(np.abs(reference - t)) <= tolerance for t in est]
    for i in range(len(est) - run + 1):
        if all(good[i:i + run]):
            return float(est[i] - start)
    return None


def synthetic_checks() -> dict:
    """Phase error and re-lock times on signals with known beats (tempo step, demo track)."""
    from live.audio.demo_track import _arrangement, synthesize_demo_track
    from live.audio.synthetic import kick_hat_loop

    sr = ANALYSIS_RATE
    out: dict = {}
    # 120 bpm for 16 s, then 128 bpm from a beat boundary on.
    first = kick_hat_loop(120.0, 16.0, sr)
    second = kick_hat_loop(128.0, 16.0, sr)
    x = np.concatenate([first, second])
    ref = np.concatenate([np.arange(0.0, 16.0, 0.5), 16.0 + np.arange(0.0, 16.0, 60.0 / 128.0)])
    est = analyse_samples(x, sr).beat_times
    err = phase_errors(ref, est, after=4.0)
    out["step_120_128_median_abs_phase_error_ms"] = float(np.median(np.abs(err)) * 1000.0)
    relock = lock_time(ref, est, 16.0)
    out["step_120_128_relock_s"] = relock if relock is not None else float("nan")

    arr = _arrangement()
    demo = to_mono(synthesize_demo_track(sr))
    est = analyse_samples(demo, sr).beat_times
    beats = arr.beat_times[:-1]
    sections = {name: (beats[b0], beats[b1] if b1 < len(beats) else arr.duration)
                for name, b0, b1 in arr.sections}
    res = score(beats, est, arr.duration)
    out["demo_F"] = res["F"]
    out["demo_CMLt"] = res["CMLt"]
    err = phase_errors(beats, est, after=sections["drop"][0])
    out["demo_median_abs_phase_error_ms"] = float(np.median(np.abs(err)) * 1000.0)
    ramp_end = sections["ramp"][1]
    relock = lock_time(beats, est, sections["ramp"][0])
    out["demo_lock_from_ramp_start_s"] = relock if relock is not None else float("nan")
    after_break = lock_time(beats, est, sections["drop2"][0])
    out["demo_relock_after_breakdown_s"] = after_break if after_break is not None else float("nan")
    in_break = est[(est >= sections["breakdown"][0]) & (est < sections["breakdown"][1])]
    out["demo_beats_during_breakdown"] = int(len(in_break))
    out["demo_ramp_end_s"] = float(ramp_end)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", metavar="DIR", type=Path,
                        help="folder with manifest.csv (id, audio, norm_beats)")
    parser.add_argument("--loo", action="store_true", help="also run leave-one-out over LOO_GRID")
    parser.add_argument("--no-baselines", action="store_true", help="skip aubio and librosa")
    parser.add_argument("--no-synthetic", action="store_true", help="skip the synthetic checks")
    parser.add_argument("--quiet", action="store_true", help="no per-file table")
    args = parser.parse_args(argv)

    try:
        rows = read_manifest(args.folder)
    except ManifestError as exc:
        print(f"beat_eval: {exc}", file=sys.stderr)
        return 2

    methods = ["ours"] if args.no_baselines else ["ours", "aubio", "librosa"]
    per_file: list[dict] = []
    recorded = []
    started = time.perf_counter()
    analysis_wall = 0.0
    audio_seconds = 0.0
    for row in rows:
        ref, positions = read_beats(row["norm_beats"])
        audio, sr = load_audio(row["audio"], ANALYSIS_RATE)
        mono = to_mono(audio)
        duration = len(mono) / sr
        audio_seconds += duration
        t0 = time.perf_counter()
        result = analyse_samples(mono, sr, path=str(row["audio"]), keep_hops=args.loo)
        analysis_wall += time.perf_counter() - t0
        estimates = {"ours": result.beat_times}
        if not args.no_baselines:
            estimates["aubio"] = aubio_beats(mono, sr)
            estimates["librosa"] = librosa_beats(row["audio"])
        entry = {"id": row["id"], "duration_s": round(duration, 2), "n_ref": int(len(ref))}
        for m in methods:
            for k, v in score(ref, estimates[m], duration).items():
                entry[f"{m}_{k}"] = v
        err = phase_errors(ref, result.beat_times, after=5.0 if duration > 10 else 0.0)
        entry["ours_median_abs_err_ms"] = float(np.median(np.abs(err)) * 1000) if len(err) else None
        downbeats = ref[positions == 1]
        fired_down = np.array([b.time for b in result.beats if b.position == 1])
        if len(downbeats) >= 2:
            entry["ours_downbeat_F"] = score(downbeats, fired_down, duration)["F"]
        per_file.append(entry)
        recorded.append((ref, duration, result.hops))

    metrics: dict = {"n_recordings": len(rows), "folder": str(args.folder)}
    means = {}
    for m in methods:
        for k in ("F", "CMLt", "AMLt"):
            means[f"{m}_{k}"] = float(np.mean([e[f"{m}_{k}"] for e in per_file]))
    metrics.update({f"mean_{k}": v for k, v in means.items()})
    errs = [e["ours_median_abs_err_ms"] for e in per_file if e["ours_median_abs_err_ms"] is not None]
    metrics["ours_median_abs_phase_error_ms"] = float(np.median(errs)) if errs else None
    down = [e["ours_downbeat_F"] for e in per_file if "ours_downbeat_F" in e]
    metrics["ours_mean_downbeat_F"] = float(np.mean(down)) if down else None
    metrics["analysis_x_realtime"] = audio_seconds / analysis_wall if analysis_wall else None
    metrics["per_file"] = per_file

    if not args.quiet:
        cols = ["id", "duration_s"] + [f"{m}_{k}" for m in methods for k in ("F", "CMLt", "AMLt")]
        print_table(per_file, cols)
        print()
    summary = [{"method": m, **{k: means[f"{m}_{k}"] for k in ("F", "CMLt", "AMLt")}}
               for m in methods]
    print_table(summary)

    if args.loo:
        metrics["loo"] = leave_one_out(recorded)
        print(f"\nleave-one-out: F {metrics['loo']['mean_F']:.3f}  CMLt {metrics['loo']['mean_CMLt']:.3f}"
              f"  AMLt {metrics['loo']['mean_AMLt']:.3f}")

    if not args.no_synthetic:
        metrics["synthetic"] = synthetic_checks()
        print()
        for k, v in metrics["synthetic"].items():
            print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")

    targets = {}
    if not args.no_baselines:
        for k in ("F", "CMLt"):
            targets[f"mean_{k}_at_least_aubio_plus_0.10"] = target(
                ">=", round(means[f"aubio_{k}"] + 0.10, 4), means[f"ours_{k}"])
    metrics["wall_s"] = time.perf_counter() - started
    path = write_result("beat_eval", metrics, targets)
    print(f"\nwrote {path}")
    return 0


def leave_one_out(recorded: list[tuple[np.ndarray, float, list[BandOnsets]]]) -> dict:
    """Score each recording with the grid setting that did best on all the others."""
    base = TrackerConfig()
    hop_s = 512 / ANALYSIS_RATE
    delay_s = 1.5 * hop_s
    table = np.zeros((len(LOO_GRID), len(recorded), 3))
    for g, change in enumerate(LOO_GRID):
        config = replace(base, **change)
        for i, (ref, duration, hops) in enumerate(recorded):
            s = score(ref, run_tracker(hops, config, hop_s, delay_s), duration)
            table[g, i] = (s["F"], s["CMLt"], s["AMLt"])
    chosen = []
    held_out = []
    for i in range(len(recorded)):
        others = np.delete(table[:, :, :2], i, axis=1).mean(axis=(1, 2))
        g = int(np.argmax(others))
        chosen.append(LOO_GRID[g])
        held_out.append(table[g, i])
    held_out = np.array(held_out)
    return {
        "grid": list(LOO_GRID),
        "chosen": chosen,
        "mean_F": float(held_out[:, 0].mean()),
        "mean_CMLt": float(held_out[:, 1].mean()),
        "mean_AMLt": float(held_out[:, 2].mean()),
        "grid_mean_F_CMLt": [float(v) for v in table[:, :, :2].mean(axis=(1, 2))],
    }


if __name__ == "__main__":
    sys.exit(main())

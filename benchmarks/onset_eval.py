"""Per-band drum onsets (kick, snare, hats) against MDB Drums, and onset latency on clicks.

Usage: python benchmarks/onset_eval.py [DIR] [--quiet]

DIR (default ../shared/corpus/beats/mdb_drums) holds audio files with a matching
`<name>.drum_onsets_class.txt` (lines `time class`, classes KD kick, SD snare, HH hi-hat, ...).
Each file is fed in 256-sample blocks through `live.audio.analysis.AudioAnalysis`, the object
the engine runs, and the `audio.onset.kick/snare/hats` onsets it reports are scored per class
with `mir_eval.onset.f_measure` (50 ms window). A file without annotations of a class does not
count towards that class's mean.

The latency part feeds clicks (and synthetic kicks) at random sample positions and measures the
time from each click to the end of the hop that reports it: the onset signal's latency, before
any device latency. Target: at most one hop.

Writes benchmarks/results/onset_eval.json (targets: kick F >= 0.75, snare F >= 0.60, latency
<= one hop; hats reported).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks._common import print_table, target, write_result  # noqa: E402
from live.audio.analysis import AudioAnalysis, analyse_file  # noqa: E402
from live.audio.decode import ANALYSIS_RATE  # noqa: E402

DEFAULT_DIR = ROOT.parent / "shared" / "corpus" / "beats" / "mdb_drums"
CLASSES = {"kick": "KD", "snare": "SD", "hats": "HH"}
WINDOW_S = 0.05
AUDIO_SUFFIXES = (".flac", ".wav", ".ogg", ".mp3")


def find_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(audio, annotation) pairs in `folder`, by the annotation's stem."""
    pairs = []
    for ann in sorted(folder.glob("*.drum_onsets_class.txt")):
        stem = ann.name[: -len(".drum_onsets_class.txt")]
        audio = next((folder / f"{stem}{s}" for s in AUDIO_SUFFIXES
                      if (folder / f"{stem}{s}").is_file()), None)
        if audio is not None:
            pairs.append((audio, ann))
    return pairs


def read_annotation(path: Path) -> dict[str, np.ndarray]:
    """Onset times per class code (KD, SD, HH, ...) of a `*.drum_onsets_class.txt` file."""
    by_class: dict[str, list[float]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            by_class.setdefault(parts[1], []).append(float(parts[0]))
    return {k: np.array(sorted(v)) for k, v in by_class.items()}


def click_latency(n_clicks: int = 40, seed: int = 3) -> dict[str, float]:
    """Latency (s) from a click / a synthetic kick to the end of the hop reporting its onset."""
    rng = np.random.default_rng(seed)
    sr = ANALYSIS_RATE
    hop_s = 512 / sr
    results = {}
    k = np.arange(int(0.15 * sr)) / sr
    kick = (np.sin(2 * np.pi * (50 + 90 * np.exp(-k * 35)) * k) * np.exp(-k * 14)).astype(np.float32)
    for name, sound, key in (("click", None, "all"), ("kick", kick, "kick")):
        times = 1.0 + np.arange(n_clicks) * 0.61 + rng.uniform(0, hop_s, n_clicks)
        x = np.zeros(int((times[-1] + 1.0) * sr), np.float32)
        for t in times:
            i = int(round(t * sr))
            if sound is None:
                x[i] += 0.5
            else:
                x[i:i + len(sound)] += 0.8 * sound[: len(x) - i]
        analysis = AudioAnalysis(sr)
        reported: list[float] = []

        def on_hop(hop, bands, fired, key=key, reported=reported):
            if key == "all" and hop.onset:
                reported.append(hop.time)
            if key == "kick" and bands.onsets[0]:
                reported.append(hop.time)

        analysis.add_hop_callback(on_hop)
        for s in range(0, len(x), 256):
            analysis.feed(x[s:s + 256])
        rep = np.array(reported)
        lat = []
        for t in times:
            after = rep[rep >= t]
            if len(after) and after[0] - t < 0.1:
                lat.append(after[0] - t)
        lat = np.array(lat)
        results[f"{name}_detected"] = float(len(lat) / n_clicks)
        results[f"{name}_latency_median_ms"] = float(np.median(lat) * 1000) if len(lat) else float("nan")
        results[f"{name}_latency_max_ms"] = float(lat.max() * 1000) if len(lat) else float("nan")
    results["hop_ms"] = hop_s * 1000
    return results


def main(argv: list[str] | None = None) -> int:
    import mir_eval

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR,
                        help=f"folder of audio + *.drum_onsets_class.txt (default {DEFAULT_DIR})")
    parser.add_argument("--quiet", action="store_true", help="no per-file table")
    args = parser.parse_args(argv)
    pairs = find_pairs(args.folder)
    if not pairs:
        print(f"onset_eval: no audio with *.drum_onsets_class.txt annotations in {args.folder}",
              file=sys.stderr)
        return 2

    rows = []
    for audio, ann in pairs:
        ref = read_annotation(ann)
        result = analyse_file(audio)
        row = {"file": audio.stem}
        for name, code in CLASSES.items():
            r = ref.get(code, np.array([]))
            est = np.array(result.onsets[name])
            row[f"{name}_n_ref"] = int(len(r))
            row[f"{name}_n_est"] = int(len(est))
            if len(r):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # empty estimates warn and score 0
                    f, p, rec = mir_eval.onset.f_measure(r, est, window=WINDOW_S)
                row[f"{name}_F"], row[f"{name}_P"], row[f"{name}_R"] = float(f), float(p), float(rec)
        rows.append(row)

    metrics: dict = {"folder": str(args.folder), "n_files": len(rows), "window_s": WINDOW_S}
    for name in CLASSES:
        scored = [r[f"{name}_F"] for r in rows if f"{name}_F" in r]
        metrics[f"mean_{name}_F"] = float(np.mean(scored)) if scored else None
        metrics[f"{name}_files"] = len(scored)
    if not args.quiet:
        cols = ["file"] + [f"{n}_{k}" for n in CLASSES for k in ("F", "n_ref", "n_est")]
        print_table(rows, cols)
        print()
    print_table([{"class": n, "mean_F": metrics[f"mean_{n}_F"], "files": metrics[f"{n}_files"]}
                 for n in CLASSES])
    metrics["per_file"] = rows
    latency = click_latency()
    metrics["latency"] = latency
    print()
    for k, v in latency.items():
        print(f"{k}: {v:.2f}")

    targets = {}
    if metrics["mean_kick_F"] is not None:
        targets["kick_F"] = target(">=", 0.75, metrics["mean_kick_F"])
    if metrics["mean_snare_F"] is not None:
        targets["snare_F"] = target(">=", 0.60, metrics["mean_snare_F"])
    targets["click_latency_max_ms"] = target("<=", round(latency["hop_ms"], 2),
                                             latency["click_latency_max_ms"])
    targets["kick_latency_max_ms"] = target("<=", round(latency["hop_ms"], 2),
                                            latency["kick_latency_max_ms"])
    path = write_result("onset_eval", metrics, targets)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

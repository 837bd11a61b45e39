"""Cost of the audio analysis per hop: features, drum onsets, beat tracker, and their total.

Usage: python benchmarks/analysis_cost.py [--seconds S] [--repeats N]

The demo track (synthesised music: drums, bass, pad, arpeggio, a tempo ramp and a breakdown) is
fed in 256-sample blocks, as an audio callback delivers it, through

1. the `FeatureExtractor` alone (levels, bands, overall onsets, textures), and
2. the full `AudioAnalysis` (features + `BandOnsetDetector` + `BeatTracker`),

with runs of the two interleaved and the best of `--repeats` kept (the least disturbed by other
processes). The onset detector and the tracker are also timed on their own, on the per-hop inputs
recorded from one run. Figures are microseconds of one core per 512-sample hop and the share of
one core the analysis takes in real time (a hop lasts 10.67 ms at 48 kHz).

Target: the whole analysis under 3 % of one core.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks._common import print_table, target, write_result  # noqa: E402
from live.audio.analysis import AudioAnalysis  # noqa: E402
from live.audio.decode import ANALYSIS_RATE, to_mono  # noqa: E402
from live.audio.demo_track import synthesize_demo_track  # noqa: E402
from live.audio.features import FeatureExtractor, HopAnalysis  # noqa: E402
from live.audio.onsets import BandOnsetDetector  # noqa: E402
from live.audio.tracker import BeatTracker  # noqa: E402

BLOCK = 256
HOP = 512


def _feed(obj, x: np.ndarray) -> float:
    """Seconds (process CPU time) to feed `x` to `obj` in BLOCK-sized pieces."""
    start = time.process_time()
    for i in range(0, len(x), BLOCK):
        obj.feed(x[i:i + BLOCK])
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of audio (default 60)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs (default 3)")
    args = parser.parse_args(argv)

    sr = ANALYSIS_RATE
    x = to_mono(synthesize_demo_track(sr))[: int(args.seconds * sr)]
    n_hops = len(x) // HOP
    hop_us = HOP / sr * 1e6

    features_s, full_s = [], []
    for _ in range(args.repeats):
        features_s.append(_feed(FeatureExtractor(sr), x))
        full_s.append(_feed(AudioAnalysis(sr), x))

    # The onset detector and the tracker alone, on recorded inputs.
    spectra: list[HopAnalysis] = []
    fx = FeatureExtractor(sr)
    fx.add_hop_listener(spectra.append)
    for i in range(0, len(x), BLOCK):
        fx.feed(x[i:i + BLOCK])
    onset_s, tracker_s = [], []
    for _ in range(args.repeats):
        det = BandOnsetDetector(sr)
        start = time.process_time()
        bands = [det.process(h.spectrum, h.time) for h in spectra]
        onset_s.append(time.process_time() - start)
        tracker = BeatTracker(HOP / sr)
        start = time.process_time()
        for b in bands:
            tracker.process(b.strength, b.time, b.flux[0], b.levels)
        tracker_s.append(time.process_time() - start)

    def per_hop(seconds: list[float]) -> float:
        return min(seconds) / n_hops * 1e6

    metrics = {
        "audio_s": len(x) / sr,
        "hops": n_hops,
        "block": BLOCK,
        "features_us_per_hop": per_hop(features_s),
        "onsets_us_per_hop": per_hop(onset_s),
        "tracker_us_per_hop": per_hop(tracker_s),
        "total_us_per_hop": per_hop(full_s),
    }
    for key in ("features", "onsets", "tracker", "total"):
        metrics[f"{key}_core_share_pct"] = metrics[f"{key}_us_per_hop"] / hop_us * 100.0
    print_table([{"part": k, "us_per_hop": metrics[f"{k}_us_per_hop"],
                  "core_share_pct": metrics[f"{k}_core_share_pct"]}
                 for k in ("features", "onsets", "tracker", "total")])
    targets = {"total_core_share_pct": target("<=", 3.0, metrics["total_core_share_pct"])}
    path = write_result("analysis_cost", metrics, targets)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

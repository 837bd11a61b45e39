"""`echoel beats` and `echoel analyze`: the live analysis run over a file, printed.

Both commands stream the file through `live.audio.analysis.analyse_file`: decoded, resampled to
48 kHz, mixed to mono and fed in 256-sample blocks through the same `AudioAnalysis` the show
runs, so what they print is what the live beat clock would have done (the beats are the ones the
causal tracker *fired*, at their predicted times, never corrected afterwards).

`live.cli.build_parser` calls `add_parser(subparsers)`. Main thread.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from live.audio.onsets import DRUMS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the `beats` and `analyze` sub-commands to `subparsers`."""
    p = subparsers.add_parser(
        "beats", help="print the beats the causal tracker fires while FILE plays",
        description="Play FILE through the live analysis (as the offline render does) and print "
        "the time of every beat the causal beat tracker fires, one per line in seconds.")
    p.add_argument("file", metavar="FILE", help="audio file (wav, flac, ogg, mp3, m4a, ...)")
    p.add_argument("--downbeats", action="store_true",
                   help="print 'TIME<TAB>1' for a downbeat and 'TIME<TAB>0' otherwise")
    p.add_argument("--json", action="store_true",
                   help="print {file, sr, latency_s, beats: [{t, pos, bpm, conf}]}")
    _add_common(p)
    p.set_defaults(func=cmd_beats)

    p = subparsers.add_parser(
        "analyze", help="summarise FILE: tempo and tempo curve, beats, onsets per band, levels",
        description="Play FILE through the live analysis and summarise what it found: the tempo "
        "(median and a curve), beat and onset counts, onsets per drum band and level statistics.")
    p.add_argument("file", metavar="FILE", help="audio file (wav, flac, ogg, mp3, m4a, ...)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_common(p)
    p.set_defaults(func=cmd_analyze)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bpm", type=float, default=120.0, metavar="BPM",
                   help="expected tempo: the tracker's prior is centred on it (default 120, as a "
                   "scene's bpm would seed it)")
    p.add_argument("--beats-per-bar", type=int, default=4, metavar="N",
                   help="bar length for bar positions and downbeats (default 4)")


def _analyse(args: argparse.Namespace):
    from live.audio.analysis import analyse_file

    return analyse_file(Path(args.file), seed_bpm=args.bpm, beats_per_bar=args.beats_per_bar)


def cmd_beats(args: argparse.Namespace) -> int:
    """`echoel beats FILE [--downbeats] [--json]`."""
    result = _analyse(args)
    if args.json:
        doc = {
            "file": str(args.file),
            "sr": result.sr,
            "latency_s": result.latency_s,
            "beats": [{"t": round(b.time, 6), "pos": b.position, "bpm": round(b.bpm, 3),
                       "conf": round(b.confidence, 4)} for b in result.beats],
        }
        print(json.dumps(doc))
    elif args.downbeats:
        for b in result.beats:
            print(f"{b.time:.3f}\t{1 if b.downbeat else 0}")
    else:
        for b in result.beats:
            print(f"{b.time:.3f}")
    if not result.beats and not args.json:
        print(f"echoel: no beats found in {args.file} ({result.duration_s:.1f} s: silence, or no "
              "steady rhythm)", file=sys.stderr)
    return 0


def summarise(result) -> dict:
    """The `echoel analyze` summary of a `RecordingAnalysis` as a JSON-ready dict."""
    from live.audio.analysis import median_tempo

    curve = result.tempo_curve
    tempo = median_tempo(result)
    levels = {}
    for i, name in enumerate(("rms", "bass", "mid", "treb")):
        col = result.levels[:, i] if len(result.levels) else np.zeros(1)
        levels[name] = {"mean": round(float(col.mean()), 4),
                        "p95": round(float(np.percentile(col, 95)), 4),
                        "max": round(float(col.max()), 4)}
    return {
        "file": result.path,
        "sr": result.sr,
        "duration_s": round(result.duration_s, 3),
        "latency_s": result.latency_s,
        "tempo_bpm": None if tempo is None else round(tempo, 2),
        "tempo_confidence": (None if not curve
                             else round(float(np.median([c for _, _, c in curve])), 3)),
        "tempo_curve": [{"t": round(t, 2), "bpm": round(b, 2), "conf": round(c, 3)}
                        for t, b, c in curve],
        "beats": len(result.beats),
        "downbeats": sum(1 for b in result.beats if b.downbeat),
        "onsets": {name: len(times) for name, times in result.onsets.items()},
        "levels": levels,
    }


def cmd_analyze(args: argparse.Namespace) -> int:
    """`echoel analyze FILE [--json]`."""
    summary = summarise(_analyse(args))
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"file:      {summary['file']}")
    print(f"duration:  {summary['duration_s']:.2f} s at {summary['sr']} Hz "
          f"(analysis latency {summary['latency_s'] * 1000:.1f} ms)")
    if summary["tempo_bpm"] is None:
        print("tempo:     none found (silence, or no steady rhythm)")
    else:
        print(f"tempo:     {summary['tempo_bpm']:.1f} bpm (median; confidence "
              f"{summary['tempo_confidence']:.2f})")
        # One point every 5 s keeps the curve readable; JSON has one per second.
        points = [p for p in summary["tempo_curve"] if round(p["t"]) % 5 == 0]
        print("curve:     " + "  ".join(f"{p['t']:.0f}s {p['bpm']:.1f}" for p in points))
    print(f"beats:     {summary['beats']} (downbeats {summary['downbeats']})")
    onsets = summary["onsets"]
    print(f"onsets:    {onsets['all']} (" + ", ".join(f"{d} {onsets[d]}" for d in DRUMS) + ")")
    print("levels:    auto-gained 0..1, 0.5 = the level's long-term average")
    for name, stats in summary["levels"].items():
        print(f"  {name:5s}    mean {stats['mean']:.2f}  p95 {stats['p95']:.2f}  max {stats['max']:.2f}")
    return 0

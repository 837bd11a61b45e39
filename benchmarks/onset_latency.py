"""Onset latency: from a click in the input to the onset signal.

Two measurements:

* offline, synthetic: click trains whose clicks sweep every position within a hop go through the
  same path as a file source (`OfflineFileSource`, 256-frame reads, 48 kHz and 44.1 kHz) into the
  `FeatureExtractor`. Latency = end of the hop whose analysis reports the onset minus the click's
  sample time, i.e. how late the onset signal is in audio time. At 44.1 kHz the resampler also
  holds some audio back; its average is reported alongside.
* end to end through a JACK dummy server: a player process emits clicks into JACK at known
  positions and notes the monotonic time of each callback; a capture process runs
  `SoundDeviceSource` (the live path: PortAudio callback, ring buffer, conditioning) and the
  `FeatureExtractor`, polling every millisecond, and notes the monotonic time at which each
  onset comes out. A click at index i of a block delivered at time T is taken to have happened
  at ``T - (block - i) / rate``, as if the block were the last period of a real input, so the
  block's own buffering counts as device latency.

Target: at most one hop (10.7 ms) plus the device's own latency (one JACK period plus what
PortAudio reports). Prints a table and writes benchmarks/results/onset_latency.json.

Usage: python benchmarks/onset_latency.py [--no-jack] [--clicks N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import print_table, target, write_result
from live.audio.devices import JackDummyServer, JackUnavailableError
from live.audio.features import FeatureExtractor, HopAnalysis
from live.audio.sources import OfflineFileSource

SR = 48000
HOP = 512
PERIOD = 256
CLICK_SPACING_S = 0.5
#: Each click moves this many samples further into the hop grid than the last one, so the clicks
#: cover every phase of a hop (37 is coprime with 512).
PHASE_STEP = 37


def click_burst(sr: int) -> np.ndarray:
    """A 2 ms decaying noise burst at `sr` (the same kind of click as live/audio/synthetic.py)."""
    n = max(1, int(0.002 * sr))
    rng = np.random.default_rng(1)
    return (0.8 * rng.uniform(-1, 1, n) * np.exp(-np.arange(n) / (n / 4))).astype(np.float32)


def click_positions(n_clicks: int, sr: int) -> np.ndarray:
    """Sample index of each click at rate `sr` (first at 1 s, then every 0.5 s plus the step)."""
    k = np.arange(n_clicks)
    t = 1.0 + k * CLICK_SPACING_S + k * PHASE_STEP / SR
    return np.round(t * sr).astype(np.int64)


def offline_latency(n_clicks: int, sr: int) -> dict:
    """Feed a swept click train through the offline source; latency of each click in seconds."""
    pos = click_positions(n_clicks, sr)
    burst = click_burst(sr)
    x = np.zeros(int(pos[-1] + sr), np.float32)
    for p in pos:
        x[p:p + burst.size] += burst
    src = OfflineFileSource.from_array(x, sr)
    fx = FeatureExtractor()
    hops: list[HopAnalysis] = []
    fx.add_hop_listener(hops.append)
    delays = []
    while True:
        chunk = src.read(PERIOD)
        if not chunk.frames:
            break
        fx.feed(chunk.mono())
        delays.append(src._cond.delay_s)  # what the resampler holds right now
    hop_ends = np.array([h.time for h in hops if h.onset])
    estimates = np.array([h.onset_time for h in hops if h.onset])
    click_t = pos / sr
    lat, est_err, missed = [], [], 0
    for t in click_t:
        later = np.flatnonzero((hop_ends >= t) & (hop_ends < t + 0.1))
        if not later.size:
            missed += 1
            continue
        lat.append(hop_ends[later[0]] - t)
        est_err.append(estimates[later[0]] - t)
    return {"latency_s": np.array(lat), "estimate_error_s": np.array(est_err), "missed": missed,
            "false": int(hop_ends.size - len(lat)), "resampler_delay_s": float(np.mean(delays))}


PLAYER = r"""
import json, os, sys, time
import numpy as np
import sounddevice as sd
positions = np.array(json.loads(sys.argv[1]), dtype=np.int64)
burst = np.array(json.loads(sys.argv[2]), dtype=np.float32)
cb_time = np.zeros(len(positions)); cb_offset = np.zeros(len(positions), np.int64)
cb_block = np.zeros(len(positions), np.int64)
state = {"frame": 0, "next": 0}
def callback(out, frames, t, status):
    now = time.monotonic()
    out.fill(0)
    start = state["frame"]
    while state["next"] < len(positions) and positions[state["next"]] < start + frames:
        i = state["next"]; off = int(positions[i] - start)
        n = min(burst.size, frames - off)
        out[off:off + n, 0] = burst[:n]  # bursts are shorter than a block and never straddle
        cb_time[i] = now; cb_offset[i] = off; cb_block[i] = frames
        state["next"] += 1
    state["frame"] = start + frames
stream = sd.OutputStream(device="system", channels=1, samplerate=48000, blocksize=256,
                         dtype="float32", callback=callback)
stream.start()
print("READY", flush=True)
while state["next"] < len(positions):
    time.sleep(0.05)
time.sleep(0.3)
print("CLICKS " + json.dumps({"time": cb_time.tolist(), "offset": cb_offset.tolist(),
      "block": cb_block.tolist()}), flush=True)
os._exit(0)
"""

CAPTURE = r"""
import json, os, sys, time
from live.audio.sources import SoundDeviceSource
from live.audio.features import FeatureExtractor
seconds = float(sys.argv[1])
src = SoundDeviceSource("system", host_api="JACK", channels=[1])
src.start()
print("READY", flush=True)
fx = FeatureExtractor()
found = []
fx.add_hop_listener(lambda h: found.append(time.monotonic()) if h.onset else None)
end = time.monotonic() + seconds
while time.monotonic() < end:
    c = src.read()
    if c.frames:
        fx.feed(c.mono())
    time.sleep(0.001)
st = src.stats()
print("ONSETS " + json.dumps({"time": found, "device_latency_s": st.device_latency_s,
      "xruns": st.xruns, "frames_dropped": st.frames_dropped}), flush=True)
os._exit(0)
"""


def _child(code: str, *args: str, env: dict) -> subprocess.Popen:
    env = dict(env, PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _line(proc: subprocess.Popen, prefix: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line[len(prefix):].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"child never said {prefix!r}: {proc.stderr.read()[-2000:]}")


def jack_latency(n_clicks: int) -> dict:
    """Clicks from one process through JACK into the live capture path of another."""
    pos = click_positions(n_clicks, SR)
    seconds = pos[-1] / SR + 1.5
    with JackDummyServer(f"echoel-bench-{os.getpid()}", rate=SR, period=PERIOD) as server:
        before = set(server.ports())
        cap = _child(CAPTURE, str(seconds + 1.0), env=server.env)
        _line(cap, "READY", 20)
        cap_in = _wait_port(server, before, "in_")
        before = set(server.ports())
        player = _child(PLAYER, json.dumps(pos.tolist()), json.dumps(click_burst(SR).tolist()),
                        env=server.env)
        _line(player, "READY", 20)
        play_out = _wait_port(server, before, "out_")
        server.connect(play_out, cap_in)  # the first click plays 1 s after the stream starts
        server.disconnect("system:capture_1", cap_in)
        clicks = json.loads(_line(player, "CLICKS ", seconds + 20))
        onsets = json.loads(_line(cap, "ONSETS ", seconds + 20))
        player.wait(10)
        cap.wait(10)
    click_t = (np.array(clicks["time"]) - (np.array(clicks["block"]) - np.array(clicks["offset"])) / SR)
    found = np.array(onsets["time"])
    lat, missed = [], 0
    for t in click_t:
        later = found[(found >= t) & (found < t + 0.1)]
        if later.size:
            lat.append(later[0] - t)
        else:
            missed += 1
    return {"latency_s": np.array(lat), "missed": missed, "false": int(found.size - len(lat)),
            "device_latency_s": PERIOD / SR + float(onsets["device_latency_s"]),
            "portaudio_reported_s": float(onsets["device_latency_s"]), "xruns": onsets["xruns"],
            "frames_dropped": onsets["frames_dropped"]}


def _wait_port(server: JackDummyServer, before: set[str], suffix: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        new = sorted(p for p in server.ports() if p not in before and p.split(":", 1)[1].startswith(suffix))
        if new:
            return new[0]
        time.sleep(0.05)
    raise RuntimeError(f"no new {suffix} port on the JACK server")


def _ms(a: np.ndarray, q: float) -> float:
    return round(float(np.quantile(a, q)) * 1e3, 3) if a.size else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clicks", type=int, default=40, help="clicks per measurement (default 40)")
    ap.add_argument("--no-jack", action="store_true", help="skip the end-to-end JACK measurement")
    args = ap.parse_args(argv)
    hop_s = HOP / SR
    rows, metrics, targets = [], {}, {}

    for sr in (48000, 44100):
        r = offline_latency(args.clicks, sr)
        lat = r["latency_s"]
        name = f"offline_{sr // 1000 if sr % 1000 == 0 else sr / 1000:g}k"
        rows.append({"path": f"offline {sr} Hz", "clicks": args.clicks, "missed": r["missed"],
                     "false": r["false"], "median_ms": _ms(lat, 0.5), "p95_ms": _ms(lat, 0.95),
                     "max_ms": _ms(lat, 1.0), "extra_ms": round(r["resampler_delay_s"] * 1e3, 3)})
        metrics[name] = {"clicks": args.clicks, "missed": r["missed"], "false_onsets": r["false"],
                         "median_ms": _ms(lat, 0.5), "p95_ms": _ms(lat, 0.95), "max_ms": _ms(lat, 1.0),
                         "resampler_delay_ms": round(r["resampler_delay_s"] * 1e3, 3),
                         "onset_time_error_median_ms": _ms(np.abs(r["estimate_error_s"]), 0.5)}
        measured = float(np.max(lat)) + r["resampler_delay_s"] if lat.size else float("inf")
        targets[f"{name}_max_latency_s"] = target("<=", round(hop_s, 5), round(measured, 5))

    if not args.no_jack:
        try:
            r = jack_latency(args.clicks)
        except (JackUnavailableError, RuntimeError) as exc:
            print(f"JACK end-to-end measurement skipped: {exc}")
            metrics["jack"] = {"skipped": str(exc)}
        else:
            lat = r["latency_s"]
            rows.append({"path": "JACK end to end", "clicks": args.clicks, "missed": r["missed"],
                         "false": r["false"], "median_ms": _ms(lat, 0.5), "p95_ms": _ms(lat, 0.95),
                         "max_ms": _ms(lat, 1.0), "extra_ms": round(r["device_latency_s"] * 1e3, 3)})
            metrics["jack"] = {"clicks": args.clicks, "missed": r["missed"], "false_onsets": r["false"],
                               "median_ms": _ms(lat, 0.5), "p95_ms": _ms(lat, 0.95),
                               "max_ms": _ms(lat, 1.0),
                               "device_latency_ms": round(r["device_latency_s"] * 1e3, 3),
                               "portaudio_reported_ms": round(r["portaudio_reported_s"] * 1e3, 3),
                               "period_frames": PERIOD, "poll_interval_ms": 1.0,
                               "xruns": r["xruns"], "frames_dropped": r["frames_dropped"]}
            budget = hop_s + r["device_latency_s"]
            if lat.size:
                targets["jack_median_latency_s"] = target("<=", round(budget, 5),
                                                          round(float(np.median(lat)), 5))

    print_table(rows, ["path", "clicks", "missed", "false", "median_ms", "p95_ms", "max_ms", "extra_ms"])
    print("extra_ms: the resampler's average hold-back (offline rows) or the device latency (JACK row)")
    path = write_result("onset_latency", metrics, targets)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

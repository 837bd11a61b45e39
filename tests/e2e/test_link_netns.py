"""Ableton Link between two peers inside a private network namespace (nothing leaves the machine).

The test runs one shell under `unshare -n` with only a loopback interface (multicast routed to
it). Inside, a plain aalink peer ("the band's laptop") runs a schedule — 133 bpm, then 100 bpm,
then an absurd 900 bpm, then it leaves (the engine joins two seconds in) — while the engine side runs `LinkSource`, the
`TempoArbiter` and a `BeatClock` at 60 frames per second. Both sides record (Link clock time,
beat); the engine side compares them on Link's clock, which is the same system clock in both
processes.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from live.testing import private_netns_command, private_netns_unavailable

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(120)

PEER = r"""
import asyncio, json, sys, time, warnings
warnings.simplefilter("ignore")
import aalink
link = aalink.Link(133.0, asyncio.new_event_loop())
link.quantum = 4
link.enabled = True
start = time.monotonic()
samples, schedule = [], [(5.0, 100.0), (7.0, 900.0)]
while time.monotonic() - start < 8.5:
    el = time.monotonic() - start
    if schedule and el >= schedule[0][0]:
        link.tempo = schedule.pop(0)[1]
    samples.append((link.time.total_seconds(), link.beat, link.tempo))
    time.sleep(0.01)
print(json.dumps(samples))
"""

ENGINE = r"""
import json, logging, subprocess, sys, time, warnings
warnings.simplefilter("ignore")
logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
from live.clock import BeatClock, WallClock
from live.control.link import LinkSource
from live.control.tempo import TempoArbiter

peer = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
time.sleep(1.5)  # the peer's session is established first: the engine joins it
clock = WallClock()
src = LinkSource(clock, bpm=120.0, quantum=4)
src.start()
arb = TempoArbiter([src])
beat = BeatClock(120.0)
samples = []
end = time.monotonic() + 7.8
while time.monotonic() < end:
    t = clock.now()
    beat.update(t)
    leader = arb.update(beat, t)
    lt = src._link.time.total_seconds() - (clock.now() - t)  # Link time at t
    samples.append((lt, beat.beat_at(t), beat.bpm, leader, src.peers, t))
    time.sleep(1 / 60)
src.stop()
peer_samples = json.loads(peer.communicate(timeout=20)[0])
print("RESULT " + json.dumps({"engine": samples, "peer": peer_samples}))
"""


def test_two_link_peers_follow_tempo_and_bar_phase_in_a_private_namespace():
    pytest.importorskip("aalink", reason="aalink (Ableton Link) not installed")
    reason = private_netns_unavailable()
    if reason:
        pytest.skip(reason)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(private_netns_command('"$0" -c "$1" "$2"') + [sys.executable, ENGINE, PEER],
                          capture_output=True, text=True, timeout=90, env=env, cwd=ROOT, check=False)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(line[len("RESULT "):])
    engine, peer = data["engine"], data["peer"]

    def peer_beat(lt: float) -> float:
        """The peer's beat at Link time `lt`, interpolated between its 10 ms samples."""
        for (t0, b0, _), (t1, b1, _) in itertools.pairwise(peer):
            if t0 <= lt <= t1:
                return b0 + (b1 - b0) * (lt - t0) / (t1 - t0)
        raise AssertionError(f"no peer sample around {lt}")

    peer_start = peer[0][0]
    steady_133 = [s for s in engine if 3.5 < s[0] - peer_start < 4.9]
    steady_100 = [s for s in engine if 6.0 < s[0] - peer_start < 6.9]
    absurd = [s for s in engine if 7.3 < s[0] - peer_start < 8.3]
    alone = [s for s in engine if s[0] - peer_start > 9.0]
    assert steady_133 and steady_100 and absurd and alone, "the run was too short"
    # Tempo follow.
    for want, window in ((133.0, steady_133), (100.0, steady_100)):
        bad = [(round(s[0] - peer_start, 3), s[2], s[3]) for s in window
               if s[3] != "link" or abs(s[2] - want) > 1e-3]
        assert not bad, f"not following {want} bpm: {bad[:5]}; peer tempo {[p[2] for p in peer[::50]]}"
    # Bar phase: the engine's beat modulo the bar equals the peer's (Link's quantum = 4).
    for s in steady_133 + steady_100:
        diff = (s[1] - peer_beat(s[0]) + 2.0) % 4.0 - 2.0
        assert abs(diff) < 0.02, f"bar phase off by {diff:.4f} beats at {s[0] - peer_start:.2f} s"
    # 900 bpm from the peer: ignored, the engine keeps 100 bpm running free of the session.
    assert all(abs(s[2] - 100.0) < 1e-3 and s[3] != "link" for s in absurd)
    assert proc.stderr.count("outside 20..400") == 1, proc.stderr[-2000:]
    # The peer left: free running at the last tempo, and no jump in phase at any frame.
    assert all(s[4] == 0 and s[3] == "free" for s in alone)
    # Beats per minute between consecutive frames, on the engine's own clock: the tempo plus
    # phase corrections, which never exceed 10 % of it.
    late = [(b[1] - a[1]) / (b[5] - a[5]) * 60.0 for a, b in itertools.pairwise(engine)
            if b[0] - peer_start > 6.0]
    assert max(abs(rate - 100.0) for rate in late) <= 100.0 * 0.1 + 0.01

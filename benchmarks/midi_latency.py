"""MIDI latency, sustained rate and MIDI clock following, through JACK MIDI between processes.

A JACK dummy server is started (`jackd -d dummy -r 48000 -p 256`; the latency is measured again
with `-p 128` and `-p 64`, since JACK delivers MIDI once per period, so one to two periods are part
of the transport time: 5.3-10.7 ms at 256 frames, more than the 3 ms the target leaves beyond one
frame, which is why the target is judged at 64 frames, a usual live-performance setting). A sender process plays MIDI
into a virtual JACK port; this process runs the real engine (headless GL, a 64x36 output, the
000-idle scene plus a mapping ``midi.bench.cc.1.1 -> master.dimmer``) with its controllers
(`live.control.controllers.Controllers`, MIDI polled at the top of each tick) in a 60 fps loop.

1. Latency: the sender sends CC 1 with a new value every 37-73 ms and notes the monotonic time
   of each send. Latency = the time the first frame whose tick applied that value to the target
   (`engine.dimmer`) finished, minus the send time. Target: p99 <= one frame (16.7 ms) + 3 ms.
   Also reported: p99 over the messages whose frame (and the one before) started on time,
   i.e. without the frames a loaded machine delivered late (their count is reported too).
2. Sustained rate: bursts paced every millisecond at 2,000, 4,000 and 8,000 messages per second
   for 2 s each, every message distinct (CC number and value count up); loss = messages that
   never reached the bus. Target: the highest rate without loss >= 2,000 msg/s.
3. MIDI clock following: the sender sends Start and 24 ppqn clock at 90, 128 and 174 bpm (8 s
   each); per frame the engine's BeatClock is compared with the sender's ideal timeline (beat 0
   at the first pulse). Tempo error: mean |bpm - true| after 2 s. Phase error: the BeatClock's
   beat minus the true beat, in ms; its mean is the transport delay, its standard deviation the
   jitter.
4. MIDI clock out: the engine's `ClockOut` (through `Controllers` with ``midi.clock_out`` set,
   started and stopped once per tempo, so each run is Start, pulses, Stop) at 90, 128 and 174
   bpm sends to a receiver process's virtual JACK port, with JACK periods of 256 and 64 frames.
   The receiver's arrival times are rtmidi's, taken in JACK's process cycle (so they fall on the
   period grid: JACK MIDI through rtmidi carries no sub-period timestamps). Tempo error:
   |60 / (24 x least-squares pulse interval) - bpm| (when pulses were lost, each is numbered by
   its gap to the one before, so a lost pulse does not skew it). Jitter: the standard deviation
   of the intervals between consecutive pulses, the p99 of |interval - ideal| and the p99 of
   |arrival - fitted straight line|. The same figures for the send times in the engine process
   (the clock thread's own scheduling, before JACK) say how much of the jitter is the sender's.
   Lost: pulses sent minus pulses received; xruns: cycles jackd reported late meanwhile (JACK
   drops the MIDI of a cycle that a client missed). Targets: tempo error <= 0.5 bpm and no pulse
   lost, at period 256.

Prints a table and writes benchmarks/results/midi_latency.json.

Usage: python benchmarks/midi_latency.py [--quick] [--section all|clock-out]
(``--section clock-out`` runs only part 4 and prints it without writing the results file: for
development; the results file comes from a whole run.)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import print_table, target, write_result
from live.testing import JACK_MIDI_RECEIVER

FPS = 60.0
FRAME = 1.0 / FPS

SENDER = r"""
import json, random, sys, time
import rtmidi
out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="bench-sender")
out.open_virtual_port("out")
print("READY", flush=True)
send = out.send_message

def until(t):
    while True:
        left = t - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.0005) if left < 0.002 else left - 0.0015)

for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "latency":
        rng = random.Random(7)
        sent, value, t = [], 0, time.monotonic() + 0.2
        for _ in range(cmd["n"]):
            t += rng.uniform(0.037, 0.073)
            until(t)
            value = value % 127 + 1
            sent.append((value, time.monotonic()))
            send([0xB0, 1, value])
        print(json.dumps(sent), flush=True)
    elif cmd["op"] == "rate":
        rate, seconds = cmd["rate"], cmd["seconds"]
        per_ms, n, t0 = rate / 1000.0, 0, time.monotonic() + 0.1
        total = int(rate * seconds)
        owed = 0.0
        k = 0
        while n < total:
            k += 1
            until(t0 + k * 0.001)
            owed += per_ms
            while owed >= 1 and n < total:
                send([0xB0, 20 + (n // 128) % 64, n % 128])
                n += 1
                owed -= 1
        print(json.dumps({"sent": n}), flush=True)
    elif cmd["op"] == "clock":
        step = 60.0 / cmd["bpm"] / 24
        send([0xFA])
        t0 = time.monotonic() + 0.05
        for k in range(int(cmd["seconds"] * cmd["bpm"] / 60 * 24)):
            until(t0 + k * step)
            send([0xF8])
        send([0xFC])
        print(json.dumps({"t0": t0}), flush=True)
    elif cmd["op"] == "quit":
        break
out.close_port()
out.delete()
"""

SCENE = """schema = 1
[scene]
name = "midi-bench"
bpm = 100
[[layers]]
id = "g"
kind = "shader"
source = "generators/gradient"
params = { speed = 0.25, brightness = 0.45, hue = 0.68, spread = 0.18 }
[[mappings]]
source = "midi.bench.cc.1.1"
target = "master.dimmer"
"""


def tick_at_fps(engine, seconds: float, per_frame) -> None:
    """Tick `engine` at 60 fps for `seconds`; after each tick call per_frame(frame end time)."""
    next_frame = time.monotonic()
    end = next_frame + seconds
    while next_frame < end:
        engine.tick()
        per_frame(time.monotonic())
        next_frame += FRAME
        left = next_frame - time.monotonic()
        if left > 0:
            time.sleep(left)
        else:
            next_frame = time.monotonic()  # late: no catch-up burst


class Rig:
    """The engine with its controllers, run frame by frame at 60 fps (this process)."""

    def __init__(self) -> None:
        from live.clock import WallClock
        from live.control.controllers import Controllers, ControlSettings
        from live.control.midi import MidiInput, PortRule
        from live.engine import Engine
        from live.render.context import create_headless_context
        from live.scene import parse_scene

        self.ctx = create_headless_context()
        self.clock = WallClock()
        self.engine = Engine(self.ctx, (64, 36), self.clock)
        self.midi = MidiInput(self.clock, [PortRule("*bench-sender*", "bench")], api="jack",
                              virtual_name="", rescan_s=0.25, parts=self.engine.parts)
        settings = ControlSettings(midi=True, api="jack", mapping_files=[], learned=None)
        self.controls = Controllers(self.engine, settings, midi_input=self.midi)
        self.engine.controls = self.controls
        self.controls.start()
        self.engine.load_scene(parse_scene(SCENE))
        self.counter = {}
        self.midi.decoder.learn_listeners.append(self._count)

    def _count(self, name: str, msg, alias) -> None:
        if msg.kind == 0xB0 and 20 <= msg.data1 < 84:
            self.counter[(msg.data1, msg.data2)] = self.counter.get((msg.data1, msg.data2), 0) + 1

    def run(self, seconds: float, per_frame) -> None:
        """Tick at 60 fps for `seconds`; after each tick call per_frame(frame end time)."""
        tick_at_fps(self.engine, seconds, per_frame)

    def close(self) -> None:
        self.controls.stop()
        self.engine.release()
        self.ctx.release()


def _ask(proc: subprocess.Popen, cmd: dict) -> object:
    proc.stdin.write(json.dumps(cmd) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"sender died: {proc.stderr.read()[-1500:]}")
    return json.loads(line)


def measure_latency(rig: Rig, proc: subprocess.Popen, n: int) -> dict:
    frames: list[tuple[float, float]] = []
    import threading

    result: dict = {}
    t = threading.Thread(target=lambda: result.setdefault("sent", _ask(proc, {"op": "latency", "n": n})))
    t.start()
    rig.run(0.3 + n * 0.055 + 0.5, lambda done: frames.append((done, rig.engine.dimmer)))
    t.join(30)
    sent = result["sent"]
    # Message i counts as applied by the first frame that shows its value or the value of a
    # later message (two messages inside one frame: the later one wins, the earlier one was
    # still handled by that frame). Consecutive values always differ.
    latencies, on_time = [], []
    late = {i for i, (a, b) in enumerate(itertools.pairwise(frames), start=1)
            if b[0] - a[0] > 1.5 * FRAME}
    for i, (value, t_send) in enumerate(sent):
        later = {v / 127.0 for v, _ in sent[i:i + 8]}
        hit = next((k for k, (done, dimmer) in enumerate(frames)
                    if done >= t_send and any(abs(dimmer - w) < 1e-9 for w in later)), None)
        if hit is None:
            continue
        latency = frames[hit][0] - t_send
        latencies.append(latency)
        if hit not in late and hit - 1 not in late:
            on_time.append(latency)

    def q(values: list[float], p: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 2)

    return {"messages": len(sent), "matched": len(latencies), "p50_ms": q(latencies, 0.5),
            "p99_ms": q(latencies, 0.99), "max_ms": q(latencies, 1.0),
            "p99_on_time_ms": q(on_time, 0.99), "late_frames": len(late), "frames": len(frames)}


def measure_rate(rig: Rig, proc: subprocess.Popen, rate: int, seconds: float) -> dict:
    import threading

    rig.counter.clear()
    result: dict = {}
    t = threading.Thread(target=lambda: result.setdefault("r", _ask(proc, {"op": "rate", "rate": rate,
                                                                          "seconds": seconds})))
    t.start()
    rig.run(seconds + 0.6, lambda done: None)
    t.join(30)
    sent = result["r"]["sent"]
    received = sum(rig.counter.values())
    distinct = len(rig.counter)
    return {"rate": rate, "sent": sent, "received": received,
            "lost": sent - min(received, sent) if distinct == min(sent, 128 * 64) else sent - received,
            "dropped": rig.midi.stats.dropped}


def measure_clock(rig: Rig, proc: subprocess.Popen, bpm: float, seconds: float) -> dict:
    import threading

    samples: list[tuple[float, float, float, str]] = []
    result: dict = {}
    t = threading.Thread(target=lambda: result.setdefault("r", _ask(proc, {"op": "clock", "bpm": bpm,
                                                                          "seconds": seconds})))
    t.start()

    def frame(done: float) -> None:
        beat = rig.engine.beat
        now = rig.clock.now()
        samples.append((time.monotonic(), beat.beat_at(now), beat.bpm, rig.controls.arbiter.leader))

    rig.run(seconds + 0.3, frame)
    t.join(30)
    t0 = result["r"]["t0"]
    period = 60.0 / bpm
    settled = [s for s in samples if s[0] - t0 > 2.0 and s[0] - t0 < seconds - 0.1 and s[3] == "midi_clock"]
    tempo_err = [abs(s[2] - bpm) for s in settled]
    phase_ms = []
    for t_mono, beat, _, _ in settled:
        true_beat = (t_mono - t0) / period
        err = beat - true_beat
        err -= round(err)  # phase only: the BeatClock's beat count started elsewhere
        phase_ms.append(err * period * 1000)
    return {"bpm": bpm, "frames": len(settled),
            "tempo_err_mean_bpm": round(statistics.fmean(tempo_err), 4),
            "tempo_err_max_bpm": round(max(tempo_err), 4),
            "phase_mean_ms": round(statistics.fmean(phase_ms), 3),
            "phase_jitter_ms": round(statistics.pstdev(phase_ms), 3),
            "phase_max_abs_ms": round(max(abs(p) for p in phase_ms), 3)}


def pulse_numbers(times: list[float], ideal: float) -> list[int]:
    """Number each pulse by its gap to the one before, in ideal intervals (rounded): a pulse
    missing in between leaves its number out instead of shifting every later pulse."""
    numbers = [0]
    for a, b in itertools.pairwise(times):
        numbers.append(numbers[-1] + max(1, round((b - a) / ideal)))
    return numbers


def _timing(times: list[float], ideal: float, lost: int = 0) -> dict:
    """Tempo from the least-squares slope of `times` against pulse number (numbered by
    `pulse_numbers` when `lost` pulses are missing, else in order: a pulse held back on a busy
    machine and the next one sent at once would look like a gap); interval jitter (std of the
    intervals, p99 of |interval - ideal|) and p99 distance from the fitted line, in ms."""
    index = pulse_numbers(times, ideal) if lost else list(range(len(times)))
    mean_i, mean_t = statistics.fmean(index), statistics.fmean(times)
    slope = (sum((i - mean_i) * (t - mean_t) for i, t in zip(index, times, strict=True))
             / sum((i - mean_i) ** 2 for i in index))
    signed = [((b - a) - ideal) * 1000 for a, b in itertools.pairwise(times)]
    dev = sorted(abs(d) for d in signed)
    line = sorted(abs(t - (mean_t + (i - mean_i) * slope)) * 1000 for i, t in zip(index, times, strict=True))
    return {"bpm": 60.0 / (24 * slope), "interval_std_ms": statistics.pstdev(signed),
            "interval_p99_ms": dev[min(len(dev) - 1, int(0.99 * len(dev)))],
            "line_p99_ms": line[min(len(line) - 1, int(0.99 * len(line)))]}


def measure_clock_out(period: int, tempos: tuple[float, ...], seconds: float) -> list[dict]:
    """Part 4 on a JACK dummy server with `period` frames: one Start/pulses/Stop run per tempo."""
    from live.audio.devices import JackDummyServer
    from live.clock import WallClock
    from live.control.controllers import Controllers, ControlSettings
    from live.engine import Engine
    from live.render.context import create_headless_context
    from live.scene import parse_scene

    server = JackDummyServer(name=f"echoel-clockbench-{os.getpid()}-{period}", period=period).start()
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ.update(server.env)
    proc = ctx = None
    rows = []
    try:
        proc = subprocess.Popen([sys.executable, "-c", JACK_MIDI_RECEIVER, "bench-clock"],
                                env=server.env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline().strip() == "READY"
        ctx = create_headless_context()
        clock = WallClock()
        settings = ControlSettings(midi=True, api="jack", inputs=[], virtual_port="",
                                   clock_out="*bench-clock*", mapping_files=[], learned=None)
        for bpm in tempos:
            engine = Engine(ctx, (64, 36), clock)
            engine.load_scene(parse_scene(SCENE.replace("bpm = 100", f"bpm = {bpm}")))
            controls = Controllers(engine, settings)
            engine.controls = controls
            sent: list[float] = []
            send = controls.clock_out._send  # also note when each pulse left the clock thread

            def noting(data: list[int], send=send, sent=sent) -> None:
                if data[0] == 0xF8:
                    sent.append(time.monotonic())
                send(data)

            controls.clock_out._send = noting
            xruns = server.xrun_count()
            controls.start()
            tick_at_fps(engine, seconds, lambda done: None)
            controls.stop()
            engine.release()
            events: list = []
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:  # until Stop has crossed JACK (a period or two)
                proc.stdin.write("DUMP\n")
                proc.stdin.flush()
                events += json.loads(proc.stdout.readline()[len("DUMP "):])
                if events and events[-1][1] == 0xFC:
                    break
                time.sleep(0.02)
            kinds = [k for _, k in events]
            pulses = [t for t, k in events if k == 0xF8]
            ideal = 60.0 / bpm / 24
            got, out = _timing(pulses, ideal, len(sent) - len(pulses)), _timing(sent, ideal)
            rows.append({"period": period, "bpm": bpm, "pulses": len(pulses),
                         "lost": len(sent) - len(pulses), "xruns": server.xrun_count() - xruns,
                         "start_stop": kinds[:1] == [0xFA] and kinds[-1:] == [0xFC],
                         "tempo_err_bpm": round(abs(got["bpm"] - bpm), 4),
                         "interval_std_ms": round(got["interval_std_ms"], 3),
                         "interval_p99_ms": round(got["interval_p99_ms"], 3),
                         "line_p99_ms": round(got["line_p99_ms"], 3),
                         "send_interval_std_ms": round(out["interval_std_ms"], 3),
                         "send_interval_p99_ms": round(out["interval_p99_ms"], 3),
                         "send_line_p99_ms": round(out["line_p99_ms"], 3)})
        proc.stdin.write("QUIT\n")
        proc.stdin.flush()
        proc.wait(10)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if ctx is not None:
            ctx.release()
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return rows


CLOCK_OUT_COLUMNS = ["period", "bpm", "pulses", "lost", "xruns", "start_stop", "tempo_err_bpm",
                     "interval_std_ms", "interval_p99_ms", "line_p99_ms", "send_interval_std_ms",
                     "send_interval_p99_ms", "send_line_p99_ms"]


def clock_out_section(quick: bool) -> list[dict]:
    """Part 4 at JACK periods 256 and 64."""
    seconds = 4.0 if quick else 8.0
    return [row for period in (256, 64)
            for row in measure_clock_out(period, (90.0, 128.0, 174.0), seconds)]


def run_session(period: int, quick: bool, full: bool) -> dict:
    """One JACK dummy server with `period` frames; latency always, rate and clock if `full`."""
    from live.audio.devices import JackDummyServer

    server = JackDummyServer(name=f"echoel-midibench-{os.getpid()}-{period}", period=period).start()
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ.update(server.env)  # this process's rtmidi clients use the same server
    proc = rig = None
    out: dict = {"period": period}
    try:
        proc = subprocess.Popen([sys.executable, "-c", SENDER], env=server.env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline().strip() == "READY"
        rig = Rig()
        rig.run(0.6, lambda done: None)  # the scanner opens the sender's port
        if not rig.midi.port_names:
            raise RuntimeError("the sender's port was not opened")
        out["latency"] = measure_latency(rig, proc, 150 if quick else 600)
        if full:
            seconds = 1.0 if quick else 2.0
            out["rates"] = [measure_rate(rig, proc, r, seconds) for r in (2000, 4000, 8000)]
            out["clock"] = [measure_clock(rig, proc, bpm, 5.0 if quick else 8.0)
                            for bpm in (90.0, 128.0, 174.0)]
        proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
        proc.stdin.flush()
        proc.wait(10)
    finally:
        if rig is not None:
            rig.close()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer messages and shorter clock runs")
    ap.add_argument("--section", choices=("all", "clock-out"), default="all",
                    help="clock-out: only the MIDI clock out part, printed, no results file")
    args = ap.parse_args(argv)
    from live.audio.devices import JackUnavailableError

    if args.section == "clock-out":
        try:
            rows = clock_out_section(args.quick)
        except JackUnavailableError as exc:
            print(f"no JACK dummy server: {exc}")
            return 1
        print("MIDI clock out, as received by another process (JACK period in frames at 48 kHz)")
        print_table(rows, CLOCK_OUT_COLUMNS)
        return 0
    try:
        clock_out = clock_out_section(args.quick)
        main_run = run_session(256, args.quick, full=True)
        mid = run_session(128, args.quick, full=False)
        small = run_session(64, args.quick, full=False)
    except JackUnavailableError as exc:
        print(f"no JACK dummy server: {exc}")
        return 1
    lat, rates, clocks = main_run["latency"], main_run["rates"], main_run["clock"]
    lat64, lat128 = small["latency"], mid["latency"]
    cols = ["period", "messages", "matched", "p50_ms", "p99_ms", "max_ms", "p99_on_time_ms",
            "late_frames", "frames"]
    print("CC to target, next rendered frame at 60 fps (JACK period in frames at 48 kHz)")
    print_table([dict(lat, period=256), dict(lat128, period=128), dict(lat64, period=64)], cols)
    print("\nSustained paced rate (period 256)")
    print_table(rates, ["rate", "sent", "received", "lost", "dropped"])
    print("\nMIDI clock following (period 256)")
    print_table(clocks, ["bpm", "frames", "tempo_err_mean_bpm", "tempo_err_max_bpm", "phase_mean_ms",
                         "phase_jitter_ms", "phase_max_abs_ms"])
    print("\nMIDI clock out, as received by another process (JACK period in frames at 48 kHz)")
    print_table(clock_out, CLOCK_OUT_COLUMNS)
    best_rate = max([r["rate"] for r in rates if r["lost"] == 0], default=0)
    metrics = {"latency": lat, "latency_period_128": lat128, "latency_period_64": lat64, "rates": rates, "clock": clocks,
               "clock_out": clock_out,
               "max_rate_without_loss": best_rate, "jack": {"rate": 48000, "period": 256},
               "fps": FPS}
    budget_ms = round(FRAME * 1000 + 3.0, 2)
    # Judged at 64 frames; 128 and 256 are shown against the same figure for comparison.
    targets = {"cc_to_frame_p99_ms_period_64": target("<=", budget_ms, lat64["p99_ms"]),
               "cc_to_frame_p99_ms_period_128": target("<=", budget_ms, lat128["p99_ms"]),
               "cc_to_frame_p99_ms_period_256": target("<=", budget_ms, lat["p99_ms"]),
               "sustained_rate_msg_s": target(">=", 2000, best_rate)}
    for c in clocks:
        targets[f"clock_{int(c['bpm'])}_tempo_err_mean_bpm"] = target("<=", 0.5, c["tempo_err_mean_bpm"])
    for c in clock_out:
        if c["period"] == 256:
            targets[f"clock_out_{int(c['bpm'])}_tempo_err_bpm"] = target("<=", 0.5, c["tempo_err_bpm"])
    # At 64 frames jackd reports xruns on a loaded 2-core machine, and JACK drops the MIDI of a
    # missed cycle: losses there are shown (with the xruns) but not judged.
    targets["clock_out_pulses_lost_period_256"] = target(
        "<=", 0, sum(c["lost"] for c in clock_out if c["period"] == 256))
    path = write_result("midi_latency", metrics, targets)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

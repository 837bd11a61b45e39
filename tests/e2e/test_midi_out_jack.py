"""MIDI out (LED feedback, MIDI clock out) between two processes through JACK MIDI on a dummy
server started by the test.

The container has no ALSA sequencer, so every side uses python-rtmidi's JACK API. One process
plays the controller: it opens a virtual input port and a virtual output port named like a
shipped controller (Akai APC40 mkII, Novation Launch Control XL, Korg nanoKONTROL2), so that
profile's ``[controller] ports`` match them, records every byte the engine sends it, and presses
buttons when the test says so. The engine side runs in a second process: a real `Engine`
(headless GL, 16x16), a `Show` with a three-entry set list and `attach_controllers` with a config
file that loads the profile, at 60 frames per second — the same wiring as ``echoel live``. A
third process receives MIDI clock out.

What the controller must see, with the LEDs, buttons and values read from the profile file
(none of the shipped profiles has a panic or layer LED):

- every LED set to the show's state as soon as its port appears, and (APC40 mkII) again after
  the device was unplugged and plugged back in;
- a toggle button (blackout, freeze) pressed on the controller lights its LED, pressed again
  unlights it;
- a scene button moves the lit scene LED to the set-list entry it picked;
- the beat LED blinks (APC40 mkII: once per beat for 3 s, on the beat, at the scene's tempo);
- values only on change: a steady show sends nothing; on close every LED goes off.

MIDI clock out: the engine plays a scene at 90, 128 and 174 bpm in turn (each a show of its own,
started and stopped); the receiver must see Start, 24 pulses per beat at that tempo (within
0.5 bpm, measured over the pulses' JACK arrival times), every pulse the engine sent, then Stop.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from live.audio.devices import JackDummyServer, JackUnavailableError
from live.modulation.mapping_files import find_mapping_file, load_mapping_file
from live.testing import JACK_MIDI_RECEIVER, spawn_python, wait_line

pytestmark = [pytest.mark.timeout(150), pytest.mark.gl]

#: The shipped profiles played, each with the device name its [controller] ports match. The
#: APC40 mkII gets the whole test (beat blink timing, unplug/replug); the others the state LEDs.
PROFILES = {"apc40-mk2": "APC40 mkII", "launch-control-xl": "Launch Control XL",
            "nanokontrol2": "nanoKONTROL2"}


@dataclass(frozen=True)
class Led:
    """One LED of the profile, as the controller sees it: status byte, number, on/off values."""

    status: int
    number: int
    on: int
    off: int


@dataclass(frozen=True)
class ProfileLeds:
    """What the test expects of the profile's LEDs and which buttons drive them (from the file)."""

    scenes: dict[int, Led]               # set-list entry -> its LED
    scene_buttons: dict[int, list[int]]  # set-list entry -> the press that picks it
    toggles: dict[str, tuple[Led, list[int]]]  # master.blackout/freeze -> LED, press
    beat: Led
    all: tuple[Led, ...]


def _press(source: str) -> list[int]:
    """The MIDI bytes a press of binding source midi.<alias>.note|cc.<ch>.<n> sends."""
    kind, ch, number = source.split(".")[-3:]
    return [(0x90 if kind == "note" else 0xB0) | (int(ch) - 1), int(number), 127]


def _release(press: list[int]) -> list[int]:
    return [0x80 | (press[0] & 0x0F), press[1], 0] if press[0] & 0xF0 == 0x90 else [press[0], press[1], 0]


def _profile_leds(profile: str) -> ProfileLeds:
    mf = load_mapping_file(find_mapping_file(profile))
    leds = {fb: Led(fb.message(0)[0], fb.number, fb.on, fb.off) for fb in mf.feedback}
    scenes = {fb.entry: led for fb, led in leds.items() if fb.state == "scene.goto"}
    buttons = {round(b.mapping.range[1]): _press(b.mapping.source) for b in mf.bindings
               if b.mapping.target == "scene.goto"}
    toggles = {}
    for fb, led in leds.items():
        for b in mf.bindings:
            if b.mapping.target == fb.state and b.mapping.transform.button == "toggle":
                toggles[fb.state] = (led, _press(b.mapping.source))
    beat = next(led for fb, led in leds.items() if fb.state == "beat")
    return ProfileLeds(scenes, buttons, toggles, beat, tuple(leds.values()))


# The controller: a virtual device named like a shipped controller (argv[1]). Commands on stdin:
# "SEND b b b", "DUMP" (prints the messages received so far), "UNPLUG", "PLUG", "QUIT".
CONTROLLER = r"""
import json, sys, threading, time
import rtmidi
api = rtmidi.API_UNIX_JACK
received, lock = [], threading.Lock()

def on_message(event, _data):
    with lock:
        received.append([time.monotonic(), event[0]])

def plug():
    # Both ports of the device appear, as when it is plugged in.
    leds = rtmidi.MidiIn(api, name=sys.argv[1])
    leds.ignore_types(sysex=False, timing=False, active_sense=False)
    leds.set_callback(on_message)
    leds.open_virtual_port(sys.argv[1] + " in")
    buttons = rtmidi.MidiOut(api, name=sys.argv[1] + " ctl")
    buttons.open_virtual_port(sys.argv[1] + " out")
    return leds, buttons

def unplug(ports):
    for port in ports:
        port.close_port()
        port.delete()

ports = plug()
print("READY", flush=True)
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "SEND":
        ports[1].send_message([int(a) for a in args])
        print("SENT", flush=True)
    elif cmd == "DUMP":
        with lock:
            print("DUMP " + json.dumps(received), flush=True)
    elif cmd == "UNPLUG":
        unplug(ports)
        print("UNPLUGGED", flush=True)
    elif cmd == "PLUG":
        ports = plug()
        print("PLUGGED", flush=True)
    elif cmd == "QUIT":
        break
unplug(ports)
"""

# The engine side: argv = mode ("leds" or "clock"), config file, scene files. "leds": one show
# over the scenes as a set list until "QUIT" on stdin; prints a STATE line whenever the open MIDI
# ports (LED outputs, inputs), the MIDI messages received, the MIDI signals held above 0 on the
# bus, the set-list entry, blackout, freeze or the beat's anchor change. "clock": one show
# per scene (each a tempo), SECONDS each, with controllers attached and stopped around it.
ENGINE = r"""
import json, sys, threading, time
from pathlib import Path
from live.clock import WallClock
from live.config import load_config
from live.control.controllers import attach_controllers
from live.engine import Engine
from live.render.context import GLUnavailableError, create_headless_context
from live.render.outputs.timing import FramePacer
from live.setlist import SetList
from live.show import Show

mode, config, seconds, *scenes = sys.argv[1:]
clock = WallClock()
origin = time.monotonic() - clock.now()   # WallClock time 0 in time.monotonic()
try:
    ctx = create_headless_context()
except GLUnavailableError as exc:
    print("NOGL " + str(exc), flush=True)
    sys.exit(0)
quit_ = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), quit_.set()), daemon=True).start()

def state(show, ctl):
    eng = show.engine
    return {"out": [n for led in ctl.leds for n in led.ports.names], "in": ctl.midi.port_names,
            "events": ctl.midi.stats.as_dict()["messages"], "entry": show.index + 1,
            "held": sorted(k for k, v in eng.signals.snapshot().items()
                           if k.startswith("midi.") and v > 0),
            "blackout": eng.blackout, "freeze": eng.freeze, "bpm": eng.beat.bpm,
            "beat0": round(origin + eng.beat.time_of_beat(0.0), 4)}

def run(show, ctl, until):
    pacer, last = FramePacer(clock, 60.0), None
    while not until():
        show.record_frame(show.step(), pacer.wait())
        now = state(show, ctl)
        if now != last:
            print("STATE " + json.dumps(now), flush=True)
            last = now

cfg = load_config(config)
if mode == "leds":
    engine = Engine(ctx, (16, 16), clock)
    show = Show(engine, SetList("e2e", tuple(Path(s) for s in scenes)), fade=0.0)
    show.start()
    ctl = attach_controllers(show, cfg)
    print("READY", flush=True)
    run(show, ctl, quit_.is_set)
    ctl.stop()
    show.close()
    print("BYE", flush=True)
else:
    cycles = []
    for scene in scenes:
        engine = Engine(ctx, (16, 16), clock)
        show = Show(engine, SetList("e2e", (Path(scene),)), fade=0.0)
        show.start()
        ctl = attach_controllers(show, cfg)
        beat_start = engine.beat.beat_at(clock.now())
        end = clock.now() + float(seconds)
        run(show, ctl, lambda: clock.now() >= end)
        before = engine.beat.beat_at(clock.now()) - beat_start
        ctl.stop()
        after = engine.beat.beat_at(clock.now()) - beat_start
        cycles.append({"bpm": engine.beat.bpm, "sent": ctl.clock_out.pulses,
                       "beats": [before, after]})
        show.close()
        engine.release()
    print("CYCLES " + json.dumps(cycles), flush=True)
"""


def _scene(path: Path, name: str, bpm: float) -> Path:
    path.write_text(f"""schema = 1
[scene]
name = "{name}"
bpm = {bpm}
[[layers]]
id = "g"
kind = "shader"
source = "generators/gradient"
params = {{ speed = 0.25, brightness = 0.45, hue = 0.68, spread = 0.18 }}
""")
    return path


@pytest.fixture
def jack():
    pytest.importorskip("rtmidi", reason="python-rtmidi not installed")
    try:
        server = JackDummyServer(name=f"echoel-midiout-{os.getpid()}").start()
    except JackUnavailableError as exc:
        pytest.skip(f"no JACK dummy server: {exc}")
    yield server
    server.stop()


class Child:
    """A child process speaking the line protocol above (main thread of the test)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc

    def say(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def ask(self, line: str, answer: str, timeout: float = 20.0) -> str:
        self.say(line)
        return wait_line(self.proc, answer, timeout)[len(answer):].strip()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.say("QUIT")
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(15)  # JACK clients close cleanly before jackd stops
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _spawn(code: str, *args: str, env: dict) -> Child:
    return Child(spawn_python(code, *args, env=env, stdin=subprocess.PIPE))


Key = tuple[int, int]  # an LED as the controller sees it: (status byte, number)


def _key(led: Led) -> Key:
    return (led.status, led.number)


def _received(controller: Child) -> list[tuple[float, Key, int]]:
    """(arrival time, LED, value) of every message the controller received so far."""
    raw = json.loads(controller.ask("DUMP", "DUMP"))
    return [(t, (msg[0], msg[1]), msg[2]) for t, msg in raw if len(msg) == 3]


def _wait_for(what: str, check: Callable[[], object], timeout: float = 20.0,
              detail: Callable[[], object] = lambda: ""):
    """Poll `check` until it returns something true; fail naming `what` (and `detail()`) after
    `timeout`."""


    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {detail()}")
        time.sleep(0.05)


def _current(received: list[tuple[float, Key, int]], since: float = 0.0) -> dict[Key, int]:
    """The value each LED was last set to among the messages received after `since`."""
    return {key: value for t, key, value in received if t >= since}


@pytest.mark.parametrize("name", list(PROFILES))
def test_led_feedback_through_jack(jack, tmp_path, name):
    full = name == "apc40-mk2"
    profile = _profile_leds(name)
    assert 3 in profile.scenes and 3 in profile.scene_buttons and profile.toggles, profile
    everything = {_key(led) for led in profile.all}
    scenes = [_scene(tmp_path / f"{i}-{n}.toml", n, 120) for i, n in enumerate(("one", "two", "three"))]
    config = tmp_path / "config.toml"
    config.write_text(f'[midi]\napi = "jack"\nlearned = "{tmp_path / "learned.toml"}"\n'
                      f'[mappings]\nfiles = ["{name}"]\n')
    controller = _spawn(CONTROLLER, PROFILES[name], env=jack.env)
    engine = None
    states: list[dict] = []
    try:
        wait_line(controller.proc, "READY")
        engine = _spawn(ENGINE, "leds", str(config), "0", *map(str, scenes), env=jack.env)
        first = wait_line(engine.proc, "", timeout=60)
        if first.startswith("NOGL"):
            pytest.skip(f"no OpenGL: {first}")
        assert first == "READY", first

        def read_engine() -> None:  # STATE lines, collected so the test can poll them
            for line in engine.proc.stdout:
                if line.startswith("STATE "):
                    states.append(json.loads(line[6:]))

        reader = threading.Thread(target=read_engine, daemon=True)
        reader.start()

        def detail() -> str:
            return f"engine states {states[-3:]}, controller got {_received(controller)[-12:]}"

        def all_set(since: float = 0.0) -> dict[Key, int] | None:
            now = _current(_received(controller), since)
            return now if set(now) >= everything else None

        def shows_entry(now: dict[Key, int], entry: int) -> bool:
            return all(now[_key(led)] == (led.on if e == entry else led.off)
                       for e, led in profile.scenes.items())

        # 1. The port appeared: every LED shows the show's state (entry 1, toggles off).
        now = _wait_for("every LED set", all_set, detail=detail)
        assert shows_entry(now, 1), now
        for led, _ in profile.toggles.values():
            assert now[_key(led)] == led.off, now

        # 2. The beat LED blinks once per beat at 120 bpm, on the beat.
        beat_key, beat_on = _key(profile.beat), profile.beat.on
        if not full:
            _wait_for("the beat LED to blink", lambda: any(
                k == beat_key and v == beat_on for _, k, v in _received(controller)), detail=detail)
        else:
            t_from = time.monotonic()
            _wait_for("3 s of blinking", lambda: time.monotonic() > t_from + 3.0, timeout=10)
            received = _received(controller)
            ons = [t for t, k, v in received if k == beat_key and v == beat_on and t >= t_from]
            offs = [t for t, k, v in received if k == beat_key and v != beat_on and t >= t_from]
            span = time.monotonic() - t_from
            assert abs(len(ons) - span * 2.0) <= 1.5, (len(ons), span)
            assert abs(len(offs) - len(ons)) <= 1, (ons, offs)
            gaps = sorted(b - a for a, b in itertools.pairwise(ons))
            assert gaps[len(gaps) // 2] == pytest.approx(0.5, abs=0.03), gaps  # median: one beat
            beat = states[-1]
            period = 60.0 / beat["bpm"]
            lag = sorted((t - beat["beat0"]) % period for t in ons)
            # Lit within a frame or two (plus a JACK period) after the beat; a loaded machine holds
            # a frame back now and then, so the median is judged, and every blink within 1/4 beat.
            assert lag[len(lag) // 2] < 0.045, lag
            assert lag[-1] < 0.25 * period, lag

        # 3. Toggles pressed on the controller light their LED; pressed again, unlight it. The
        # button is held until its LED answers, as a hand holds it for several frames (a press
        # and release inside one frame reach the bus as "released" only: see the report).
        def send(data: list[int]) -> None:
            controller.ask("SEND " + " ".join(map(str, data)), "SENT")
            released = data[0] & 0xF0 == 0x80 or data[2] == 0
            _wait_for(f"the engine to see {data}", lambda: bool(states[-1]["held"]) != released,
                      detail=detail)

        for state, (led, press) in profile.toggles.items():
            for lit in (True, False):
                mark = time.monotonic()
                send(press)
                want = led.on if lit else led.off
                _wait_for(f"{state} LED = {want}", lambda led=led, want=want, mark=mark:
                          _current(_received(controller), mark).get(_key(led)) == want, detail=detail)
                send(_release(press))
                _wait_for(f"{state} = {lit}", lambda state=state, lit=lit:
                          states[-1][state.split(".")[1]] is lit, detail=detail)

        # 4. The scene button of entry 3 goes there: its LED lights, entry 1's goes out.
        send(profile.scene_buttons[3])
        _wait_for("entry 3 playing", lambda: states[-1]["entry"] == 3, detail=detail)
        send(_release(profile.scene_buttons[3]))
        _wait_for("scene LEDs showing entry 3",
                  lambda: shows_entry(_current(_received(controller)), 3), detail=detail)

        # 5. Unplugged and plugged back in: the engine drops the port, reopens it, and sends
        # every LED again with the show's current state.
        if full:
            controller.ask("UNPLUG", "UNPLUGGED")
            _wait_for("the engine to drop the port", lambda: states[-1]["out"] == [], detail=detail)
            mark = time.monotonic()
            controller.ask("PLUG", "PLUGGED")
            again = _wait_for("every LED sent again", lambda: all_set(mark), detail=detail)
            assert shows_entry(again, 3), again
            for led, _ in profile.toggles.values():
                assert again[_key(led)] == led.off, again

        # 6. Closing the show switches every LED off.
        engine.say("QUIT")
        engine.proc.wait(30)
        reader.join(10)
        received = _received(controller)
    finally:
        if engine is not None:
            engine.close()
        controller.close()
    assert engine.proc.returncode == 0, engine.proc.stderr.read()[-3000:]
    last = _current(received)
    assert all(last[_key(led)] == led.off for led in profile.all), last
    # Nothing floods: outside the full refreshes (port opened, reopened) an LED is sent only when
    # its value changes, so no LED repeats its previous value more often than that.
    refreshes = 2 if full else 1
    for led in profile.all:
        values = [v for _, k, v in received if k == _key(led)]
        repeats = sum(a == b for a, b in itertools.pairwise(values))
        assert repeats <= refreshes, (led, values)
    # Count of the non-beat LEDs: the refreshes and the close, plus the changes the test made
    # (two per toggle press pair, two for the scene change).
    steady = sum(1 for _, k, _ in received if k != _key(profile.beat))
    assert steady <= (refreshes + 1) * (len(profile.all) - 1) + 4 * len(profile.toggles) + 2, steady


def test_midi_clock_out_through_jack(jack, tmp_path):
    tempos = (90.0, 128.0, 174.0)
    seconds = 4.0
    scenes = [_scene(tmp_path / f"t{int(b)}.toml", f"t{int(b)}", b) for b in tempos]
    config = tmp_path / "config.toml"
    config.write_text(f'[midi]\napi = "jack"\nclock_out = "*e2e-clock*"\n'
                      f'learned = "{tmp_path / "learned.toml"}"\n[mappings]\nfiles = []\n')
    receiver = _spawn(JACK_MIDI_RECEIVER, "e2e-clock", env=jack.env)
    engine = None
    xruns = jack.xrun_count()
    try:
        wait_line(receiver.proc, "READY")
        engine = _spawn(ENGINE, "clock", str(config), str(seconds), *map(str, scenes), env=jack.env)
        line = None
        deadline = time.monotonic() + 60 + len(tempos) * seconds * 3
        while time.monotonic() < deadline:
            line = engine.proc.stdout.readline()
            if not line or line.startswith(("CYCLES", "NOGL")):
                break
        if line and line.startswith("NOGL"):
            pytest.skip(f"no OpenGL: {line.strip()}")
        assert line and line.startswith("CYCLES"), engine.proc.stderr.read()[-3000:]
        cycles = json.loads(line[len("CYCLES"):])
        received: list = []

        def stopped() -> list | None:  # the last Stop crosses JACK a period or two later
            received.extend(json.loads(receiver.ask("DUMP", "DUMP")))
            return received if received and received[-1][1] == 0xFC else None

        events = _wait_for("Stop to arrive", stopped)
    finally:
        if engine is not None:
            engine.close()
        receiver.close()
    xruns = jack.xrun_count() - xruns
    # Split the stream at Start (0xFA): one run per tempo, each Start, pulses, Stop.
    runs: list[list[tuple[float, int]]] = []
    for t, status in events:
        if status == 0xFA:
            runs.append([])
        assert runs, f"a message {status:#x} before the first Start"
        runs[-1].append((t, status))
    assert len(runs) == len(tempos), [len(r) for r in runs]
    for bpm, run, cycle in zip(tempos, runs, cycles, strict=True):
        assert cycle["bpm"] == bpm
        kinds = [s for _, s in run]
        assert kinds[0] == 0xFA and kinds[-1] == 0xFC and kinds.count(0xFC) == 1, (bpm, kinds[-5:])
        pulses = [t for t, s in run if s == 0xF8]
        # No pulse lost in transport, and none skipped by the sender: as many as the BeatClock's
        # beats in that time (give or take a pulse at either end, where start/stop cut in).
        # JACK drops the MIDI of a cycle a client missed (an xrun, reported by jackd): only then
        # may a pulse be missing.
        lost = cycle["sent"] - len(pulses)
        assert lost == 0 or 0 < lost <= xruns, (bpm, len(pulses), cycle, xruns)
        before, after = cycle["beats"]
        assert 24 * before - 2 <= cycle["sent"] <= 24 * after + 2, (bpm, cycle)
        # Tempo: least-squares slope of arrival time against pulse number. Only when JACK
        # dropped pulses is each pulse numbered by its gap to the one before (so the lost one
        # does not shift the rest); otherwise a pulse held back on a busy machine and the next
        # one sent at once would look like a gap.
        ideal = 60.0 / bpm / 24
        index = list(range(len(pulses)))
        if lost:
            index = [0]
            for a, b in itertools.pairwise(pulses):
                index.append(index[-1] + max(1, round((b - a) / ideal)))
        mean_i, mean_t = statistics.fmean(index), statistics.fmean(pulses)
        slope = (sum((i - mean_i) * (t - mean_t) for i, t in zip(index, pulses, strict=True))
                 / sum((i - mean_i) ** 2 for i in index))
        measured = 60.0 / (24 * slope)
        assert measured == pytest.approx(bpm, abs=0.5), (bpm, measured)

"""Controllers on a real engine (headless GL): MIDI bytes to pixels, controller profiles joining
scenes, show commands, global targets that act only on change, LED feedback, tempo from MIDI
clock. MIDI arrives through `MidiInput.inject`, the same parser and decoder as real ports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live.clock import ManualClock
from live.control.controllers import Controllers, ControlSettings
from live.control.midi import MidiInput
from live.engine import Engine
from live.modulation.mapping_files import MappingFileError, parse_mapping_file
from live.render.shader_source import default_search_roots
from live.scene import parse_scene

pytestmark = pytest.mark.gl

ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]
SCENE = """schema = 1
[scene]
name = "{name}"
bpm = 120
[[layers]]
id = "a"
kind = "shader"
source = "e/solid"
params = {{ color = [1.0, 1.0, 1.0, 1.0] }}
{extra}
"""
PROFILE = """schema = 1
[controller]
name = "Pad"
ports = ["*Pad*"]
alias = "pad"
[[bindings]]
source = "midi.pad.cc.1.7"
target = "master.dimmer"
[[bindings]]
source = "midi.pad.note.1.82"
target = "scene.next"
button = "trigger"
[[bindings]]
source = "midi.pad.note.1.81"
target = "master.blackout"
button = "toggle"
[[bindings]]
source = "midi.pad.cc.1.16"
target = "layers.a.level"
encoder = "twos_complement"
sensitivity = 0.25
"""


class FakeLeds:
    """Collects what LedFeedback would send to the controller."""

    def __init__(self) -> None:
        self.sent: list[list[int]] = []
        self.on_open = None

    def send(self, data, port=None) -> None:
        self.sent.append(list(data))


@pytest.fixture
def rig(ctx, tmp_path):
    clock = ManualClock()
    engine = Engine(ctx, (16, 16), clock, shader_roots=ROOTS)
    profile = tmp_path / "pad.toml"
    profile.write_text(PROFILE + '[[feedback]]\nstate = "master.blackout"\nsend = "note.1.81"\non = 1\n')
    midi = MidiInput(clock)
    posted: list = []
    settings = ControlSettings(midi=True, mapping_files=[profile], learned=tmp_path / "learned.toml")
    controls = Controllers(engine, settings, midi_input=midi, post=lambda n, v: posted.append((n, v)))
    leds = FakeLeds()
    controls.leds[0].ports = leds
    engine.controls = controls
    yield engine, midi, posted, leds, clock
    engine.release()


def tick(engine, clock, n: int = 1) -> np.ndarray:
    for _ in range(n):
        clock.advance(1 / 60)
        engine.tick()
    return engine.read_rgba().astype(np.float64) / 255.0


def test_midi_drives_targets_through_profile_bindings(rig):
    engine, midi, _, _, clock = rig
    engine.load_scene(parse_scene(SCENE.format(name="s", extra="")))
    img = tick(engine, clock)
    assert img[..., 0].mean() == pytest.approx(1.0, abs=1 / 255)  # untouched fader: no change
    midi.inject([0xB0, 7, 64], alias="pad")
    img = tick(engine, clock)
    assert engine.dimmer == pytest.approx(64 / 127)
    assert img[..., 0].mean() == pytest.approx(64 / 127, abs=1.5 / 255)
    # Relative encoder steps move the layer parameter in quarters: +1 +1 -> 0.5, -1 -> 0.25.
    midi.inject([0xB0, 16, 1, 0xB0, 16, 1], alias="pad")
    tick(engine, clock)
    midi.inject([0xB0, 16, 127], alias="pad")
    img = tick(engine, clock)
    assert img[..., 0].mean() == pytest.approx(0.25 * 64 / 127, abs=1.5 / 255)


def test_commands_fire_once_per_press_and_keys_are_not_overridden(rig):
    engine, midi, posted, leds, clock = rig
    engine.load_scene(parse_scene(SCENE.format(name="s", extra="")))
    midi.inject([0x90, 82, 127], alias="pad")
    tick(engine, clock, 3)  # held for three frames
    midi.inject([0x80, 82, 0], alias="pad")
    tick(engine, clock)
    midi.inject([0x90, 82, 100], alias="pad")
    tick(engine, clock)
    assert posted == [("scene.next", None), ("scene.next", None)]
    midi.inject([0x90, 81, 127], alias="pad")
    tick(engine, clock)
    assert engine.blackout
    tick(engine, clock)  # LEDs show the state the previous frame ended with
    assert leds.sent[-1] == [0x90, 81, 1]
    engine.blackout = False  # the keyboard's B turns it off again ...
    midi.inject([0x80, 81, 0], alias="pad")
    tick(engine, clock, 2)
    assert not engine.blackout  # ... and the toggle mapping does not force it back every frame
    assert leds.sent[-1] == [0x90, 81, 0]


def test_scene_mappings_and_profile_bindings_combine_and_declare_14_bit(rig):
    engine, midi, _, _, clock = rig
    extra = ('[[mappings]]\nsource = "midi.cc.2.1"\ntarget = "layers.a.level"\nbits = 14\n')
    engine.load_scene(parse_scene(SCENE.format(name="s", extra=extra)))
    midi.inject([0xB1, 1, 0x40, 0xB1, 33, 0x00])
    tick(engine, clock)
    assert engine.signals.get("midi.cc.2.1") == pytest.approx((0x40 << 7) / 16383)


def test_a_scene_restricted_binding_with_a_typo_fails_the_scene_load(rig, tmp_path):
    engine = rig[0]
    bad = parse_mapping_file('schema = 1\n[[bindings]]\nsource = "audio.bass"\n'
                             'target = "layers.aa.level"\nscene = "s"\n', tmp_path / "x.toml")
    engine.controls.files.append(bad)
    with pytest.raises(MappingFileError) as info:
        engine.load_scene(parse_scene(SCENE.format(name="s", extra="")))
    assert "x.toml:2" in str(info.value) and "did you mean 'a'?" in str(info.value)


def test_midi_clock_drives_the_beat_clock(rig):
    engine, midi, _, _, clock = rig
    engine.load_scene(parse_scene(SCENE.format(name="s", extra="")))
    step = 60.0 / 140 / 24
    midi.inject([0xFA], t=0.0)
    t = 0.0
    for k in range(72):
        t = 0.5 + k * step
        midi.inject([0xF8], t=t)
    clock.set(t)
    engine.tick()
    assert engine.beat.source == "midi_clock" and engine.beat.bpm == pytest.approx(140.0)
    assert engine.signals.get("tempo.source.midi_clock") == 1.0
    assert engine.parts.get("tempo").reason.startswith("source: midi_clock")

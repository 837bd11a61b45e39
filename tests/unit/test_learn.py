"""MIDI learn: arming, the first moved control, the file written with comments kept, and the
binding working in the running scene at once (through `Controllers`, with a stand-in engine)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import tomlkit

from live.clock import BeatClock, ManualClock
from live.control.controllers import Controllers, ControlSettings
from live.control.learn import (
    LearnedBinding,
    MidiLearn,
    button_mode_for,
    learned_path,
    write_binding,
)
from live.control.midi import MidiDecoder, MidiInput, MidiParser
from live.health.registry import PartRegistry
from live.modulation.mapping_files import load_mapping_file
from live.modulation.mappings import MappingSet
from live.modulation.signals import SignalBus
from live.scene import parse_scene


def feed(learn: MidiLearn, data, alias=None) -> None:
    dec = MidiDecoder(SignalBus())
    dec.learn_listeners.append(learn.on_message)
    for msg in MidiParser().feed(data):
        dec.handle(msg, 0.0, alias)


def test_the_first_moved_control_binds_and_disarms(tmp_path):
    learn = MidiLearn(tmp_path / "learned.toml")
    feed(learn, [0xB0, 7, 3])  # not armed: nothing happens
    assert learn.take() == []
    learn.arm("master.dimmer")
    assert learn.armed == "master.dimmer"
    feed(learn, [0xE0, 0, 64, 0xC0, 3, 0x90, 60, 0, 0xB2, 21, 90, 0xB0, 7, 1], alias="apc40")
    assert learn.take() == [LearnedBinding("midi.apc40.cc.3.21", "master.dimmer")]
    assert learn.armed is None
    assert learn.wait_written()
    text = (tmp_path / "learned.toml").read_text()
    assert 'source = "midi.apc40.cc.3.21"' in text and text.startswith("# Learned MIDI bindings")
    assert load_mapping_file(tmp_path / "learned.toml").bindings[0].mapping.target == "master.dimmer"


@pytest.mark.parametrize(("target", "mode"), [
    ("master.blackout", "toggle"), ("layers.a.enabled", "toggle"), ("scene.next", "trigger"),
    ("tempo.tap", "trigger"), ("layers.a.speed", "momentary"), ("master.dimmer", "momentary")])
def test_a_learned_note_gets_the_button_mode_its_target_needs(tmp_path, target, mode):
    assert button_mode_for(target) == mode
    learn = MidiLearn(tmp_path / "l.toml")
    learn.arm(target)
    feed(learn, [0x91, 82, 127])
    assert learn.take() == [LearnedBinding("midi.note.2.82", target, mode)]
    learn.wait_written()


def test_cancel_disarms():
    learn = MidiLearn(Path("/nonexistent/never-written.toml"))
    learn.arm("master.dimmer")
    learn.cancel()
    feed(learn, [0xB0, 1, 1])
    assert learn.take() == [] and learn.armed is None


def test_writing_keeps_comments_and_replaces_a_relearned_target_in_place(tmp_path):
    path = tmp_path / "learned.toml"
    path.write_text('# my show bindings\nschema = 1\n\n[[bindings]]  # the big fader\n'
                    'source = "midi.cc.1.7"\ntarget = "master.dimmer"  # keep this comment\n\n'
                    '[[bindings]]\nsource = "midi.cc.1.9"\ntarget = "tempo.bpm"\nrange = [60, 180]\n'
                    '# trailing note\n')
    write_binding(path, LearnedBinding("midi.nano.cc.1.0", "master.dimmer"))
    write_binding(path, LearnedBinding("midi.note.1.60", "master.blackout", "toggle"))
    text = path.read_text()
    for kept in ("# my show bindings", "# the big fader", "# keep this comment", "# trailing note",
                 "range = [60, 180]"):
        assert kept in text
    doc = tomlkit.parse(text)
    assert [(t["source"], t["target"]) for t in doc["bindings"]] == [
        ("midi.nano.cc.1.0", "master.dimmer"), ("midi.cc.1.9", "tempo.bpm"),
        ("midi.note.1.60", "master.blackout")]
    assert doc["bindings"][2]["button"] == "toggle"
    assert len(load_mapping_file(path).bindings) == 3


def test_a_broken_learned_file_is_left_alone(tmp_path):
    path = tmp_path / "learned.toml"
    path.write_text("schema = = 1\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        write_binding(path, LearnedBinding("midi.cc.1.1", "master.dimmer"))
    assert path.read_text() == "schema = = 1\n"
    learn = MidiLearn(path)
    learn.arm("master.dimmer")
    feed(learn, [0xB0, 1, 1])
    learn.wait_written()
    assert "not valid TOML" in learn.last_error


def test_learned_path_is_in_the_user_data_folder(tmp_path):
    assert learned_path(tmp_path) == tmp_path / "mappings" / "learned.toml"


class FakeEngine:
    """What `Controllers` reads from an engine, without GL: mappings are built for real."""

    def __init__(self, spec) -> None:
        self.clock = ManualClock(0.0)
        self.parts = PartRegistry(time_source=self.clock.now)
        self.signals = SignalBus()
        self.beat = BeatClock(120.0)
        self.blackout = self.freeze = self.panicked = False
        self.values: dict[str, float] = {}
        self.history: list[tuple[str, float]] = []
        layer = SimpleNamespace(id="a", enabled=True)
        mappings, setters = self.build_mappings(spec, {"a": layer})
        self.scene = SimpleNamespace(spec=spec, layers=[layer], mappings=mappings, setters=setters)

    def build_mappings(self, spec, layers):
        from live.modulation.mappings import Mapping

        controls = getattr(self, "controls", None)
        specs = [*spec.mappings, *(b.mapping for b in (controls.bindings_for(spec) if controls else []))]
        ms = MappingSet(Mapping(m.source, m.target, *m.range, m.transform) for m in specs)
        def setter(target):
            def apply(v):
                self.values[target] = v
                self.history.append((target, v))
            return apply
        return ms, [(t, setter(t)) for t in ms.targets]

    def tick(self) -> None:
        self.beat.update(self.clock.now())
        self.controls.publish(self)
        values = self.scene.mappings.evaluate(self.signals)
        for target, setter in self.scene.setters:
            if target in values:
                setter(values[target])
        self.signals.end_frame()


def test_learn_through_controllers_works_at_once_and_is_kept(tmp_path):
    spec = parse_scene('schema = 1\n[scene]\nname = "s"\n[[layers]]\nid = "a"\nkind = "shader"\n'
                       'source = "layers/solid"\n')
    engine = FakeEngine(spec)
    learned = tmp_path / "learned.toml"
    settings = ControlSettings(midi=True, learned=learned, mapping_files=[])
    midi = MidiInput(engine.clock)
    posted = []
    ctl = Controllers(engine, settings, midi_input=midi, post=lambda n, v: posted.append((n, v)))
    engine.controls = ctl
    with pytest.raises(ValueError, match="names no layer 'b'; layers in this scene: a"):
        ctl.learn("layers.b.speed")
    with pytest.raises(ValueError, match="did you mean 'master.dimmer'"):
        ctl.learn("master.dimer")
    ctl.learn("layers.a.speed")
    midi.inject([0xB0, 21, 64], alias="nano")
    engine.tick()
    engine.tick()  # the binding joins the running scene from the next frame
    midi.inject([0xB0, 21, 127], alias="nano")
    engine.tick()
    assert engine.values["layers.a.speed"] == 1.0
    ctl.learn("scene.next")
    midi.inject([0x90, 82, 127], alias="nano")
    engine.tick()
    midi.inject([0x80, 82, 0, 0x90, 82, 100], alias="nano")  # released and pressed again
    engine.tick()
    engine.tick()
    # A trigger (the engine fires scene.next on 1.0). The release and the new press came in one
    # frame: the release shows in that frame, the press in the next (one edge per frame), so
    # the trigger fires on the second frame.
    assert [v for t, v in engine.history if t == "scene.next"] == [0.0, 1.0]
    ctl.command("scene.next", 1.0)
    assert posted == [("scene.next", None)]
    ctl.learn_state.wait_written()
    bindings = load_mapping_file(learned).bindings
    assert [(b.mapping.source, b.mapping.target, b.scene) for b in bindings] == [
        ("midi.nano.cc.1.21", "layers.a.speed", "s"), ("midi.nano.note.1.82", "scene.next", None)]
    # A restart loads the learned file: the bindings are there without learning again.
    engine2 = FakeEngine(spec)
    ctl2 = Controllers(engine2, settings, midi_input=MidiInput(engine2.clock))
    assert [b.mapping.target for b in ctl2.bindings_for(spec)] == ["layers.a.speed", "scene.next"]

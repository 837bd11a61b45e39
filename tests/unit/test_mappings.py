"""MappingSet: combine modes, one source into several targets, untouched sources, MIDI decoding
declarations and conflicts, stateful chains across frames (no GL)."""

from __future__ import annotations

import pytest

from live.modulation.mappings import Mapping, MappingConflict, MappingSet
from live.modulation.signals import SignalBus
from live.modulation.transforms import FrameTime, TransformSpec


def bus_with(**values: float) -> SignalBus:
    bus = SignalBus()
    bus.update({k.replace("_", "."): v for k, v in values.items()})
    return bus


@pytest.mark.parametrize(("mode", "want"), [("sum", 0.9), ("max", 0.5), ("multiply", 0.2)])
def test_several_sources_into_one_target_combine_by_the_declared_mode(mode, want):
    bus = SignalBus()
    bus.update({"audio.bass": 0.4, "midi.cc.1.7": 0.5})
    t = TransformSpec(combine=mode)
    ms = MappingSet([Mapping("audio.bass", "layers.a.x", transform=t),
                     Mapping("midi.cc.1.7", "layers.a.x", transform=t)])
    assert ms.evaluate(bus)["layers.a.x"] == pytest.approx(want)
    assert ms.combine_modes == {"layers.a.x": mode}


def test_one_source_drives_several_targets_each_with_its_own_range():
    bus = SignalBus()
    bus.set("midi.cc.1.7", 0.5)
    ms = MappingSet([Mapping("midi.cc.1.7", "layers.a.speed", 0.0, 4.0),
                     Mapping("midi.cc.1.7", "layers.b.opacity", 1.0, 0.0),
                     Mapping("midi.cc.1.7", "master.dimmer")])
    assert ms.evaluate(bus) == {"layers.a.speed": 2.0, "layers.b.opacity": 0.5, "master.dimmer": 0.5}
    assert ms.targets == ["layers.a.speed", "layers.b.opacity", "master.dimmer"]


def test_a_source_never_seen_leaves_its_target_alone():
    bus = SignalBus()
    bus.set("audio.bass", 0.5)
    ms = MappingSet([Mapping("midi.cc.1.14", "master.dimmer"),
                     Mapping("midi.cc.1.7", "layers.a.x"), Mapping("audio.bass", "layers.a.x")])
    out = ms.evaluate(bus)
    assert "master.dimmer" not in out  # an untouched fader does not black the show out
    assert out == {"layers.a.x": 0.5}  # the contributing mapping alone
    bus.set("midi.cc.1.14", 0.0)  # the fader moved to 0: now it drives
    assert ms.evaluate(bus)["master.dimmer"] == 0.0


def test_disagreeing_combine_modes_are_refused_with_both_mappings_named():
    with pytest.raises(MappingConflict) as info:
        MappingSet([Mapping("audio.bass", "t"), Mapping("audio.mid", "u"),
                    Mapping("audio.treb", "t", transform=TransformSpec(combine="max"))])
    assert (info.value.first, info.value.second, info.value.key) == (0, 2, "combine")
    assert "'t'" in str(info.value) and "max" in str(info.value)


def test_a_controller_read_as_encoder_and_as_position_is_a_conflict():
    enc = TransformSpec(encoder="twos_complement")
    with pytest.raises(MappingConflict, match="read two ways") as info:
        MappingSet([Mapping("midi.cc.1.16", "a", transform=enc), Mapping("midi.cc.1.16", "b")])
    assert info.value.key == "encoder"
    # 7-bit and 14-bit readings of one controller agree (the 14-bit value is just finer).
    fine = MappingSet([Mapping("midi.cc.1.7", "a", transform=TransformSpec(bits=14)),
                       Mapping("midi.cc.1.7", "b")])
    assert fine.midi_declarations() == {"midi.cc.1.7": "cc14"}


def test_midi_declarations_list_encoders_and_14_bit_controllers():
    ms = MappingSet([
        Mapping("midi.apc.cc.1.16", "a", transform=TransformSpec(encoder="twos_complement")),
        Mapping("midi.cc.2.1", "b", transform=TransformSpec(bits=14)),
        Mapping("audio.bass", "c"),
    ])
    assert ms.midi_declarations() == {"midi.apc.cc.1.16": "twos_complement", "midi.cc.2.1": "cc14"}


def test_stateful_chains_keep_state_per_mapping_across_frames():
    bus = SignalBus()
    toggle = TransformSpec(button="toggle")
    ms = MappingSet([Mapping("midi.note.1.82", "master.blackout", transform=toggle),
                     Mapping("midi.note.1.82", "layers.a.enabled", transform=toggle)])
    seen = []
    for v in (1.0, 0.0, 1.0, 0.0):
        bus.set("midi.note.1.82", v)
        seen.append(ms.evaluate(bus, FrameTime(dt=1 / 60)))
    assert [s["master.blackout"] for s in seen] == [1.0, 1.0, 0.0, 0.0]
    assert seen[0]["layers.a.enabled"] == 1.0  # the second mapping toggled on its own state too


def test_smoothing_inside_the_set_follows_dt():
    bus = SignalBus()
    ms = MappingSet([Mapping("audio.bass", "x", transform=TransformSpec(attack=0.1))])
    bus.set("audio.bass", 0.0)
    ms.evaluate(bus, FrameTime(dt=0.0))
    bus.set("audio.bass", 1.0)
    y = ms.evaluate(bus, FrameTime(dt=0.1))["x"]
    assert y == pytest.approx(0.632120558, abs=1e-8)


# ------------------------------------------------------------------------------------------------
# Mapping files

from pathlib import Path

from live.modulation.mapping_files import (
    MappingFileError,
    bundled_mapping_dir,
    find_mapping_file,
    load_mapping_file,
    parse_mapping_file,
)
from live.scene import parse_scene

PROFILE = """schema = 1
[controller]
name = "Test pad"
ports = ["*Test Pad*"]
alias = "pad"

[[bindings]]
source = "midi.pad.cc.1.7"
target = "master.dimmer"
curve = "exp"

[[bindings]]
source = "midi.pad.cc.1.8"
target = "layers.tunnel.speed"
range = [0.1, 2.0]

[[bindings]]
source = "midi.pad.cc.1.9"
target = "layers.feedback.amount"
scene = "two"

[[feedback]]
state = "master.blackout"
send = "note.2.81"
on = 5
"""

SCENE = """schema = 1
[scene]
name = "{name}"
[[layers]]
id = "{layer}"
kind = "shader"
source = "layers/solid"
"""


def test_profile_bindings_join_the_scenes_that_can_take_them():
    mf = parse_mapping_file(PROFILE, "pad.toml")
    assert mf.controller.alias == "pad" and mf.controller.matches("a2j:Test Pad MIDI 1")
    fb = mf.feedback[0]
    assert (fb.state, fb.message(fb.on), fb.message(fb.off)) == ("master.blackout", [0x91, 81, 5], [0x91, 81, 0])
    tunnel = parse_scene(SCENE.format(name="one", layer="tunnel"))
    joined = [b.mapping.target for b in mf.bindings_for(tunnel)]
    assert joined == ["master.dimmer", "layers.tunnel.speed"]  # no 'feedback' layer, not scene two
    other = parse_scene(SCENE.format(name="other", layer="bg"))
    assert [b.mapping.target for b in mf.bindings_for(other)] == ["master.dimmer"]
    assert mf.bindings[0].mapping.transform.curve == "exp" and mf.bindings[1].mapping.range == (0.1, 2.0)


def test_a_scene_restricted_binding_is_checked_against_that_scene():
    mf = parse_mapping_file(PROFILE, "pad.toml")
    two = parse_scene(SCENE.format(name="two", layer="feedbak"))
    with pytest.raises(MappingFileError) as info:
        mf.bindings_for(two)
    err = info.value
    assert err.file == "pad.toml" and err.key == "bindings[2].target" and err.line == 17
    assert "did you mean 'feedbak'?" in str(err)


@pytest.mark.parametrize(("old", "new", "key", "words"), [
    ('source = "midi.pad.cc.1.7"', 'source = "midi.pad.c.1.7"', "bindings[0].source", ["expected midi.cc"]),
    ('source = "midi.pad.cc.1.7"', 'source = "audio.bas"', "bindings[0].source", ["did you mean 'audio.bass'?"]),
    ('source = "midi.pad.cc.1.7"', 'source = "midi.pod.cc.1.7"', "bindings[0].source",
     ["this controller's alias is 'pad'", "did you mean 'midi.pad.cc.1.7'?"]),
    ('target = "master.dimmer"', 'target = "master.dimer"', "bindings[0].target", ["did you mean 'master.dimmer'?"]),
    ('curve = "exp"', 'curve = "exponential"', "bindings[0].curve", ["allowed: linear, exp, log, s-curve"]),
    ('curve = "exp"', 'curv = "exp"', "bindings[0].curv", ["did you mean 'curve'?"]),
    ('state = "master.blackout"', 'state = "master.blackot"', "feedback[0].state", ["did you mean 'master.blackout'?"]),
    ('send = "note.2.81"', 'send = "note.17.81"', "feedback[0].send", ["channel 1-16"]),
    ('on = 5', 'on = 200', "feedback[0].on", ["0 to 127"]),
    ('alias = "pad"', 'alias = "my pad"', "controller.alias", ["letters, digits"]),
    ('ports = ["*Test Pad*"]', 'ports = []', "controller.ports", ["non-empty array"]),
    ("schema = 1", "schema = 2", "schema", ["schema = 1"]),
])
def test_mapping_file_errors_name_file_line_and_key(old, new, key, words):
    assert old in PROFILE
    with pytest.raises(MappingFileError) as info:
        parse_mapping_file(PROFILE.replace(old, new), "pad.toml")
    err = info.value
    assert err.key == key and err.line is not None, str(err)
    assert str(err).startswith(f"pad.toml:{err.line}: ")
    for w in words:
        assert w in str(err), str(err)


def test_feedback_needs_a_controller_and_files_are_found_by_name(tmp_path):
    with pytest.raises(MappingFileError, match="needs a \\[controller\\]"):
        parse_mapping_file('schema = 1\n[[feedback]]\nstate = "beat"\nsend = "note.1.1"\n')
    assert find_mapping_file("apc40-mk2") == bundled_mapping_dir() / "apc40-mk2.toml"
    with pytest.raises(MappingFileError, match="did you mean 'nanokontrol2'"):
        find_mapping_file("nanokontrol")
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\n[[bindings]]\nsource = "audio.bass"\nsource = "x"\n')
    with pytest.raises(MappingFileError, match="defined twice"):
        load_mapping_file(bad)


# ------------------------------------------------------------------------------------------------
# Shipped mappings, byte for byte against the manufacturers' charts

def _messages(path: str) -> dict:
    """{(target or state, detail): (kind, channel, number, [on, off])} of a shipped file."""
    mf = load_mapping_file(bundled_mapping_dir() / path)
    out = {}
    for b in mf.bindings:
        parts = b.mapping.source.split(".")
        out[("in", b.mapping.target, b.mapping.range[1])] = (parts[2], int(parts[3]), int(parts[4]))
    for fb in mf.feedback:
        out[("led", fb.state, fb.entry)] = (fb.kind, fb.channel, fb.number, fb.on, fb.off)
    return mf, out


def test_apc40_mk2_against_the_communications_protocol():
    """Akai APC40 Mk2 Communications Protocol v1.2 (19 January 2015).

    Checked against the chart's text: LEDs are note-on messages on the button's note; notes
    0x30-0x39 carry the track in the channel, all other notes (those used here) ignore it, so
    channel 1 is used; Scene Launch, Stop All Clips, Play and Record light their LEDs in Generic
    Mode. NOT checked against the chart: the chart's note/CC tables and LED value tables could
    not be read as text by the project's search tools, so the numbers (82-86, 81, 91, 93, 99,
    100, 101, CC 14) and single-colour values 0/1 are checked here against the same numbers in
    independently published maps (Ardour's APC40 bindings: master CC 14), not the chart.
    """
    mf, m = _messages("apc40-mk2.toml")
    assert mf.controller.matches("APC40 mkII") and mf.controller.alias == "apc40"
    for entry, note in enumerate((0x52, 0x53, 0x54, 0x55, 0x56), start=1):
        assert m[("in", "scene.goto", float(entry))] == ("note", 1, note)
        assert m[("led", "scene.goto", entry)] == ("note", 1, note, 1, 0)
    assert m[("in", "master.dimmer", 1.0)] == ("cc", 1, 0x0E)
    assert m[("in", "master.blackout", 1.0)] == ("note", 1, 0x51)
    assert m[("led", "master.blackout", None)] == ("note", 1, 0x51, 1, 0)
    assert m[("in", "master.freeze", 1.0)] == ("note", 1, 0x5D)
    assert m[("led", "master.freeze", None)] == ("note", 1, 0x5D, 1, 0)
    assert m[("led", "beat", None)] == ("note", 1, 0x5B, 1, 0)
    assert m[("in", "tempo.tap", 1.0)] == ("note", 1, 0x63)
    assert m[("in", "tempo.nudge", -0.05)] == ("note", 1, 0x64)
    assert m[("in", "tempo.nudge", 0.05)] == ("note", 1, 0x65)
    # Every LED message is a note-on (0x9n) on a note outside 0x30-0x39, as the chart requires.
    for fb in mf.feedback:
        assert fb.message(fb.on)[0] == 0x90 and not 0x30 <= fb.number <= 0x39


def test_launch_control_xl_against_the_programmers_reference():
    """Novation Launch Control XL Programmer's Reference Guide (version 2).

    Checked against the chart's text: LED velocity = 16 x green + red + flags with colours 0-3
    and flags 12 for normal use (also to switch off): green full 60, red full 15, off 12; the
    port name. NOT checked against the chart: the factory template's note/CC numbers and its
    channel (9) are in a figure the project's search tools could not read; they are checked
    against independently published maps (ofxLaunchControlXL: faders CC 77-84, buttons notes
    41-44, 57-60, 73-76, 89-92).
    """
    def velocity(green: int, red: int, flags: int = 12) -> int:
        return 16 * green + red + flags

    assert (velocity(3, 0), velocity(0, 3), velocity(0, 0), velocity(3, 3)) == (60, 15, 12, 63)
    mf, m = _messages("launch-control-xl.toml")
    assert mf.controller.matches("Launch Control XL") and mf.controller.matches("Launch Control XL 2")
    for entry, note in enumerate((41, 42, 43, 44, 57, 58, 59, 60), start=1):
        assert m[("in", "scene.goto", float(entry))] == ("note", 9, note)
        assert m[("led", "scene.goto", entry)] == ("note", 9, note, velocity(3, 0), velocity(0, 0))
    assert m[("led", "beat", None)] == ("note", 9, 73, velocity(0, 3), velocity(0, 0))
    assert m[("in", "master.dimmer", 1.0)] == ("cc", 9, 84)
    assert m[("in", "tempo.tap", 1.0)] == ("note", 9, 73)
    assert m[("in", "master.blackout", 1.0)] == ("note", 9, 106)
    assert m[("in", "master.freeze", 1.0)] == ("note", 9, 107)
    assert m[("in", "master.panic", 1.0)] == ("note", 9, 108)
    for fb in mf.feedback:  # every LED value is a valid velocity byte of the formula
        for v in (fb.on, fb.off):
            assert v < 64 and v & 0x0C == 0x0C and (v >> 4) & 3 <= 3 and v & 3 <= 3


def test_nanokontrol2_against_the_midi_implementation():
    """Korg nanoKONTROL2 MIDI Implementation, revision 1.00 (2010.12.14).

    Checked against the chart's text: panel controls send control changes Bn cc vv on the
    scene's channel (1 here), so every binding and LED is a CC. NOT checked against the chart:
    the factory scene's CC numbers and the External LED mode's 127/0 values are in the
    Parameter Guide's tables, which the project's search tools could not read as text.
    """
    mf, m = _messages("nanokontrol2.toml")
    assert mf.controller.matches("nanoKONTROL2 SLIDER/KNOB")
    assert m[("in", "master.dimmer", 1.0)] == ("cc", 1, 7)        # slider 8
    assert m[("in", "scene.prev", 1.0)] == ("cc", 1, 58)          # track <
    assert m[("in", "scene.next", 1.0)] == ("cc", 1, 59)          # track >
    assert m[("in", "tempo.tap", 1.0)] == ("cc", 1, 46)           # cycle
    assert m[("in", "master.blackout", 1.0)] == ("cc", 1, 42)     # stop
    assert m[("in", "master.freeze", 1.0)] == ("cc", 1, 41)       # play
    assert m[("in", "master.panic", 1.0)] == ("cc", 1, 45)        # record
    assert m[("in", "tempo.nudge", -0.05)] == ("cc", 1, 61)       # marker <
    assert m[("in", "tempo.nudge", 0.05)] == ("cc", 1, 62)        # marker >
    for entry in range(1, 9):                                       # S1-S8
        assert m[("in", "scene.goto", float(entry))] == ("cc", 1, 31 + entry)
        assert m[("led", "scene.goto", entry)] == ("cc", 1, 31 + entry, 127, 0)
    for fb in mf.feedback:
        assert fb.message(fb.on)[0] == 0xB0


def test_touchosc_simple_against_the_manual():
    """hexler TouchOSC Mk1 manual: a control's automatic OSC address is /<page>/<control name>;
    a push button sends its range's second value on press and the first on release (so the
    trigger fires on press). NOT checked against the manual: the Simple layout's control names,
    which the project's search tools could not read as text."""
    mf = load_mapping_file(bundled_mapping_dir() / "touchosc-simple.toml")
    assert mf.controller is None and mf.feedback == ()
    got = {b.mapping.source: (b.mapping.target, b.mapping.transform.button) for b in mf.bindings}
    assert got == {
        "osc./1/fader5": ("master.dimmer", None), "osc./1/toggle1": ("master.blackout", None),
        "osc./1/toggle2": ("master.freeze", None), "osc./2/push1": ("scene.prev", "trigger"),
        "osc./2/push2": ("scene.next", "trigger"), "osc./2/push3": ("tempo.tap", "trigger"),
        "osc./2/push16": ("master.panic", "trigger"),
    }
    assert all(src.count("/") == 2 for src in got)  # /<page>/<control>


def test_every_shipped_mapping_file_loads_and_combines():
    files = sorted(Path(bundled_mapping_dir()).glob("*.toml"))
    assert {f.stem for f in files} >= {"apc40-mk2", "launch-control-xl", "nanokontrol2", "touchosc-simple"}
    for f in files:
        mf = load_mapping_file(f)
        MappingSet(Mapping(b.mapping.source, b.mapping.target, *b.mapping.range, b.mapping.transform)
                   for b in mf.bindings)  # no combine conflicts

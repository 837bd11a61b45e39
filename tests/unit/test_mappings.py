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
#
# One table per controller, transcribed from the manufacturer's chart or, where the chart's
# tables could not be read as text, from independent sources that agree (named above each
# table; the mapping files' headers say the same). Input is checked by playing the chart's bytes
# through the engine's own MIDI parser and decoder and finding the shipped binding's source among
# the signals they raise; LEDs are checked as the exact bytes the engine sends.

from live.control.midi import MidiDecoder, MidiParser

PRESS = 0x7F  # every button of these controllers sends 127 on press (a fader at the top too)


def _raised(data: list[int], alias: str) -> set[str]:
    """The signal names the engine raises above 0 for raw MIDI `data` from port `alias`."""
    bus = SignalBus()
    decoder = MidiDecoder(bus)
    for msg in MidiParser().feed(data):
        decoder.handle(msg, 0.0, alias)
    return {name for name in bus.names() if bus.get(name) > 0}


def _check_inputs(mf, expected: dict) -> None:
    """`expected`: {(target, range end): chart bytes}; every binding is covered, none missing."""
    by_key = {(b.mapping.target, b.mapping.range[1]): b.mapping.source for b in mf.bindings}
    assert set(by_key) == set(expected)
    for key, data in expected.items():
        assert by_key[key] in _raised(data, mf.controller.alias), (key, [hex(x) for x in data])


def _leds(mf) -> dict:
    """{(state, entry): (bytes sent when on, bytes sent when off)} of a shipped file."""
    return {(fb.state, fb.entry): (fb.message(fb.on), fb.message(fb.off)) for fb in mf.feedback}


# Akai APC40 Mk2 Communications Protocol v1.2 (19 January 2015). Message formats from the
# chart's text (quoted on bome.com): LED = note-on 0x9<chan> <note> <value>; notes 0x30-0x39
# carry the track in the channel, other notes ignore it; an RGB LED's channel is its type
# (0 = solid) and its velocity an index into the "RGB LEDS" palette. The chart's tables could
# not be read as text: the numbers below come from two independent transcriptions that agree
# on every one: Ableton's APC40_MkII script (gluon/AbletonLive11_MIDIRemoteScripts,
# APC40_MkII/APC40_MkII.py, Colors.py) and hepp/akai-apc40-mk2 (AkaiAPC40Utils.java, "APC40
# Mk2 Communications Protocol Version 1.2").
APC40_NOTE_ON = 0x90
APC40_CC = 0xB0
APC40_MASTER_FADER_CC = 0x0E                       # Ableton: make_slider(0, 14)
APC40_SCENE_LAUNCH = (0x52, 0x53, 0x54, 0x55, 0x56)  # Ableton: scene + 82; hepp: id + 81
APC40_STOP_ALL_CLIPS = 0x51                        # Ableton: 81
APC40_PLAY, APC40_RECORD = 0x5B, 0x5D              # both: 91, 93
APC40_TAP_TEMPO = 0x63                             # Ableton: 99
APC40_NUDGE_MINUS, APC40_NUDGE_PLUS = 0x64, 0x65   # Ableton: nudge down 100, nudge up 101
APC40_UNLIT = {APC40_STOP_ALL_CLIPS, APC40_TAP_TEMPO, APC40_NUDGE_MINUS, APC40_NUDGE_PLUS}
APC40_RGB_SOLID = 0                                # hepp: RGBTYPE_SOLID = 0 (channel nibble)
APC40_PALETTE = {0: 0x000000, 1: 0x1E1E1E, 3: 0xFFFFFF, 5: 0xFF0000, 21: 0x00FF00}  # both
APC40_SINGLE_ON, APC40_SINGLE_OFF = 127, 0         # hepp: 127 / 0 for Play, Record, Session


def test_apc40_mk2_against_the_communications_protocol():
    """Akai APC40 Mk2 Communications Protocol v1.2; numbers via two agreeing transcriptions.

    Inputs: the chart's bytes for master fader, scene launch 1-5, Stop All Clips, Record, Tap
    Tempo and Nudge -/+ reach the shipped bindings. LEDs: scene launch buttons are RGB, lit
    solid (channel 1) with a bright palette colour, not index 1 (#1E1E1E, barely visible);
    Record and Play are single LEDs, 127 on and 0 off; nothing is sent to a button without an
    LED (Stop All Clips, Tap Tempo, Nudge). Not verified: the tables against the PDF itself.
    """
    mf = load_mapping_file(bundled_mapping_dir() / "apc40-mk2.toml")
    assert mf.controller.matches("APC40 mkII") and mf.controller.alias == "apc40"
    expected = {("scene.goto", float(i)): [APC40_NOTE_ON, note, PRESS]
                for i, note in enumerate(APC40_SCENE_LAUNCH, start=1)}
    expected |= {
        ("master.dimmer", 1.0): [APC40_CC, APC40_MASTER_FADER_CC, PRESS],
        ("master.blackout", 1.0): [APC40_NOTE_ON, APC40_STOP_ALL_CLIPS, PRESS],
        ("master.freeze", 1.0): [APC40_NOTE_ON, APC40_RECORD, PRESS],
        ("tempo.tap", 1.0): [APC40_NOTE_ON, APC40_TAP_TEMPO, PRESS],
        ("tempo.nudge", -0.05): [APC40_NOTE_ON, APC40_NUDGE_MINUS, PRESS],
        ("tempo.nudge", 0.05): [APC40_NOTE_ON, APC40_NUDGE_PLUS, PRESS],
    }
    _check_inputs(mf, expected)
    green = 21
    want = {("scene.goto", i): ([APC40_NOTE_ON | APC40_RGB_SOLID, note, green],
                                [APC40_NOTE_ON | APC40_RGB_SOLID, note, 0])
            for i, note in enumerate(APC40_SCENE_LAUNCH, start=1)}
    want[("master.freeze", None)] = ([APC40_NOTE_ON, APC40_RECORD, APC40_SINGLE_ON],
                                     [APC40_NOTE_ON, APC40_RECORD, APC40_SINGLE_OFF])
    want[("beat", None)] = ([APC40_NOTE_ON, APC40_PLAY, APC40_SINGLE_ON],
                            [APC40_NOTE_ON, APC40_PLAY, APC40_SINGLE_OFF])
    assert _leds(mf) == want
    assert APC40_PALETTE[green] == 0x00FF00  # a full-brightness colour, unlike index 1
    assert not {fb.number for fb in mf.feedback} & APC40_UNLIT


# Novation Launch Control XL Programmer's Reference Guide (version 2). From its text: factory
# templates occupy slots 8-15 (user templates 0-7); Device, Mute, Solo and Record Arm each hold
# a single yellow LED; LEDs of the current template are set by note-on on the button's number
# with velocity = 16 x green + red + flags, colours 0-3, flags 12 for normal use (keep copy and
# clear set also when switching off). The guide's figure of the factory template's numbers could
# not be read as text: they come from two independent sources that agree on every one: Ableton's
# Launch_Control_XL script (gluon/AbletonLive11_MIDIRemoteScripts, LaunchControlXL.py: channel
# index 8 after selecting template 8) and Ardour (libs/surfaces/launch_control_xl/controllers.cc;
# share/midi_maps/Novation_LaunchControl_XL.map: channel 9).
LCXL_CHANNEL = 9                                       # factory template 1 = slot 8
LCXL_NOTE_ON = 0x90 | (LCXL_CHANNEL - 1)
LCXL_CC = 0xB0 | (LCXL_CHANNEL - 1)
LCXL_TRACK_FOCUS = (41, 42, 43, 44, 57, 58, 59, 60)    # both
LCXL_TRACK_CONTROL = (73, 74, 75, 76, 89, 90, 91, 92)  # both
LCXL_DEVICE, LCXL_MUTE, LCXL_SOLO, LCXL_ARM = 105, 106, 107, 108  # both (notes)
LCXL_FADERS = tuple(range(77, 85))                     # both (CC)


def lcxl_velocity(green: int, red: int, flags: int = 12) -> int:
    """The guide's LED velocity formula."""
    return 16 * green + red + flags


def test_launch_control_xl_against_the_programmers_reference():
    """Launch Control XL Programmer's Reference Guide v2; template numbers via two sources.

    Inputs on channel 9: fader 8, track focus 1-8, track control 1, Mute, Solo, Record Arm.
    LEDs: the entry playing green (60), off with the flags kept (12), the beat in red (15) on
    track control 1; Mute and Solo's single yellow LEDs get both colour fields full (63, which
    is Ardour's YellowFull 51 plus the flags). Not verified: which colour field drives the
    yellow element (63 lights it either way), and the figure itself.
    """
    assert (lcxl_velocity(3, 0), lcxl_velocity(0, 3), lcxl_velocity(0, 0), lcxl_velocity(3, 3)) \
        == (60, 15, 12, 63)
    mf = load_mapping_file(bundled_mapping_dir() / "launch-control-xl.toml")
    assert mf.controller.matches("Launch Control XL") and mf.controller.matches("Launch Control XL 2")
    expected = {("scene.goto", float(i)): [LCXL_NOTE_ON, note, PRESS]
                for i, note in enumerate(LCXL_TRACK_FOCUS, start=1)}
    expected |= {
        ("master.dimmer", 1.0): [LCXL_CC, LCXL_FADERS[7], PRESS],
        ("tempo.tap", 1.0): [LCXL_NOTE_ON, LCXL_TRACK_CONTROL[0], PRESS],
        ("master.blackout", 1.0): [LCXL_NOTE_ON, LCXL_MUTE, PRESS],
        ("master.freeze", 1.0): [LCXL_NOTE_ON, LCXL_SOLO, PRESS],
        ("master.panic", 1.0): [LCXL_NOTE_ON, LCXL_ARM, PRESS],
    }
    _check_inputs(mf, expected)
    off = lcxl_velocity(0, 0)
    want = {("scene.goto", i): ([LCXL_NOTE_ON, note, lcxl_velocity(3, 0)], [LCXL_NOTE_ON, note, off])
            for i, note in enumerate(LCXL_TRACK_FOCUS, start=1)}
    want[("beat", None)] = ([LCXL_NOTE_ON, LCXL_TRACK_CONTROL[0], lcxl_velocity(0, 3)],
                            [LCXL_NOTE_ON, LCXL_TRACK_CONTROL[0], off])
    for state, note in (("master.blackout", LCXL_MUTE), ("master.freeze", LCXL_SOLO)):
        want[(state, None)] = ([LCXL_NOTE_ON, note, lcxl_velocity(3, 3)], [LCXL_NOTE_ON, note, off])
    assert _leds(mf) == want


# Korg nanoKONTROL2 MIDI Implementation rev 1.00 (2010.12.14), its text: panel controls send
# Bn cc vv (n = channel). The factory CC scene's numbers are in the Parameter Guide's tables,
# not readable as text here: they come from three independent sources that agree on every one:
# Ardour (share/midi_maps/Korg_nanoKONTROL2.map), davidgranstrom/NanoKontrol2
# (Classes/NanoKontrol2.sc v1.2) and eyaler/pythotron (controller.py). External LED mode: the
# LED is set by the button's own CC, 127 lit, 0 dark (NanoKontrol2.sc `ledState_`, pythotron
# `send_msg`); track and marker buttons have no LED (pythotron lights only the others).
NANO_CC = 0xB0                            # channel 1
NANO_SLIDERS = tuple(range(0, 8))
NANO_KNOBS = tuple(range(16, 24))
NANO_SOLO = tuple(range(32, 40))
NANO_MUTE = tuple(range(48, 56))
NANO_REC = tuple(range(64, 72))
NANO_PLAY, NANO_STOP, NANO_REWIND, NANO_FORWARD, NANO_RECORD, NANO_CYCLE = 41, 42, 43, 44, 45, 46
NANO_TRACK_PREV, NANO_TRACK_NEXT = 58, 59
NANO_MARKER_SET, NANO_MARKER_PREV, NANO_MARKER_NEXT = 60, 61, 62
NANO_UNLIT = {NANO_TRACK_PREV, NANO_TRACK_NEXT, NANO_MARKER_SET, NANO_MARKER_PREV,
              NANO_MARKER_NEXT, *NANO_SLIDERS, *NANO_KNOBS}
NANO_LED_ON, NANO_LED_OFF = 127, 0


def test_nanokontrol2_against_the_midi_implementation():
    """nanoKONTROL2 MIDI Implementation rev 1.00; the CC scene via three agreeing sources.

    Inputs: slider 8, track < >, cycle, stop, play, record, marker < >, S1-S8 (all CC on
    channel 1, 127 on press). LEDs (LED Mode = External): stop, play, cycle and S1-S8 by their
    own CC, 127 lit and 0 dark; none sent to a control without an LED. Not verified against
    the Parameter Guide itself.
    """
    mf = load_mapping_file(bundled_mapping_dir() / "nanokontrol2.toml")
    assert mf.controller.matches("nanoKONTROL2 SLIDER/KNOB")
    expected = {("scene.goto", float(i)): [NANO_CC, cc, PRESS]
                for i, cc in enumerate(NANO_SOLO, start=1)}
    expected |= {
        ("master.dimmer", 1.0): [NANO_CC, NANO_SLIDERS[7], PRESS],
        ("scene.prev", 1.0): [NANO_CC, NANO_TRACK_PREV, PRESS],
        ("scene.next", 1.0): [NANO_CC, NANO_TRACK_NEXT, PRESS],
        ("tempo.tap", 1.0): [NANO_CC, NANO_CYCLE, PRESS],
        ("master.blackout", 1.0): [NANO_CC, NANO_STOP, PRESS],
        ("master.freeze", 1.0): [NANO_CC, NANO_PLAY, PRESS],
        ("master.panic", 1.0): [NANO_CC, NANO_RECORD, PRESS],
        ("tempo.nudge", -0.05): [NANO_CC, NANO_MARKER_PREV, PRESS],
        ("tempo.nudge", 0.05): [NANO_CC, NANO_MARKER_NEXT, PRESS],
    }
    _check_inputs(mf, expected)
    want = {("scene.goto", i): ([NANO_CC, cc, NANO_LED_ON], [NANO_CC, cc, NANO_LED_OFF])
            for i, cc in enumerate(NANO_SOLO, start=1)}
    for state, cc in (("master.blackout", NANO_STOP), ("master.freeze", NANO_PLAY),
                      ("beat", NANO_CYCLE)):
        want[(state, None)] = ([NANO_CC, cc, NANO_LED_ON], [NANO_CC, cc, NANO_LED_OFF])
    assert _leds(mf) == want
    assert not {fb.number for fb in mf.feedback} & NANO_UNLIT


# hexler TouchOSC Mk1 manual: with "auto" on, a control's address is /<page name>/<control
# name>; a push button sends its range's second value on press, the first on release. The
# Simple layout's names could not be read from the layout file: they come from two independent
# sources that agree: heuermh/lick (a ChucK TouchOscServer example for the Simple layout) and a
# log of what TouchOSC's default layout sends (xshigee's dotnet OSC note: /1/fader1-5,
# /1/toggle1-4; the wide fifth fader is missing from LiCK's list).
TOUCHOSC_SIMPLE = (
    {f"/1/fader{i}" for i in range(1, 6)} | {f"/1/toggle{i}" for i in range(1, 5)}
    | {f"/2/push{i}" for i in range(1, 17)} | {f"/2/toggle{i}" for i in range(1, 5)}
    | {"/3/xy"} | {f"/3/toggle{i}" for i in range(1, 5)}
    | {"/4/multitoggle"} | {f"/4/toggle{i}" for i in range(1, 5)}
)


def test_touchosc_simple_against_the_manual_and_the_layout():
    """TouchOSC Simple layout: every shipped address is one of the layout's, push buttons
    trigger (on the press's value), toggles and the fader pass their value through."""
    mf = load_mapping_file(bundled_mapping_dir() / "touchosc-simple.toml")
    assert mf.controller is None and mf.feedback == ()
    got = {b.mapping.source: (b.mapping.target, b.mapping.transform.button) for b in mf.bindings}
    assert got == {
        "osc./1/fader5": ("master.dimmer", None), "osc./1/toggle1": ("master.blackout", None),
        "osc./1/toggle2": ("master.freeze", None), "osc./2/push1": ("scene.prev", "trigger"),
        "osc./2/push2": ("scene.next", "trigger"), "osc./2/push3": ("tempo.tap", "trigger"),
        "osc./2/push16": ("master.panic", "trigger"),
    }
    assert {src.removeprefix("osc.") for src in got} <= TOUCHOSC_SIMPLE


def test_every_shipped_mapping_file_loads_and_combines():
    files = sorted(Path(bundled_mapping_dir()).glob("*.toml"))
    assert {f.stem for f in files} >= {"apc40-mk2", "launch-control-xl", "nanokontrol2", "touchosc-simple"}
    for f in files:
        mf = load_mapping_file(f)
        MappingSet(Mapping(b.mapping.source, b.mapping.target, *b.mapping.range, b.mapping.transform)
                   for b in mf.bindings)  # no combine conflicts

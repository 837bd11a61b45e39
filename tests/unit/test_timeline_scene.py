"""A scene's musical time: positions, durations, quantize boundaries, the scene tables
([[tracks]], [[lfos]], [[envelopes]], [[sequences]], [transition]) with errors that point at the
line, the editor schema, and keys firing on the beat clock's bars under a manual clock."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import jsonschema
import pytest

from live.clock import BeatClock, ManualClock
from live.modulation.easing import EASING_NAMES
from live.modulation.envelope import ENVELOPE_KEYS
from live.modulation.keyframes import KEY_KEYS, TRACK_KEYS
from live.modulation.lfo import LFO_KEYS, SHAPES
from live.modulation.sequence import SEQUENCE_KEYS
from live.modulation.signals import SignalBus
from live.modulation.timeline import (
    TRANSITION_KEYS,
    TRANSITION_KINDS,
    Duration,
    Position,
    SceneModulation,
    SceneTime,
    TimeSpecError,
    TransitionSpec,
    first_downbeat,
    format_position,
    next_boundary,
    parse_duration,
    parse_position,
    parse_transition,
)
from live.scene import SceneError, parse_scene

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "scenes" / "schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
FPS = 60.0

BASE = """schema = 1
[scene]
name = "t"
bpm = 128
[[layers]]
id = "a"
kind = "shader"
source = "e/solid"
"""

FULL = BASE + """
[[tracks]]
id = "rush"
target = "layers.a.level"
loop = [1, 5]
keys = [
  { at = "1.1", value = 0.2 },
  { at = "3.1", value = 1.0, ease = "step" },
  { at = "4.3.480", value = 0.4, ease = "cubic_in_out" },
]

[[tracks]]
id = "fade"
target = "layers.a.alpha"
keys = [{ time = 0, value = 1 }, { time = 12.5, value = 0 }]

[[lfos]]
id = "wob"
shape = "square"
rate = "1/4beat"
duty = 0.25

[[sequences]]
id = "hats"
steps = [1, 0, 0.5, 0]

[[envelopes]]
id = "kick"
trigger = "audio.onset.kick"
decay = "1/4beat"

[[envelopes]]
id = "chain"
trigger = "env.kick"

[[mappings]]
source = "lfo.sine.1bar"
target = "layers.a.level"

[transition]
kind = "wipe"
direction = "left"
softness = 0.2
length = "2beat"
quantize = "bar"
"""


def error_of(text: str) -> SceneError:
    with pytest.raises(SceneError) as info:
        parse_scene(text, "s.toml")
    return info.value


# ---- positions, durations, boundaries ------------------------------------------------------


def test_positions_parse_and_print():
    assert parse_position("3.2.480", 4) == Position(3, 2, 480)
    assert parse_position("7", 4) == Position(7, 1, 0) == parse_position(7, 4)
    assert Position(3, 2, 480).beats(4) == 9.5 and Position(3, 2, 480).beats(3) == 7.5
    assert format_position(9.5, 4) == "3.2" and format_position(-1.0, 4) == "0.4"
    assert format_position(0.0, 4) == "1.1"


@pytest.mark.parametrize("value,unit,amount", [
    ("1/4beat", "beat", 0.25), ("1beat", "beat", 1.0), ("2bar", "bar", 2.0),
    ("3/2 bars", "bar", 1.5), ("0.5hz", "hz", 0.5), ("2Hz", "hz", 2.0), (1.5, "s", 1.5),
    ("250/1000s", "s", 0.25),
])
def test_durations(value, unit, amount):
    units = ("beat", "bar", "s", "hz")
    d = parse_duration(value, units)
    assert (d.unit, d.amount) == (unit, pytest.approx(amount))


def test_duration_conversions():
    assert Duration(2.0, "bar").beats(3, 120.0) == 6.0
    assert Duration(2.0, "bar").seconds(4, 120.0) == 4.0
    assert Duration(1.5, "s").beats(4, 120.0) == 3.0
    assert Duration(4.0, "hz").seconds(4, 90.0) == 0.25


def test_bar_one_and_quantize_boundaries():
    assert first_downbeat(0.0, 4) == 0.0 and first_downbeat(0.01, 4) == 4.0
    assert first_downbeat(7.9999999999, 4) == 8.0           # float noise is the downbeat
    assert first_downbeat(5.0, 3) == 6.0
    origin = 8.0
    assert next_boundary(9.3, "beat", origin, 4) == 10.0
    assert next_boundary(9.3, "bar", origin, 4) == 12.0
    assert next_boundary(12.0, "bar", origin, 4) == 12.0    # at or after
    assert next_boundary(9.3, "phrase", origin, 4, 8) == 40.0
    assert next_boundary(9.3, "phrase", origin, 4, 2) == 16.0
    assert next_boundary(9.3, "none", origin, 4) == 9.3
    assert next_boundary(7.0, "bar", origin, 4) == 8.0      # before bar 1: bar 1 itself


# ---- transitions -----------------------------------------------------------------------------


def test_transitions_parse_with_defaults():
    assert parse_transition({}) == TransitionSpec()
    wipe = parse_transition({"kind": "wipe", "direction": "up", "softness": 0.3,
                             "length": "2beat", "quantize": "phrase", "phrase": 4})
    assert (wipe.direction, wipe.softness, wipe.length, wipe.quantize, wipe.phrase) == \
        (90.0, 0.3, Duration(2.0, "beat"), "phrase", 4)
    assert wipe.shader_name == "transitions/wipe"
    assert wipe.shader_params == {"angle": 90.0, "softness": 0.3}
    assert wipe.seconds(120.0, 4) == 1.0
    assert parse_transition({"kind": "wipe", "direction": -90}).direction == 270.0
    assert parse_transition({"kind": "cut"}).seconds(120.0, 4) == 0.0
    eased = parse_transition({"ease": "expo_out", "length": 2})
    assert eased.shader_name == "transitions/crossfade" and eased.seconds(90.0, 4) == 2.0
    assert parse_transition({}).shader_name is None                 # the engine's own mix
    shader = parse_transition({"kind": "shader", "shader": "transitions/iris",
                               "params": {"size": 0.5, "tint": [1, 0, 0]}})
    assert shader.shader_name == "transitions/iris"
    assert shader.shader_params == {"size": 0.5, "tint": (1.0, 0.0, 0.0)}
    assert "wipe 2beat on the next phrase" == wipe.describe()


@pytest.mark.parametrize("table,path,words", [
    ({"kind": "wipes"}, ("kind",), ["did you mean 'wipe'?", "cut, crossfade, wipe, shader"]),
    ({"lenght": "1bar"}, ("lenght",), ["did you mean 'length'?"]),
    ({"length": "0bar"}, ("length",), ["longer than zero"]),
    ({"length": 90}, ("length",), ["at most 60 seconds"]),
    ({"kind": "cut", "length": "1bar"}, ("length",), ["a cut has no length"]),
    ({"quantize": "bars"}, ("quantize",), ["did you mean 'bar'?", "none, beat, bar, phrase"]),
    ({"phrase": 0}, ("phrase",), ["from 1 to 64"]),
    ({"ease": "sine"}, ("ease",), ["unknown easing 'sine'", "sine_in"]),
    ({"direction": "left"}, ("direction",), ["for wipes"]),
    ({"kind": "wipe", "direction": "lft"}, ("direction",), ["did you mean 'left'?"]),
    ({"kind": "wipe", "softness": 2}, ("softness",), ["from 0 (hard) to 1"]),
    ({"kind": "shader"}, ("shader",), ["needs shader = "]),
    ({"shader": "x"}, ("shader",), ["for kind = \"shader\""]),
    ({"kind": "shader", "shader": "x", "params": {"a": "b"}}, ("params", "a"),
     ["a number, true/false"]),
])
def test_bad_transitions_name_the_key(table, path, words):
    with pytest.raises(TimeSpecError) as info:
        parse_transition(table)
    assert info.value.path == path
    for word in words:
        assert word in info.value.message, info.value.message


# ---- the scene tables --------------------------------------------------------------------------


def test_a_scene_with_every_time_table_loads_and_matches_the_editor_schema():
    spec = parse_scene(FULL, "full.toml")
    assert [t.id for t in spec.tracks] == ["rush", "fade"]
    assert spec.tracks[0].keys[2].at == 14.5 and spec.tracks[0].loop == (0.0, 16.0)
    assert spec.tracks[1].unit == "s"
    # The mapping's lfo.sine.1bar becomes an LFO of its own after the scene's.
    assert [lfo.id for lfo in spec.lfos] == ["wob", "sine.1bar"]
    assert [s.id for s in spec.sequences] == ["hats"]
    assert [e.trigger for e in spec.envelopes] == ["audio.onset.kick", "env.kick"]
    assert spec.transition == TransitionSpec(kind="wipe", length=Duration(2.0, "beat"),
                                             quantize="bar", direction=180.0, softness=0.2)
    assert list(VALIDATOR.iter_errors(tomllib.loads(FULL))) == []


def test_the_editor_schema_agrees_with_the_readers():
    defs = SCHEMA["$defs"]
    assert set(defs["track"]["properties"]) == set(TRACK_KEYS)
    assert set(defs["track_key"]["properties"]) == set(KEY_KEYS)
    assert set(defs["lfo"]["properties"]) == set(LFO_KEYS)
    assert tuple(defs["lfo"]["properties"]["shape"]["enum"]) == SHAPES
    assert set(defs["envelope"]["properties"]) == set(ENVELOPE_KEYS)
    assert set(defs["sequence"]["properties"]) == set(SEQUENCE_KEYS)
    assert set(defs["transition"]["properties"]) == set(TRANSITION_KEYS)
    assert tuple(defs["transition"]["properties"]["kind"]["enum"]) == TRANSITION_KINDS
    assert tuple(defs["easing"]["enum"]) == EASING_NAMES


@pytest.mark.parametrize("old,new,key,line,words", [
    ('{ at = "4.3.480", value = 0.4, ease = "cubic_in_out" }',
     '{ at = "2.3.480", value = 0.4, ease = "cubic_in_out" }',
     "tracks[0].keys[2]", 17, ["keys are out of order", "key 2 at 2.3.480 comes before key 1"]),
    ('{ at = "4.3.480", value = 0.4, ease = "cubic_in_out" }',
     '{ at = "3.1", value = 0.4, ease = "cubic_in_out" }',
     "tracks[0].keys[2]", 17, ["same position as key 1"]),
    ('ease = "cubic_in_out"', 'ease = "cubic_inout"', "tracks[0].keys[2].ease", 17,
     ["unknown easing 'cubic_inout'", "did you mean 'cubic_in_out'?"]),
    ("loop = [1, 5]", "loop = [3, 3]", "tracks[0].loop", 13, ["zero-length loop"]),
    ('target = "layers.a.level"\nloop', 'target = "layers.b.level"\nloop', "tracks[0].target",
     12, ["names no layer 'b'"]),
    ('target = "layers.a.alpha"', 'target = "layers.a.level"', "tracks[1].target", 22,
     ["already driven by tracks[0]"]),
    ('id = "fade"', 'id = "rush"', "tracks[1].id", 21, ["duplicate track id 'rush'"]),
    ('rate = "1/4beat"', 'rate = "1/4 bear"', "lfos[0].rate", 28, ["an LFO rate"]),
    ('trigger = "env.kick"', 'trigger = "env.chain"', "envelopes[1].trigger", 42,
     ["no [[envelopes]] table with id 'chain'", "listed before it"]),
    ('trigger = "audio.onset.kick"', 'trigger = "audio.onset.kik"', "envelopes[0].trigger", 37,
     ["did you mean 'audio.onset.kick'?"]),
    ('source = "lfo.sine.1bar"', 'source = "lfo.wobb"', "mappings[0].source", 45,
     ["no [[lfos]] table with id 'wobb'", "did you mean 'wob'?", "lfo.sine.1bar"]),
    ('source = "lfo.sine.1bar"', 'source = "seq.hat"', "mappings[0].source", 45,
     ["did you mean 'hats'?"]),
    ('direction = "left"', 'direction = "lefft"', "transition.direction", 50,
     ["did you mean 'left'?"]),
    ("[transition]", "[transitions]", "transitions", 48, ["did you mean 'transition'?"]),
    ('shape = "square"', 'shape = "sqaure"', "lfos[0].shape", 27, ["did you mean 'square'?"]),
])
def test_bad_tables_name_the_file_key_and_line(old, new, key, line, words):
    assert FULL.count(old) == 1, old
    err = error_of(FULL.replace(old, new))
    assert err.key == key and err.line == line, str(err)
    assert str(err).startswith(f"s.toml:{line}: ")
    for word in words:
        assert word in str(err), str(err)


def test_transition_shader_names_are_checked():
    text = BASE + '[transition]\nkind = "shader"\nshader = "../x"\n'
    err = error_of(text)
    assert err.key == "transition.shader" and "invalid shader name" in str(err)


def test_a_scene_without_time_tables_has_none():
    spec = parse_scene(BASE, "b.toml")
    assert (spec.tracks, spec.lfos, spec.envelopes, spec.sequences, spec.transition) == \
        ((), (), (), (), None)


# ---- keys fire on the beat clock's bars ------------------------------------------------------


def scene_run(text: str, bpm: float, start: float, frames: int, tempo_changes=()):
    """Play a scene's modulation on a manual clock at 60 fps, the way the engine does: the
    scene becomes active at `start` (mid-bar), its bar 1 is the next downbeat of the clock."""
    spec = parse_scene(text.replace("bpm = 128", f"bpm = {bpm}"), "k.toml")
    applied: dict[str, list[tuple[float, float, int]]] = {}

    def resolve(i, target):
        return lambda v: applied.setdefault(target, []).append((clock.now(), v, beats.bar))

    modulation = SceneModulation.from_spec(spec, resolve)
    clock = ManualClock(0.0)
    beats = BeatClock(bpm, spec.beats_per_bar, origin=0.0)
    bus = SignalBus()
    clock.set(start)
    beats.update(start)
    origin = first_downbeat(beats.beat_at(start), spec.beats_per_bar)
    changes = sorted(tempo_changes)  # (beats after bar 1, new bpm)
    for i in range(frames):
        t = start + i / FPS
        clock.set(t)
        if changes and beats.beat_at(t) >= origin + changes[0][0]:
            beats.set_tempo(changes.pop(0)[1], t)
        beats.update(t)
        now = SceneTime(t=t, dt=1.0 / FPS, beat=beats.beat, bpm=beats.bpm,
                        beats_per_bar=beats.beats_per_bar, origin=origin, started=start)
        modulation.publish(bus, now)
        modulation.apply_tracks(now)
    return applied, beats, origin


STEP_AT_BAR_3 = BASE + """
[[tracks]]
id = "drop"
target = "layers.a.level"
keys = [{ at = "1.1", value = 0.0 }, { at = "3.1", value = 1.0, ease = "step" }]
"""


@pytest.mark.parametrize("bpm", [90.0, 128.0, 174.0])
@pytest.mark.parametrize("change", [None, 100.0])
def test_a_key_at_bar_3_beat_1_fires_within_a_frame_of_the_clocks_bar_3(bpm, change):
    start = 1.234  # mid-bar: the scene's bar 1 is the clock's next downbeat
    tempo_changes = [] if change is None else [(5.5, change)]  # half way through bar 2
    applied, beats, origin = scene_run(STEP_AT_BAR_3, bpm, start, int(12 * FPS), tempo_changes)
    values = applied["layers.a.level"]
    fired = next(i for i, (_, v, _) in enumerate(values) if v == 1.0)
    t_fired, _, clock_bar = values[fired]
    t_bar3 = beats.time_of_beat(origin + 8.0)         # under the tempo in effect at bar 3
    assert 0.0 <= t_fired - t_bar3 < 1.0 / FPS + 1e-9
    # The same frame on which the beat clock itself enters the scene's bar 3.
    assert clock_bar == origin / 4 + 2 and values[fired - 1][2] == clock_bar - 1
    assert all(v == 0.0 for _, v, _ in values[:fired]) and all(v == 1.0 for _, v, _ in values[fired:])
    assert origin > start * bpm / 60.0                  # bar 1 waited for the next downbeat
    assert math.isclose(origin % 4, 0.0)

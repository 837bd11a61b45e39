"""Scene files: loading, validation errors a user can act on, the editor schema, scene lookup."""

from __future__ import annotations

import json
import pickle
import tomllib
from pathlib import Path

import jsonschema
import pytest

from live import scene as sc
from live.modulation.transforms import TransformSpec
from live.scene import (
    BLEND_MODES,
    GLOBAL_TARGETS,
    IMPLEMENTED_LAYER_KINDS,
    LAYER_KINDS,
    SceneError,
    find_scene,
    list_scenes,
    load_scene,
    param_error,
    parse_scene,
    source_name_problem,
    target_name_problem,
    unavailable_kind_error,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "scenes"
SCHEMA = json.loads((ROOT / "scenes" / "schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
SOURCE_SCHEMA = jsonschema.Draft202012Validator(SCHEMA["$defs"]["source"])
TARGET_SCHEMA = jsonschema.Draft202012Validator(SCHEMA["$defs"]["target"])

MINIMAL = """schema = 1
[scene]
name = "t"
[[layers]]
id = "a"
kind = "shader"
source = "layers/solid"
"""


def error_of(text: str) -> SceneError:
    with pytest.raises(SceneError) as info:
        parse_scene(text, "t.toml")
    return info.value


def schema_accepts(data: dict) -> bool:
    return VALIDATOR.is_valid(data)


# ---------------------------------------------------------------------------------------------
# Hostile fixtures: each names the key and line, says what is wrong and what is allowed.

# fixture -> (key, line, substrings of the message, the schema can also reject it)
BAD_FIXTURES = {
    "bad-empty.toml": (None, None, ["file is empty", "schema = 1", "[[layers]]"], True),
    "bad-nullbyte.toml": (None, 4, ["NUL byte at line 4"], None),
    "bad-non-utf8.toml": (None, 4, ["not UTF-8", "0xe9", "line 4, column 12"], None),
    "bad-syntax.toml": (None, 4, ["TOML syntax error at line 4", "not closed"], None),
    "bad-dupkey.toml": ("scene.bpm", 8, ["'scene.bpm' is defined twice", "line 6", "line 8"], None),
    "bad-wrongtype.toml": ("layers[0].opacity", 10,
                           ["expected a number from 0 to 1", "a string ('high')"], True),
    "bad-layers-string.toml": ("layers", 3, ["array of tables", "a string ('tunnel')"], True),
    "bad-layers-table.toml": ("layers", 5, ["single table", "[[layers]] with double brackets"],
                              True),
    "bad-params-array.toml": ("layers[0].params", 9, ["table of parameter values", "an array"],
                              True),
    "bad-unknown-key.toml": ("layers[0].opactiy", 10,
                             ["unknown key 'opactiy'", "did you mean 'opacity'?", "allowed: id"],
                             True),
    "bad-unknown-table.toml": ("layer", 6, ["did you mean 'layers'?",
                                            "allowed: schema, scene, layers, mappings"], True),
    "bad-blend.toml": ("layers[1].blend", 15,
                       ["unknown blend mode 'scren'", "did you mean 'screen'?",
                        "allowed: " + ", ".join(BLEND_MODES)], True),
    "bad-kind.toml": ("layers[0].kind", 8,
                      ["unknown layer kind 'shadr'", "did you mean 'shader'?",
                       "allowed: " + ", ".join(LAYER_KINDS)], True),
    "bad-opacity-range.toml": ("layers[0].opacity", 10, ["from 0 to 1", "1.5"], True),
    "bad-bpm-negative.toml": ("scene.bpm", 5, ["from 20 to 400", "-5"], True),
    "bad-inf-bpm.toml": ("scene.bpm", 5, ["inf (not a finite number)"], True),
    "bad-nan.toml": ("layers[0].params.speed", 9, ["finite number", "nan"], False),
    "bad-huge-int.toml": ("layers[0].params.steps", 9, ["finite number", "..."], False),
    "bad-fx-duplicate-id.toml": ("layers[0].fx[1].id", 16,
                                 ["duplicate fx id 'rgb'", "layers[0].fx[0]"], False),
    "bad-layer-duplicate-id.toml": ("layers[1].id", 10, ["duplicate layer id 'a'"], False),
    "bad-mapping-target.toml": ("mappings[0].target", 13,
                                ["no layer 'tunel'", "did you mean 'tunnel'?"], False),
    "bad-mapping-source.toml": ("mappings[0].source", 12,
                                ["unknown source 'audio.bas'", "did you mean 'audio.bass'?",
                                 "midi.cc.<ch>.<cc>"], True),
    "bad-mapping-range.toml": ("mappings[0].range", 12, ["[lo, hi]", "array of 3 values"], True),
    "bad-input-later.toml": ("layers[1].input", 13, ["'top'", "listed later", "allowed: bg"],
                             False),
    "bad-schema-version.toml": ("schema", 2, ["scene schema 2 is not supported", "reads scene "
                                              "schema 1"], True),
    "bad-no-layers.toml": ("layers", None, ["at least one layer"], True),
    "bad-source-traversal.toml": ("layers[0].source", 8, ["invalid shader name", "'..'"], True),
}


def test_every_bad_fixture_has_expectations():
    on_disk = {p.name for p in FIXTURES.glob("bad-*.toml")}
    assert on_disk == set(BAD_FIXTURES)


@pytest.mark.parametrize("name", sorted(BAD_FIXTURES))
def test_bad_fixture_error_names_file_key_line_and_allowed(name):
    key, line, parts, _ = BAD_FIXTURES[name]
    path = FIXTURES / name
    with pytest.raises(SceneError) as info:
        load_scene(path)
    err = info.value
    text = str(err)
    assert text.startswith(str(path)), text
    assert err.file == str(path)
    assert err.key == key, text
    assert err.line == line, text
    if line is not None:
        assert text.startswith(f"{path}:{line}: "), text
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


@pytest.mark.parametrize("name", sorted(n for n, v in BAD_FIXTURES.items() if v[3] is not None))
def test_editor_schema_agrees_on_bad_fixtures(name):
    """The schema rejects what it can express; cross-checks (unique ids, existing layers,
    finite numbers) are left to the Python validator, and the test pins which ones."""
    data = tomllib.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert schema_accepts(data) is (not BAD_FIXTURES[name][3])


def test_full_fixture_loads_every_key():
    spec = load_scene(FIXTURES / "good-full.toml")
    assert spec.path == FIXTURES / "good-full.toml"
    assert (spec.name, spec.bpm, spec.beats_per_bar) == ("full-house", 174.5, 7)
    assert [layer.id for layer in spec.layers] == ["bg", "tunnel", "trails", "glow", "clip-1"]
    bg = spec.layer("bg")
    assert bg.scale == 0.5 and bg.opacity == 1.0 and isinstance(bg.opacity, float)
    assert bg.params == {"speed": 0.4, "steps": 8, "mirror": True,
                         "tint": (1.0, 0.5, 0.25, 1.0), "center": (0.5, 0.5), "palette": "neon"}
    assert [(fx.id, fx.shader, fx.enabled) for fx in bg.fx] == [
        ("rgb", "effects/rgb_split", True), ("grain", "effects/grain", False)]
    assert bg.fx_by_id("rgb").params == {"amount": 0.1}
    assert spec.layer("tunnel").params == {"twist": 0.2}  # dotted key form
    trails = spec.layer("trails")
    assert (trails.kind, trails.input, trails.blend, trails.opacity, trails.scale) == (
        "feedback", "tunnel", "add", 0.0, 2.0)
    assert spec.layer("glow").enabled is False and spec.layer("glow").input is None
    clip = spec.layer("clip-1")
    assert clip.kind == "clip" and clip.source is None and clip.kind not in IMPLEMENTED_LAYER_KINDS
    assert [(m.source, m.target, m.range) for m in spec.mappings] == [
        ("audio.onset.kick", "layers.bg.fx.rgb.amount", (0.0, 0.6)),
        ("audio.bass_att", "layers.tunnel.twist", (0.0, 1.0)),
        ("midi.apc40.cc.1.48", "layers.trails.opacity", (1.0, 0.0)),
        ("osc./1/fader1", "master.dimmer", (0.0, 1.0)),
        ("bio.hr.polar-h10", "layers.glow.enabled", (0.0, 1.0)),
        ("camera.pose.right_wrist.y", "layers.bg.speed", (-2.5, 2.5)),
    ]


def test_minimal_fixture_gets_defaults():
    spec = load_scene(FIXTURES / "good-minimal.toml")
    assert (spec.description, spec.bpm, spec.beats_per_bar, spec.mappings) == ("", 120.0, 4, ())
    layer = spec.layers[0]
    assert (layer.blend, layer.opacity, layer.enabled, layer.params, layer.fx, layer.scale,
            layer.input) == ("normal", 1.0, True, {}, (), 1.0, None)


@pytest.mark.parametrize("name", ["good-full.toml", "good-minimal.toml"])
def test_editor_schema_accepts_good_fixtures(name):
    data = tomllib.loads((FIXTURES / name).read_text(encoding="utf-8"))
    errors = [e.message for e in VALIDATOR.iter_errors(data)]
    assert errors == []


# ---------------------------------------------------------------------------------------------
# Bundled scenes: every scenes/*.toml must load and match the editor schema.


def scene_dir_problems(folder: Path) -> list[str]:
    problems = []
    for path in sorted(folder.glob("*.toml")):
        try:
            load_scene(path)
        except SceneError as exc:
            problems.append(f"python: {exc}")
            continue
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for err in VALIDATOR.iter_errors(data):
            problems.append(f"schema: {path.name}: {'/'.join(map(str, err.path))}: {err.message}")
    return problems


def test_every_bundled_scene_is_valid():
    assert scene_dir_problems(ROOT / "scenes") == []


def test_bundled_scene_check_catches_an_invalid_scene(tmp_path):
    (tmp_path / "001-ok.toml").write_text(MINIMAL, encoding="utf-8")
    assert scene_dir_problems(tmp_path) == []
    (tmp_path / "002-bad.toml").write_text(MINIMAL.replace('"shader"', '"shadr"'),
                                           encoding="utf-8")
    problems = scene_dir_problems(tmp_path)
    assert len(problems) == 1 and "002-bad.toml" in problems[0] and "shadr" in problems[0]


# ---------------------------------------------------------------------------------------------
# The editor schema matches the Python constants.


def test_schema_is_valid_draft_2020_12_and_matches_constants():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    layer = SCHEMA["$defs"]["layer"]["properties"]
    assert tuple(layer["kind"]["enum"]) == LAYER_KINDS
    assert tuple(layer["blend"]["enum"]) == BLEND_MODES
    assert set(layer) == set(sc.LAYER_KEYS)
    assert set(SCHEMA["properties"]) == set(sc.TOP_LEVEL_KEYS)
    assert set(SCHEMA["properties"]["scene"]["properties"]) == set(sc.SCENE_KEYS)
    assert set(SCHEMA["$defs"]["fx"]["properties"]) == set(sc.FX_KEYS)
    assert set(SCHEMA["$defs"]["mapping"]["properties"]) == set(sc.MAPPING_KEYS)
    assert tuple(SCHEMA["$defs"]["target"]["anyOf"][0]["enum"]) == GLOBAL_TARGETS


GOOD_SOURCES = [
    *sc.EXACT_SOURCES, "midi.cc.1.0", "midi.cc.16.127", "midi.note.10.60", "midi.bend.3",
    "midi.apc40.cc.1.48", "midi.launch_pad-2.note.1.0", "midi.program.1", "midi.nano.program.16",
    "osc./1/fader1", "osc./x",
    "bio.hr", "bio.breath.phase", "bio.rmssd.h10", "lfo.wobble", "lfo.sine.1bar", "env.kick-env",
    "seq.s1", "camera.pose.nose.z", "camera.pose.left_foot_index.x", "camera.hand.left.pinch",
    "camera.face.mouth_open", "camera.motion",
]
BAD_SOURCES = [
    "", "audio", "audio.bas", "audio.band.16", "audio.onset.clap", "beat", "tempo.phase",
    "midi.cc.0.1", "midi.cc.17.1", "midi.cc.1.128", "midi.cc.01.7", "midi.cc.1", "midi.bend.1.2",
    "midi.note.1.-1", "midi.cc.cc.1.2", "midi", "midi.program.17", "midi.program.1.2",
    "osc.fader", "osc./", "osc./a b", "osc./a/*",
    "bio.heart", "bio.breath", "bio.hr.", "lfo.", "lfo.a b", "camera.pose.nose",
    "camera.pose.nose.w",
    "camera.pose.wrist.x", "camera.hand.middle.pinch", "camera.face", "camera", "mid.cc.1.7",
    "audio.bass\n",
]


@pytest.mark.parametrize("name", GOOD_SOURCES)
def test_source_accepted_by_validator_and_schema(name):
    assert source_name_problem(name) is None
    assert SOURCE_SCHEMA.is_valid(name)


@pytest.mark.parametrize("name", BAD_SOURCES)
def test_source_rejected_by_validator_and_schema(name):
    assert source_name_problem(name)
    assert not SOURCE_SCHEMA.is_valid(name)


def test_source_errors_are_specific():
    assert "did you mean 'midi.cc.1.7'?" in source_name_problem("mid.cc.1.7")
    assert "channel must be 1 to 16, got '17'" in source_name_problem("midi.cc.17.1")
    assert "controller must be 0 to 127" in source_name_problem("midi.cc.1.300")
    assert "did you mean 'right_wrist'?" in source_name_problem("camera.pose.rigth_wrist.y")
    assert "did you mean 'rmssd'?" in source_name_problem("bio.rmsd")


LAYERS = parse_scene(MINIMAL + """
[[layers.fx]]
id = "rgb"
shader = "effects/rgb_split"
[[layers]]
id = "b-2"
kind = "shader"
source = "layers/plasma"
""").layers
GOOD_TARGETS = [*GLOBAL_TARGETS, "layers.a.speed", "layers.a.opacity", "layers.a.blend",
                "layers.b-2.enabled", "layers.a.fx.rgb.amount", "layers.a.fx.rgb.enabled"]
BAD_TARGETS = ["layers.c.speed", "layers.a", "layers.a.fx", "layers.a.fx.rgb",
               "layers.a.fx.blur.amount", "layers.a.speed.x", "layers.a.2x", "layer.a.speed",
               "master.dim", "scene", "", "tempo.bpm.x"]


@pytest.mark.parametrize("target", GOOD_TARGETS)
def test_target_accepted(target):
    assert target_name_problem(target, LAYERS) is None
    assert TARGET_SCHEMA.is_valid(target)


@pytest.mark.parametrize("target", BAD_TARGETS)
def test_target_rejected(target):
    assert target_name_problem(target, LAYERS)


def test_target_errors_are_specific():
    assert "did you mean 'layers.a.speed'?" in target_name_problem("layer.a.speed", LAYERS)
    assert "did you mean 'master.dimmer'?" in target_name_problem("master.dim", LAYERS)
    assert "no fx 'rgbb' (did you mean 'rgb'?); its fx: rgb" in target_name_problem(
        "layers.a.fx.rgbb.amount", LAYERS)
    assert "layers in this scene: a, b-2" in target_name_problem("layers.x.speed", LAYERS)


# ---------------------------------------------------------------------------------------------
# Every key checks its type, range and spelling.

WRONG = [
    # (change to MINIMAL: (old, new), key, expected in the message)
    (('schema = 1', 'schema = "1"'), "schema", "expected an integer, got a string ('1')"),
    (('schema = 1', 'schema = true'), "schema", "got a boolean (true)"),
    (('schema = 1\n', ''), None, "missing 'schema = 1'"),
    (('[scene]\nname = "t"\n', 'scene = "t"\n'), "scene", "expected a table ([scene])"),
    (('[scene]\nname = "t"\n', '[scene]\n'), "scene.name", "missing required key 'name'"),
    (('name = "t"', 'name = ""'), "scene.name", "must not be empty"),
    (('name = "t"', 'name = " t"'), "scene.name", "must not start or end with spaces"),
    (('name = "t"', 'name = 5'), "scene.name", "expected a string, got an integer (5)"),
    (('name = "t"', 'name = "t"\nbpm = 401'), "scene.bpm", "from 20 to 400"),
    (('name = "t"', 'name = "t"\nbpm = "fast"'), "scene.bpm", "got a string ('fast')"),
    (('name = "t"', 'name = "t"\nbeats_per_bar = 4.0'), "scene.beats_per_bar",
     "expected an integer from 1 to 16, got a float (4.0)"),
    (('name = "t"', 'name = "t"\nbeats_per_bar = 0'), "scene.beats_per_bar", "from 1 to 16"),
    (('name = "t"', 'name = "t"\ndescription = ["x"]'), "scene.description", "got an array"),
    (('name = "t"', 'name = "t"\ntempo = 120'), "scene.tempo",
     "unknown key 'tempo' in scene; allowed: name, description, bpm, beats_per_bar"),
    (('name = "t"', 'name = "t"\nbmp = 120'), "scene.bmp", "did you mean 'bpm'?"),
    (('id = "a"', 'id = 1'), "layers[0].id", "expected a string, got an integer (1)"),
    (('id = "a"', 'id = "2a"'), "layers[0].id", "invalid layer id '2a'"),
    (('id = "a"', 'id = "a.b"'), "layers[0].id", "invalid layer id"),
    (('id = "a"\n', ''), "layers[0].id", "missing required key 'id'"),
    (('kind = "shader"\n', ''), "layers[0].kind", "missing required key 'kind'"),
    (('source = "layers/solid"\n', ''), "layers[0].source", "missing required key 'source'"),
    (('source = "layers/solid"', 'source = "/etc/shader"'), "layers[0].source",
     "invalid shader name"),
    (('source = "layers/solid"', 'source = 3'), "layers[0].source", "expected a string"),
    (('source = "layers/solid"', 'source = "layers/solid"\nblend = 1'), "layers[0].blend",
     "expected a string, got an integer (1)"),
    (('source = "layers/solid"', 'source = "layers/solid"\nblend = "Screen"'),
     "layers[0].blend", "did you mean 'screen'?"),
    (('source = "layers/solid"', 'source = "layers/solid"\nopacity = -0.1'),
     "layers[0].opacity", "from 0 to 1"),
    (('source = "layers/solid"', 'source = "layers/solid"\nopacity = true'),
     "layers[0].opacity", "got a boolean (true)"),
    (('source = "layers/solid"', 'source = "layers/solid"\nopacity = inf'),
     "layers[0].opacity", "not a finite number"),
    (('source = "layers/solid"', 'source = "layers/solid"\nenabled = 1'),
     "layers[0].enabled", "expected true or false, got an integer (1)"),
    (('source = "layers/solid"', 'source = "layers/solid"\nscale = 0.05'),
     "layers[0].scale", "from 0.1 to 2"),
    (('source = "layers/solid"', 'source = "layers/solid"\nparams = "fast"'),
     "layers[0].params", "expected a table of parameter values"),
    (('source = "layers/solid"', 'source = "layers/solid"\nparams = { speed = [] }'),
     "layers[0].params.speed", "an array of 0 values"),
    (('source = "layers/solid"', 'source = "layers/solid"\nparams = { c = [1, "x"] }'),
     "layers[0].params.c[1]", "expected a finite number, got a string ('x')"),
    (('source = "layers/solid"', 'source = "layers/solid"\nparams = { c = [1, nan] }'),
     "layers[0].params.c[1]", "finite number"),
    (('source = "layers/solid"', 'source = "layers/solid"\nparams = { c = { r = 1 } }'),
     "layers[0].params.c", "unsupported value a table"),
    (('source = "layers/solid"', 'source = "layers/solid"\nparams = { c = 1979-05-27 }'),
     "layers[0].params.c", "unsupported value a date/time"),
    (('source = "layers/solid"', 'source = "layers/solid"\nparams = { opacity = 1 }'),
     "layers[0].params.opacity", "reserved"),
    (('source = "layers/solid"', 'source = "layers/solid"\nparams = { "2x" = 1 }'),
     "layers[0].params.2x", "not a parameter name"),
    (('source = "layers/solid"', 'source = "layers/solid"\nfx = "rgb"'),
     "layers[0].fx", "expected an array of tables ([[layers.fx]])"),
    (('source = "layers/solid"', 'source = "layers/solid"\ninput = "a"'),
     "layers[0].input", "only for effect and feedback layers"),
    (('source = "layers/solid"', 'source = "layers/solid"\n[[layers.fx]]\nid = "x"'),
     "layers[0].fx[0].shader", "missing required key 'shader'"),
    (('source = "layers/solid"', 'source = "layers/solid"\n[[layers.fx]]\nid = "x"\n'
      'shader = "e/x"\nshdaer = "e/y"'), "layers[0].fx[0].shdaer", "did you mean 'shader'?"),
    (('source = "layers/solid"', 'source = "layers/solid"\n[[layers.fx]]\nid = "x"\n'
      'shader = "e/x"\nenabled = "no"'), "layers[0].fx[0].enabled", "expected true or false"),
    (('kind = "shader"', 'kind = "effect"'), "layers[0]",
     "an effect layer at the bottom has nothing to process"),
    (('schema = 1\n', 'schema = 1\nmappings = 3\n'), "mappings", "expected an array of tables"),
]


@pytest.mark.parametrize(("change", "key", "expected"), WRONG,
                         ids=[f"{w[1]}-{i}" for i, w in enumerate(WRONG)])
def test_wrong_value_names_key(change, key, expected):
    old, new = change
    assert old in MINIMAL
    err = error_of(MINIMAL.replace(old, new, 1))
    assert err.key == key, str(err)
    assert expected in str(err), str(err)
    assert str(err).startswith("t.toml")


MAPPING = MINIMAL + """[[mappings]]
source = "audio.bass"
target = "layers.a.speed"
"""


@pytest.mark.parametrize(("old", "new", "key", "expected"), [
    ('source = "audio.bass"\n', '', "mappings[0].source", "missing required key 'source'"),
    ('target = "layers.a.speed"\n', '', "mappings[0].target", "missing required key 'target'"),
    ('source = "audio.bass"', 'source = 1', "mappings[0].source", "expected a string"),
    ('target = "layers.a.speed"', 'target = "layers.a.speed"\nrange = [0, "1"]',
     "mappings[0].range", "not a finite number"),
    ('target = "layers.a.speed"', 'target = "layers.a.speed"\nrange = 1', "mappings[0].range",
     "got an integer (1)"),
    ('target = "layers.a.speed"', 'target = "layers.a.speed"\nrange = [0, inf]',
     "mappings[0].range", "two finite numbers"),
    ('target = "layers.a.speed"', 'target = "layers.a.speed"\ncurv = "exp"',
     "mappings[0].curv", "did you mean 'curve'?"),
    ('target = "layers.a.speed"', 'target = "layers.a.speed"\ncurve = "expo"',
     "mappings[0].curve", "unknown curve 'expo' (did you mean 'exp'?)"),
    ('target = "layers.a.speed"', 'target = "layers.a.speed"\nattack = -0.5',
     "mappings[0].attack", "from 0 to 60 seconds"),
    ('target = "layers.a.speed"', 'target = "layers.a.speed"\nencoder = "binary_offset"',
     "mappings[0].encoder", "must be midi.cc.<ch>.<cc>"),
    ('target = "layers.a.speed"', 'target = "layers.a.speed"\nbutton = "latch"',
     "mappings[0].button", "allowed: momentary, toggle, trigger"),
    ('target = "layers.a.speed"', 'target = "layers.a.speed"\nrnage = [0, 1]',
     "mappings[0].rnage", "did you mean 'range'?"),
])
def test_mapping_errors(old, new, key, expected):
    err = error_of(MAPPING.replace(old, new))
    assert err.key == key and expected in str(err), str(err)


def test_mapping_transforms_are_read_and_match_the_schema():
    text = MINIMAL + """[[mappings]]
source = "midi.cc.1.7"
target = "layers.a.speed"
range = [0.1, 2.0]
input_range = [0.0, 0.5]
curve = "log"
curve_amount = 2.5
invert = true
deadzone = 0.02
attack = 0.05
release = 0.4
quantize = "beat"
combine = "max"
bits = 14

[[mappings]]
source = "audio.bass"
target = "layers.a.speed"
combine = "max"

[[mappings]]
source = "midi.apc.cc.1.16"
target = "master.dimmer"
encoder = "twos_complement"
sensitivity = 0.01

[[mappings]]
source = "midi.note.1.82"
target = "scene.next"
button = "trigger"
"""
    spec = parse_scene(text, "t.toml")
    first = spec.mappings[0]
    assert first.range == (0.1, 2.0)
    assert first.transform == TransformSpec(
        input_range=(0.0, 0.5), curve="log", curve_amount=2.5, invert=True, deadzone=0.02,
        attack=0.05, release=0.4, quantize="beat", combine="max", bits=14)
    assert spec.mappings[2].transform.encoder == "twos_complement"
    assert spec.mappings[3].transform.button == "trigger"
    assert schema_accepts(tomllib.loads(text))


def test_mappings_into_one_target_must_agree_on_combine():
    text = MAPPING + '[[mappings]]\nsource = "audio.mid"\ntarget = "layers.a.speed"\ncombine = "max"\n'
    err = error_of(text)
    assert err.key == "mappings[1].combine" and err.line == 14, str(err)
    assert "must combine the same way" in str(err) and "mappings[0] combines by 'sum'" in str(err)


def test_input_rules():
    base = MINIMAL + '[[layers]]\nid = "fx1"\nkind = "effect"\nsource = "effects/blur"\n'
    assert parse_scene(base).layers[1].input is None  # the composite below
    assert parse_scene(base + 'input = "a"').layers[1].input == "a"
    assert "cannot read itself" in str(error_of(base + 'input = "fx1"'))
    err = error_of(base + 'input = "aa"')
    assert "did you mean 'a'?" in str(err) and err.key == "layers[1].input"
    fb = MINIMAL.replace('kind = "shader"', 'kind = "feedback"')
    assert parse_scene(fb).layers[0].kind == "feedback"  # a feedback layer may be the bottom


def test_unknown_keys_suggest_at_every_level():
    assert "did you mean 'mappings'?" in str(error_of(MINIMAL + "[[mapping]]\n"))
    assert "did you mean 'schema'?" in str(error_of("schemma = 1\n" + MINIMAL))
    assert "did you mean 'kind'?" in str(error_of(MINIMAL + 'knd = "x"\n'))


def test_labels_include_ids_so_users_find_the_layer():
    text = MINIMAL + '[[layers]]\nid = "tunnel"\nkind = "shader"\nsource = "w/t"\nblend = "x"\n'
    assert "layers[1] (id 'tunnel').blend: unknown blend mode 'x'" in str(error_of(text))


# ---------------------------------------------------------------------------------------------
# Files and text that are not scenes at all.


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(SceneError, match="no such scene file"):
        load_scene(tmp_path / "nope.toml")
    with pytest.raises(SceneError, match="is a directory, not a scene file"):
        load_scene(tmp_path)


def test_path_with_nul_byte_is_an_error_not_a_crash():
    with pytest.raises(SceneError, match="not a valid path"):
        load_scene("a\x00b.toml")


def test_oversized_file_refused_before_reading(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text(MINIMAL + "#" * (sc.MAX_SCENE_BYTES + 10), encoding="utf-8")
    with pytest.raises(SceneError, match="at most 1048576 bytes"):
        load_scene(big)


def test_deep_nesting_is_an_error_not_a_crash():
    err = error_of("schema = 1\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nesting is too deep" in str(err)


def test_whitespace_and_comments_only_is_empty():
    assert "file is empty" in str(error_of("\n  # nothing here\n\n"))


def test_byte_order_mark_and_crlf_are_accepted_with_right_lines(tmp_path):
    path = tmp_path / "win.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.replace("\n", "\r\n").encode()
                     + b'blend = "nope"\r\n')
    with pytest.raises(SceneError) as info:
        load_scene(path)
    assert info.value.line == 8 and info.value.key == "layers[0].blend"


def test_string_without_path_is_named():
    with pytest.raises(SceneError, match=r"^<string>: the file is empty"):
        parse_scene("")


def test_duplicate_tables_and_keys_report_the_second_line():
    err = error_of(MINIMAL + "[scene]\nname = 'u'\n")
    assert err.line == 8 and "'scene' is defined twice: at line 2 and again at line 8" in str(err)
    err = error_of(MINIMAL.replace('kind = "shader"', 'kind = "shader"\nid = "b"'))
    assert err.line == 7 and "'layers[0].id' is defined twice: at line 5" in str(err)
    err = error_of(MINIMAL + 'params = { a = 1 }\nparams.b = 2\n')
    assert err.line == 9 and "'layers[0].params' is defined twice" in str(err)


def test_key_lines_survive_strings_that_look_like_tables():
    text = ('schema = 1\n[scene]\nname = "t"\ndescription = """\n[[layers]]\nid = "x"\n"""\n'
            '[[layers]]\nid = "a"\nkind = "shader"\n'
            "source = 'a/b'  # [[layers]]\nparams = { c = [\n 1,\n 2] }\n"
            '"blend" = "no"\n')
    err = error_of(text)
    assert (err.key, err.line) == ("layers[0].blend", 15)


def test_scene_error_pickles_with_its_attributes():
    err = error_of(MINIMAL.replace('"shader"', '"shadr"'))
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.file, copy.key, copy.line, str(copy)) == (err.file, err.key, err.line, str(err))


# ---------------------------------------------------------------------------------------------
# Helpers the engine calls after validation.


def test_param_error_points_at_the_parameter_line():
    spec = load_scene(FIXTURES / "good-full.toml")
    err = param_error(spec, "layers.bg.fx.rgb.amount", "unknown parameter 'amount'")
    assert err.key == "layers[0].fx[0].params.amount" and err.line == 24
    assert str(err) == (f"{FIXTURES / 'good-full.toml'}:24: layers[0] (id 'bg').fx[0] (id 'rgb')"
                        ".params.amount: unknown parameter 'amount'")
    err = param_error(spec, "layers.tunnel.twist", "out of range")
    assert (err.key, err.line) == ("layers[1].params.twist", 37)
    err = param_error(spec, "layers.glow.radius", "not set in the file")  # falls back to [[layers]]
    assert (err.key, err.line) == ("layers[3].params.radius", 48)
    err = param_error(spec, "layers[2].source", "no shader 'feedback/zoom_fade'")
    assert (err.key, err.line) == ("layers[2].source", 42)


def test_unavailable_kind_error_names_the_layer():
    spec = load_scene(FIXTURES / "good-full.toml")
    err = unavailable_kind_error(spec, "clip-1")
    assert err.key == "layers[4].kind" and err.line == 57
    assert "layer kind 'clip' is not available yet" in str(err)
    assert "available: shader, effect, feedback" in str(err)


# ---------------------------------------------------------------------------------------------
# Finding and listing scenes.


@pytest.fixture
def scene_dirs(tmp_path):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    bundled.mkdir()
    user.mkdir()
    (bundled / "000-idle.toml").write_text(MINIMAL.replace('"t"', '"idle"'), encoding="utf-8")
    (bundled / "010-tunnel-rush.toml").write_text(
        MINIMAL.replace('name = "t"', 'name = "Tunnel Rush"\ndescription = "kick tunnel"'),
        encoding="utf-8")
    (user / "020-broken.toml").write_text("schema = 1\n[scene\n", encoding="utf-8")
    (user / ".hidden.toml").write_text("garbage", encoding="utf-8")
    return [bundled, user]


def test_find_scene_by_stem_name_and_path(scene_dirs, tmp_path):
    bundled = scene_dirs[0]
    assert find_scene("010-tunnel-rush", scene_dirs) == bundled / "010-tunnel-rush.toml"
    assert find_scene("tunnel-rush", scene_dirs) == bundled / "010-tunnel-rush.toml"
    assert find_scene("Tunnel Rush", scene_dirs) == bundled / "010-tunnel-rush.toml"
    assert find_scene(str(bundled / "000-idle.toml"), []) == bundled / "000-idle.toml"


def test_find_scene_unknown_lists_close_matches(scene_dirs):
    with pytest.raises(SceneError) as info:
        find_scene("tunel-rush", scene_dirs)
    text = str(info.value)
    assert "no scene named 'tunel-rush' (did you mean 'tunnel-rush'?)" in text
    assert "available: broken, idle, tunnel-rush" in text and str(scene_dirs[1]) in text
    with pytest.raises(SceneError, match="no such scene file"):
        find_scene("missing/scene.toml", scene_dirs)
    with pytest.raises(SceneError, match="is a directory"):
        find_scene(str(scene_dirs[0]) + "/", scene_dirs)


def test_list_scenes_reports_broken_files_instead_of_raising(scene_dirs):
    listed = list_scenes(scene_dirs)
    assert [(name, path.name) for name, path, _ in listed] == [
        ("idle", "000-idle.toml"), ("Tunnel Rush", "010-tunnel-rush.toml"),
        ("broken", "020-broken.toml")]
    assert listed[1][2] == "kick tunnel"
    assert listed[2][2].startswith("ERROR: ") and "020-broken.toml:2" in listed[2][2]


def test_bundled_scene_dirs_point_at_repo_and_data_dir(tmp_path):
    dirs = sc.bundled_scene_dirs(tmp_path)
    assert dirs == [ROOT / "scenes", tmp_path / "scenes"]
    assert sc.bundled_scene_dirs()[1] == Path.home() / ".local/share/echoel/scenes"


# ---------------------------------------------------------------------------------------------
# Video and image layers: a file path as source, fixed parameter names.

MEDIA = """schema = 1
[scene]
name = "m"
[[layers]]
id = "v"
kind = "{kind}"
{source}
{params}
"""


def media_text(kind: str = "video", source: str = 'source = "clips/loop.mov"', params: str = "") -> str:
    return MEDIA.format(kind=kind, source=source, params=params)


def test_media_kinds_are_implemented():
    assert {"video", "image"} <= set(IMPLEMENTED_LAYER_KINDS)


def test_media_source_is_relative_to_the_scene_folder(tmp_path):
    (tmp_path / "show").mkdir()
    path = tmp_path / "show" / "s.toml"
    path.write_text(media_text(params='params = { rate = 0.5, loop = false, start = 1.5, fit = "contain" }'),
                    encoding="utf-8")
    layer = load_scene(path).layers[0]
    assert layer.source == "clips/loop.mov"
    assert layer.source_path == tmp_path / "show" / "clips" / "loop.mov"
    assert layer.params == {"rate": 0.5, "loop": False, "start": 1.5, "fit": "contain"}
    absolute = parse_scene(media_text(kind="image", source=f'source = "{tmp_path}/a.png"'), path)
    assert absolute.layers[0].source_path == tmp_path / "a.png"


@pytest.mark.parametrize("kind, source, params, key, parts", [
    ("video", "", "", "layers[0].source", ["missing required key 'source'", "relative to the scene"]),
    ("video", 'source = ""', "", "layers[0].source", ["must not be empty"]),
    ("image", 'source = "a\\u0007.png"', "", "layers[0].source", ["control characters"]),
    ("video", None, "params = { speed = 2.0 }", "layers[0].params.speed",
     ["unknown video parameter 'speed'", "allowed: rate, loop, start, fit"]),
    ("video", None, "params = { rat = 2.0 }", "layers[0].params.rat", ["did you mean 'rate'?"]),
    ("video", None, "params = { rate = 8 }", "layers[0].params.rate", ["from 0.25 to 4", "(8)"]),
    ("video", None, "params = { rate = -1.0 }", "layers[0].params.rate", ["from 0.25 to 4"]),
    ("video", None, 'params = { loop = "yes" }', "layers[0].params.loop", ["true or false"]),
    ("video", None, "params = { start = -2 }", "layers[0].params.start", [">= 0"]),
    ("video", None, 'params = { fit = "cove" }', "layers[0].params.fit",
     ["unknown fit mode 'cove'", "did you mean 'cover'?", "allowed: cover, contain, stretch"]),
    ("image", None, "params = { rate = 2.0 }", "layers[0].params.rate",
     ["unknown image parameter 'rate'", "allowed: fit"]),
    ("image", None, "params = { fit = 3 }", "layers[0].params.fit", ["an integer (3)"]),
])
def test_media_layer_errors_name_key_and_allowed(kind, source, params, key, parts):
    text = media_text(kind=kind, params=params) if source is None else media_text(kind, source, params)
    err = error_of(text)
    assert err.key == key, str(err)
    assert err.line is not None
    for part in parts:
        assert part in str(err), f"{part!r} not in {err}"


def test_media_rate_can_be_a_mapping_target_by_name():
    spec = parse_scene(media_text(params="params = { rate = 1.0 }")
                       + '[[mappings]]\nsource = "audio.bass"\ntarget = "layers.v.rate"\nrange = [0.5, 2.0]\n',
                       "t.toml")
    assert spec.mappings[0].target == "layers.v.rate"

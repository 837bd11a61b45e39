"""The ISF model and its GLSL 330 translation, without GL (glslangValidator checks the output)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from live.render.isf import (
    ENGINE_GLSL,
    ISF_TYPES,
    IsfInput,
    IsfPass,
    ShaderParamError,
    SizeExpressionError,
    UnknownParamError,
    engine_uniform_names,
    evaluate_size_expression,
    global_declared_names,
    load_isf,
    parse_size_expression,
    stage_variables,
)
from live.render.shader_source import REPO_SHADERS, ShaderSourceError, map_compiler_log

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shaders"
#: Fixtures that are meant to fail (compile errors, include cycle) or need files made at test time.
BROKEN_FIXTURES = {"broken_include.fs", "broken_body.fs", "cycle.fs", "imported.fs"}


DEFAULT_BODY = "void main() { gl_FragColor = vec4(1.0); }\n"


def write_shader(tmp_path: Path, header: dict | str | None, body: str = DEFAULT_BODY,
                 name: str = "x.fs") -> Path:
    """Write a shader with a header (dict -> JSON, pretty, one key per line) and body."""
    path = tmp_path / name
    if header is None:
        path.write_text(body)
    else:
        text = json.dumps(header, indent=4) if isinstance(header, dict) else header
        path.write_text(f"/*{text}*/\n{body}")
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().split("\n"), start=1) if needle in line)


# ---- header model ----------------------------------------------------------------------------


def test_every_input_type_is_parsed():
    shader = load_isf(FIXTURES / "all_inputs.fs")
    assert [i.type for i in shader.inputs] == [
        "event", "bool", "long", "long", "float", "point2D", "color", "image", "audio", "audioFFT"]
    assert set(ISF_TYPES) - {"point3D"} == {i.type for i in shader.inputs}  # ossia's: own test
    by = {i.name: i for i in shader.inputs}
    assert by["flash"] == IsfInput("flash", "event", default=False, label="Flash")
    assert by["invert"].default is True  # DEFAULT 1 read as a bool
    assert by["mode"].values == (0, 2, 5) and by["mode"].labels == ("Off", "Twice", "Five")
    assert by["mode"].default == 2
    assert (by["steps"].min, by["steps"].max, by["steps"].default) == (1, 8, 4)
    speed = by["speed"]
    assert (speed.default, speed.min, speed.max, speed.identity) == (0.5, 0.0, 2.0, 1.0)
    assert by["center"].default == (0.5, 0.25) and by["center"].max == (1.0, 1.0)
    assert by["tint"].default == (1.0, 0.5, 0.25, 1.0)  # RGB gets alpha 1
    assert by["wave"].max == 256 and by["spectrum"].max is None
    assert by["photo"].is_image and by["photo"].glsl_type == "sampler2D"
    assert by["mode"].glsl_type == "int" and by["center"].glsl_type == "vec2"
    # Lines point at each input's NAME in the file.
    assert by["speed"].line == line_of(FIXTURES / "all_inputs.fs", '"NAME": "speed"')
    assert shader.description.startswith("Declares one input") and shader.credit == "Echoel Live tests"
    assert shader.categories == ["Test", "Generator"] and shader.isf_version == "2.0"
    assert shader.kind == "generator" and shader.passes == [IsfPass()]
    assert shader.defaults() == {"flash": False, "invert": True, "mode": 2, "steps": 4, "speed": 0.5,
                                 "center": (0.5, 0.25), "tint": (1.0, 0.5, 0.25, 1.0)}
    assert shader.warnings == []


def test_ossia_extensions_point3d_and_string_bools_load(tmp_path):
    """ossia score's library uses a point3D input type (a vec3) and writes bool DEFAULTs as the
    strings "1"/"0"; inputs named like GLSL keywords (output, input, half) get a renamed uniform."""
    path = write_shader(tmp_path, {"ISFVSN": "2", "INPUTS": [
        {"NAME": "rot", "TYPE": "point3D", "DEFAULT": [0.1, 0.2, 0.3], "MIN": [0, 0, 0],
         "MAX": [1, 1, 1]},
        {"NAME": "axis", "TYPE": "point3D"},
        {"NAME": "invert", "TYPE": "bool", "DEFAULT": "1"},
        {"NAME": "output", "TYPE": "long", "VALUES": [0, 1], "DEFAULT": 1}]})
    shader = load_isf(path)
    by = {i.name: i for i in shader.inputs}
    assert by["rot"].glsl_type == "vec3" and by["rot"].default == (0.1, 0.2, 0.3)
    assert by["axis"].default == (0.0, 0.0, 0.0)
    assert by["invert"].default is True
    assert any("DEFAULT '1' read as true" in w for w in shader.warnings)
    assert shader.validate_params({"rot": [1, 0.5, 0]})["rot"] == (1.0, 0.5, 0.0)
    with pytest.raises(ShaderParamError, match="component 0 = 2 is outside its range"):
        shader.validate_params({"rot": [2, 0.5, 0]})
    with pytest.raises(ShaderParamError, match=r"3 numbers \[x, y, z\]"):
        shader.validate_params({"rot": [0.5, 0.5]})
    with pytest.raises(ShaderSourceError, match="list of 3 numbers"):
        load_isf(write_shader(tmp_path, {"INPUTS": [{"NAME": "p", "TYPE": "point3D",
                                                     "DEFAULT": [1, 2]}]}))


def test_plain_glsl_is_a_generator_without_inputs():
    shader = load_isf(FIXTURES / "plain.fs")
    assert shader.inputs == [] and shader.kind == "generator" and shader.isf_version == ""
    assert shader.passes == [IsfPass()]
    assert "isf_FragColor = vec4(isf_FragNormCoord" in shader.fragment_source


@pytest.mark.parametrize("inputs,kind", [
    ([{"NAME": "inputImage", "TYPE": "image"}], "filter"),
    ([{"NAME": "startImage", "TYPE": "image"}, {"NAME": "endImage", "TYPE": "image"},
      {"NAME": "progress", "TYPE": "float"}], "transition"),
    ([{"NAME": "startImage", "TYPE": "image"}, {"NAME": "progress", "TYPE": "float"}], "generator"),
    ([{"NAME": "inputImage", "TYPE": "float"}], "generator"),
])
def test_kind_follows_the_isf_conventions(tmp_path, inputs, kind):
    assert load_isf(write_shader(tmp_path, {"ISFVSN": "2", "INPUTS": inputs})).kind == kind


def test_header_without_isfvsn_is_version_1(tmp_path):
    assert load_isf(write_shader(tmp_path, {"INPUTS": []})).isf_version == "1"


@pytest.mark.parametrize("entry,default,needle", [
    ({"NAME": "a", "TYPE": "float", "MIN": 0, "MAX": 1, "DEFAULT": 5},
     1.0, "DEFAULT 5 is outside its range 0.0..1.0; using 1.0"),
    ({"NAME": "a", "TYPE": "long", "VALUES": [1, 2], "DEFAULT": 3},
     1, "DEFAULT 3 is not one of its values (1, 2); using 1"),
    ({"NAME": "a", "TYPE": "point2D", "MIN": [0, 0], "MAX": [1, 1], "DEFAULT": [2, 0.5]},
     (1.0, 0.5), "component 0 = 2 is outside its range 0.0..1.0; using (1.0, 0.5)"),
])
def test_defaults_outside_the_range_are_clamped_with_a_warning(tmp_path, entry, default, needle):
    # Published files (VIDVOX's own ISF 1 twirl among them) carry such defaults; hosts clamp.
    path = write_shader(tmp_path, {"ISFVSN": "2", "INPUTS": [entry]})
    shader = load_isf(path)
    assert shader.inputs[0].default == default
    assert any(needle in w and f"{path}:" in w for w in shader.warnings), shader.warnings


def test_null_metadata_reads_as_not_given(tmp_path):
    # ISF editors export empty metadata as JSON null; VDMX and the ISF editor load such files.
    shader = load_isf(write_shader(tmp_path, {
        "ISFVSN": "2", "VSN": None, "CREDIT": None, "DESCRIPTION": None, "CATEGORIES": None,
        "INPUTS": [{"NAME": "a", "TYPE": "float", "LABEL": None}]}))
    assert (shader.credit, shader.description, shader.categories) == ("", "", [])
    assert shader.inputs[0].label is None


@pytest.mark.parametrize("entry,needle", [
    ({"NAME": "a", "TYPE": "vec3"},
     "TYPE 'vec3'; allowed: event, bool, long, float, point2D, point3D, color, image, audio, "
     "audioFFT"),
    ({"NAME": "a", "TYPE": "float", "DEFAULT": "big"}, "DEFAULT must be a number, got 'big'"),
    ({"NAME": "a", "TYPE": "float", "MIN": 1, "MAX": 0}, "MIN 1.0 is greater than MAX 0.0"),
    ({"NAME": "a", "TYPE": "long", "VALUES": [1, 2], "LABELS": ["one"]},
     "LABELS has 1 entries but VALUES has 2"),
    ({"NAME": "a", "TYPE": "long", "VALUES": [1.5]}, "VALUES must be a non-empty list of integers"),
    ({"NAME": "a", "TYPE": "point2D", "DEFAULT": [1]}, "DEFAULT must be a list of 2 numbers"),
    ({"NAME": "a", "TYPE": "color", "DEFAULT": [1, 0]}, "DEFAULT must be a list of 3 or 4 numbers"),
    ({"NAME": "a", "TYPE": "bool", "DEFAULT": "yes"}, "DEFAULT must be true/false or 0/1"),
    ({"NAME": "a", "TYPE": "audio", "MAX": 0}, "MAX must be a positive whole number of samples"),
    ({"NAME": "my speed", "TYPE": "float"}, "is not a valid GLSL identifier"),
    ({"NAME": "while", "TYPE": "float"}, "is reserved in GLSL"),
    ({"NAME": "gl_Thing", "TYPE": "float"}, "is reserved"),
])
def test_bad_inputs_are_reported_at_their_line(tmp_path, entry, needle):
    path = write_shader(tmp_path, {"ISFVSN": "2", "INPUTS": [{"NAME": "ok", "TYPE": "bool"}, entry]})
    with pytest.raises(ShaderSourceError) as info:
        load_isf(path)
    assert needle in info.value.message
    assert info.value.line == line_of(path, f'"NAME": "{entry["NAME"]}"')
    assert info.value.file.endswith("x.fs")


def test_duplicate_input_names(tmp_path):
    path = write_shader(tmp_path, {"INPUTS": [{"NAME": "a", "TYPE": "float"}, {"NAME": "a", "TYPE": "bool"}]})
    with pytest.raises(ShaderSourceError, match="declared twice"):
        load_isf(path)


def test_type_case_is_forgiven_and_key_typos_warned(tmp_path):
    path = write_shader(tmp_path, {"ISFVSN": "2", "DESCRIPTON": "typo", "X_HOST_KEY": 1,
                                   "INPUTS": [{"NAME": "a", "TYPE": "Float", "DEFUALT": 0.3}]})
    shader = load_isf(path)
    assert shader.inputs[0].type == "float" and shader.inputs[0].default == 0.0
    text = "\n".join(shader.warnings)
    assert "'DEFUALT' in input 'a'; did you mean 'DEFAULT'?" in text
    assert "'DESCRIPTON' in the header; did you mean 'DESCRIPTION'?" in text
    assert "X_HOST_KEY" not in text  # other hosts' keys are not typos
    assert f"x.fs:{line_of(path, 'DEFUALT')}:" in text


def test_a_header_with_trailing_commas_loads_with_a_warning_naming_the_line(tmp_path):
    path = tmp_path / "comma.fs"
    path.write_text('/*{\n  "ISFVSN": "2",\n  "INPUTS": [\n    {"NAME": "a", "TYPE": "float", '
                    '"DEFAULT": 0.25,},\n  ],\n}*/\nvoid main() { gl_FragColor = vec4(a); }\n')
    shader = load_isf(path)
    assert [(i.name, i.default) for i in shader.inputs] == [("a", 0.25)]
    text = "\n".join(shader.warnings)
    assert "comma.fs:4: trailing comma" in text and "comma.fs:5: trailing comma" in text


def test_known_keys_in_the_wrong_case_are_read_with_a_warning(tmp_path):
    # Published files write {"TARGET": "buffer", "persistent": true}; losing it would drop
    # the feedback the author meant.
    path = write_shader(tmp_path, {
        "ISFVSN": "2", "description": "d",
        "INPUTS": [{"NAME": "a", "TYPE": "float", "default": 0.3, "min": 0, "max": 1}],
        "PASSES": [{"TARGET": "buf", "persistent": True}, {}]})
    shader = load_isf(path)
    assert shader.description == "d"
    assert (shader.inputs[0].default, shader.inputs[0].min, shader.inputs[0].max) == (0.3, 0.0, 1.0)
    assert shader.passes[0].persistent and not shader.passes[1].persistent
    text = "\n".join(shader.warnings)
    assert "key 'persistent' in PASSES[0] read as 'PERSISTENT'" in text
    assert f"x.fs:{line_of(path, 'persistent')}:" in text


def test_passes_and_legacy_persistent_buffers():
    shader = load_isf(FIXTURES / "pass_size.fs")
    assert shader.passes == [
        IsfPass("halfWidth", False, True, "$WIDTH/2", "floor($HEIGHT/4)"),
        IsfPass("scaled", False, True, "max($WIDTH*$scale, 1)", None),
        IsfPass(),
    ]
    legacy = load_isf(FIXTURES / "legacy_v1.fs")
    assert legacy.passes[0] == IsfPass("trail", persistent=True)
    assert legacy.isf_version == "1" and legacy.kind == "filter"


@pytest.mark.parametrize("pass_entry,needle", [
    ({"TARGET": "a", "WIDTH": "$WIDTH/"}, "not a valid arithmetic expression"),
    ({"TARGET": "a", "WIDTH": "$SIZE/2"}, "uses $SIZE, which is not $WIDTH, $HEIGHT or an input"),
    ({"TARGET": "a", "HEIGHT": "__import__('os').system('true')"},
     "calling anything but the listed functions"),
    ({"TARGET": "a", "HEIGHT": "__import__('os')"}, "unknown function '__import__'"),
    ({"TARGET": "a", "PERSISTENT": "maybe"}, "PERSISTENT must be true or false"),
    ({"TARGET": "level"}, "has the same name as an input"),
    ({"TARGET": "bad name"}, "not a valid GLSL identifier"),
])
def test_bad_passes(tmp_path, pass_entry, needle):
    header = {"INPUTS": [{"NAME": "level", "TYPE": "float"}], "PASSES": [pass_entry, {}]}
    path = write_shader(tmp_path, header)
    with pytest.raises(ShaderSourceError) as info:
        load_isf(path)
    assert needle in info.value.message
    assert info.value.line is not None


def test_a_buffer_rendered_twice_must_agree(tmp_path):
    ok = write_shader(tmp_path, {"PASSES": [{"TARGET": "b", "FLOAT": True}, {"TARGET": "b"}, {}]},
                      name="ok.fs")
    passes = load_isf(ok).passes
    assert passes[0] == passes[1] == IsfPass("b", float=True)
    bad = write_shader(tmp_path, {"PASSES": [{"TARGET": "b", "FLOAT": True},
                                             {"TARGET": "b", "FLOAT": False}]})
    with pytest.raises(ShaderSourceError, match="renders into 'b' again"):
        load_isf(bad)


def test_imported_images_resolve_relative_to_the_shader(tmp_path):
    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "a.png").write_bytes(b"not checked at load")
    shader = load_isf(write_shader(tmp_path, {"IMPORTED": {"pic": {"PATH": "tex/a.png"}}}))
    assert shader.imported == {"pic": (tmp_path / "tex" / "a.png").resolve()}
    assert "uniform sampler2D pic;" in shader.fragment_source
    v1 = load_isf(write_shader(tmp_path, {"IMPORTED": [{"NAME": "pic", "PATH": "tex/a.png"}]}, name="v1.fs"))
    assert list(v1.imported) == ["pic"]
    with pytest.raises(ShaderSourceError, match="does not exist"):
        load_isf(write_shader(tmp_path, {"IMPORTED": {"pic": {"PATH": "missing.png"}}}, name="m.fs"))
    with pytest.raises(ShaderSourceError, match=r"face \+X file .*a\.png does not exist"):
        load_isf(write_shader(tmp_path, {"IMPORTED": {"sky": {"PATH": ["a.png"] * 6}}}, name="c.fs"))


# ---- size expressions ------------------------------------------------------------------------


@pytest.mark.parametrize("expr,expected", [
    ("$WIDTH/2", 50),
    ("$WIDTH / 3", 33),                  # rounded down
    ("floor($HEIGHT*0.5)", 30),
    ("max($WIDTH, 1)", 100),
    ("$WIDTH*$scale", 25),
    ("ceil($HEIGHT/7)", 9),
    ("$HEIGHT*0.29*100/100", 17),          # 17.4
    ("$WIDTH/1000", 1),                   # at least 1 pixel
    ("clamp($WIDTH*$scale*$steps, 1, 64)", 64),
    ("$flag * 8 + 1", 9),                 # bool inputs count as 0/1
    ("2 ** 5", 32),
    ("256", 256),
])
def test_size_expressions(expr, expected):
    inputs = {"scale": 0.25, "steps": 4, "flag": True}
    assert evaluate_size_expression(expr, 100, 60, inputs) == expected


def test_float_error_just_below_an_integer_counts_as_that_integer():
    assert evaluate_size_expression("$WIDTH*0.29", 100, 1, {}) == 29  # 28.999999999999996


@pytest.mark.parametrize("expr", [
    "__import__('os')",
    "__import__('os').system('touch /tmp/pwned')",
    "().__class__.__bases__",
    "$WIDTH.__class__",
    "open('/etc/passwd')",
    "lambda: 1",
    "[1, 2]",
    "$WIDTH if 1 else 2",
    "eval('1')",
    "x",
    "$WIDTH; 1",
    "$ WIDTH",
    "9" * 300,
    "max(*[1, 2])",
    "floor(x=1)",
])
def test_hostile_or_invalid_expressions_are_refused(expr):
    with pytest.raises(SizeExpressionError):
        evaluate_size_expression(expr, 100, 100, {})


def test_expression_runtime_errors_are_clear():
    with pytest.raises(SizeExpressionError, match=r"division by zero .*\$scale=0"):
        evaluate_size_expression("$WIDTH/$scale", 100, 100, {"scale": 0.0})
    with pytest.raises(SizeExpressionError, match="cannot be computed"):
        evaluate_size_expression("9.0 ** 9 ** 9", 100, 100, {})
    with pytest.raises(SizeExpressionError, match="the limit is 16384"):
        evaluate_size_expression("$WIDTH * 1000", 100, 100, {})
    undefined = r"\$nope, which is not defined \(variables: \$WIDTH, \$HEIGHT, \$scale\)"
    with pytest.raises(SizeExpressionError, match=undefined):
        evaluate_size_expression("$nope", 100, 100, {"scale": 1.0})
    with pytest.raises(SizeExpressionError, match="only number, bool and long inputs"):
        evaluate_size_expression("$WIDTH*$center", 100, 100, {"center": (0.5, 0.5)})


def test_parsed_expressions_list_their_variables():
    expr = parse_size_expression("max($WIDTH*$scale, $HEIGHT) + pi")
    assert expr.variables == {"WIDTH", "scale", "HEIGHT"}
    assert expr.evaluate(10, 40, {"scale": 2.0}) == 43


# ---- parameter validation --------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_inputs():
    return load_isf(FIXTURES / "all_inputs.fs")


def test_valid_params_are_normalised(all_inputs):
    out = all_inputs.validate_params({
        "flash": 1.0, "invert": 0, "mode": 5.0, "steps": 8, "speed": 2, "center": [1, 0],
        "tint": (0.1, 0.2, 0.3),
    })
    assert out == {"flash": True, "invert": False, "mode": 5, "steps": 8, "speed": 2.0,
                   "center": (1.0, 0.0), "tint": (0.1, 0.2, 0.3, 1.0)}
    assert type(out["mode"]) is int and type(out["speed"]) is float
    assert all_inputs.validate_params({"mode": "Twice"}) == {"mode": 2}  # a long by its label


def test_unknown_param_suggests_names(all_inputs):
    with pytest.raises(UnknownParamError) as info:
        all_inputs.validate_params({"sped": 1.0})
    err = info.value
    assert isinstance(err, ShaderParamError) and isinstance(err, KeyError)
    assert "all_inputs.fs: parameter 'sped': no such input; did you mean 'speed'?" in str(err)
    assert "(inputs: flash, invert, mode, steps, speed, center, tint, photo, wave, spectrum)" in str(err)
    with pytest.raises(KeyError):
        all_inputs.input("nope")
    assert all_inputs.input("speed").max == 2.0


@pytest.mark.parametrize("name,value,needle", [
    ("speed", "fast", "is a float; expected a finite number, got 'fast' (str)"),
    ("speed", float("nan"), "is a float; expected a finite number"),
    ("speed", True, "is a float; expected a finite number, got True (bool)"),
    ("speed", 2.5, "2.5 is outside its range 0.0..2.0"),
    ("steps", 9, "9 is outside its range 1..8"),
    ("steps", 2.5, "is a long; expected an integer"),
    ("mode", 3, "3 is not one of its values (0 (Off), 2 (Twice), 5 (Five))"),
    ("mode", "Twic", "no choice labelled 'Twic'; did you mean 'Twice'?"),
    ("invert", "yes", "is a bool; expected true/false or a number"),
    ("center", (0.5,), "is a point2D; expected 2 numbers [x, y]"),
    ("center", (0.5, 1.5), "component 1 = 1.5 is outside its range 0.0..1.0"),
    ("tint", "red", "is a color; expected a list of 4 numbers"),
    ("tint", (1, 0), "expected 3 or 4 numbers (RGB[A], 0..1)"),
    ("photo", "x.png", "is an image input (a texture); it is bound by the layer"),
    ("spectrum", 1.0, "is an audioFFT input"),
])
def test_bad_param_values(all_inputs, name, value, needle):
    with pytest.raises(ShaderParamError) as info:
        all_inputs.validate_params({name: value})
    assert needle in str(info.value)
    assert info.value.param == name and info.value.file.endswith("all_inputs.fs")


# ---- translation -----------------------------------------------------------------------------


def _code_lines(source: str) -> list[str]:
    return [line for line in source.split("\n") if not line.lstrip().startswith("//")]


def test_translated_sources_are_glsl_330_with_each_engine_uniform_once(all_inputs):
    frag = all_inputs.fragment_source
    assert frag.startswith("#version 330 core\n")
    for name in engine_uniform_names():
        assert len(re.findall(rf"uniform \w+ {name}\b", frag)) == 1, name
    assert "uniform float speed;" in frag and "uniform vec4 tint;" in frag
    assert "uniform sampler2D spectrum;" in frag and "uniform int mode;" in frag
    assert "out vec4 isf_FragColor;" in frag and "in vec2 isf_FragNormCoord;" in frag
    assert "gl_FragColor" not in "\n".join(_code_lines(frag))
    assert all_inputs.vertex_source.startswith("#version 330 core\n")
    assert "isf_vertShaderInit();" in all_inputs.vertex_source


def test_old_glsl_is_rewritten():
    shader = load_isf(FIXTURES / "legacy_v1.fs")
    code = "\n".join(_code_lines(shader.fragment_source))
    for old in ("gl_FragColor", "gl_FragData", "texture2D", "varying", "vv_FragNormCoord", "#version 120"):
        assert old not in code, old
    lines = shader.fragment_source.split("\n")
    assert lines[0] == "#version 330 core"
    assert lines[1] == "#extension GL_ARB_shader_bit_encoding : enable"  # hoisted above all code
    assert "in vec2 unusedCoord;" in code
    assert "texture(inputImage, isf_FragNormCoord)" in code


def test_names_the_shader_declares_itself_are_not_redeclared():
    shader = load_isf(FIXTURES / "third_party_names.fs")
    frag = shader.fragment_source
    declared = re.findall(r"^uniform \w+ (\w+)", frag, re.MULTILINE)
    assert declared.count("TIME") == 1      # the shader's own
    assert declared.count("BASS") == 1      # the INPUT, not the engine's
    assert "BEAT" not in declared           # a const global in the shader
    assert declared.count("TREB") == 1      # only shadowed by a parameter: still the engine's
    assert "out vec4 isf_FragColor;" not in frag  # the shader has its own output
    assert shader.uses("TREB") and not shader.uses("PREV_FRAME")


def test_global_declaration_detection():
    code = """
    #define BPM 120.0
    uniform float TIME;  // a comment: float BASS;
    /* float MID; */
    float helper(float RMS) { float TREB = 1.0; return RMS + TREB; }
    vec4 ONSET(vec2 p) { return vec4(p, 0.0, 1.0); }
    float BANDS[4];
    """
    names = ["BPM", "TIME", "BASS", "MID", "RMS", "TREB", "ONSET", "BANDS", "BEAT"]
    assert global_declared_names(code, names) == {"BPM", "TIME", "ONSET", "BANDS"}


def test_line_map_points_into_the_shader_and_includes():
    shader = load_isf(FIXTURES / "nested_include.fs")
    source_lines = shader.fragment_source.split("\n")
    main_line = source_lines.index("void isf_main() {") + 1  # the file's main, renamed
    origin = shader.fragment_map.origin(main_line)
    assert origin.file.endswith("nested_include.fs") and origin.line == 3
    inner = next(i for i, line in enumerate(source_lines, 1) if line.startswith("float inner_value"))
    assert shader.fragment_map.origin(inner).file.endswith("include/nested_inner.glsl")
    # An engine uniform maps into shaders/common/engine.glsl.
    time_line = next(i for i, line in enumerate(source_lines, 1) if line.startswith("uniform float TIME;"))
    origin = shader.fragment_map.origin(time_line)
    assert origin.file.endswith("shaders/common/engine.glsl")
    assert ENGINE_GLSL.read_text().split("\n")[origin.line - 1].startswith("uniform float TIME;")


def test_custom_vertex_shader_is_used_and_rewritten():
    shader = load_isf(FIXTURES / "custom_vertex.fs")
    assert shader.vertex_path == FIXTURES / "custom_vertex.vs"
    vert = shader.vertex_source
    assert "out vec2 flipped;" in vert and "varying" not in "\n".join(_code_lines(vert))
    assert "uniform float offset;" in vert
    assert "in vec2 flipped;" in shader.fragment_source
    assert shader.vertex_map.origin(vert.split("\n").index("out vec2 flipped;") + 1).file.endswith(
        "custom_vertex.vs")


SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "isf_spec"


def test_fragment_inputs_no_vertex_shader_writes_are_declared_and_written_there():
    shader = load_isf(SPEC / "unfed_inputs.fs")
    code = "\n".join(_code_lines(shader.vertex_source))
    for declaration in ("out vec2 centre_coord;", "out vec2 taps[3];", "out float level;",
                        "out mat2 turn;"):
        assert declaration in code
    assert "centre_coord = isf_Position * 0.5 + 0.5;" in code and "turn = mat2(1.0);" in code
    # One warning, at the first declaration's line, naming the missing .vs and every input.
    [warning] = shader.warnings
    assert warning.split(": ", 1)[0].endswith("unfed_inputs.fs:8")
    assert "no unfed_inputs.vs beside the file" in warning
    assert "centre_coord, taps read this fragment's normalised coordinate" in warning
    assert "level, turn read 0 (matrices: the identity)" in warning


def test_inputs_the_vs_writes_are_left_to_it():
    shader = load_isf(SPEC / "half_fed.fs")
    code = "\n".join(_code_lines(shader.vertex_source))
    assert code.count("out vec2 shifted;") == 1 and "shifted = isf_Position" not in code
    assert "out vec2 forgotten;" in code and "forgotten = isf_Position * 0.5 + 0.5;" in code
    assert "half_fed.vs does not write: forgotten read" in shader.warnings[0]
    # A complete .vs changes nothing: no renamed main, no warning.
    complete = load_isf(FIXTURES / "custom_vertex.fs")
    assert "isf_vs_main" not in complete.vertex_source and not complete.warnings


def test_stage_variables_read_qualifiers_arrays_and_both_branches_of_an_if():
    plain = ("#if __VERSION__ <= 120\nin vec2 a;\n#else\nin vec2 a;\n#endif\n"
             "flat in int n; in highp vec3 c[4];\nvoid f(in vec2 p) { in_use(p); }\nout vec4 o;")
    found = stage_variables(plain, "in")
    assert list(found) == ["a", "n", "c"]
    assert found["n"].qualifiers == "flat" and found["c"].size == 4 and found["c"].type_name == "vec3"
    assert list(stage_variables(plain, "out")) == ["o"]


def test_commented_include_does_not_reach_moderngl():
    # moderngl replaces `#include "x"` even inside comments and fails on unknown names.
    shader = load_isf(FIXTURES / "common_helpers.fs")
    assert '#include "' not in shader.fragment_source


def test_engine_glsl_and_the_renderer_agree_on_names():
    from live.render.program import ENGINE_TEXTURE_FIELDS, ENGINE_VALUE_FIELDS, PER_PASS_UNIFORMS

    declared = engine_uniform_names()
    assert len(declared) == len(set(declared))
    assert set(declared) == set(ENGINE_VALUE_FIELDS) | set(ENGINE_TEXTURE_FIELDS) | set(PER_PASS_UNIFORMS)


# ---- glslangValidator ------------------------------------------------------------------------

GLSLANG = shutil.which("glslangValidator")
OUR_SHADERS = sorted(p for p in REPO_SHADERS.rglob("*") if p.suffix in (".fs", ".frag")
                     and "common" not in p.relative_to(REPO_SHADERS).parts)
VALID_FIXTURES = sorted(p for p in FIXTURES.glob("*.fs") if p.name not in BROKEN_FIXTURES)


def _validate(source: str, stage: str, tmp_path: Path, mapped) -> None:
    file = tmp_path / f"shader.{stage}"
    file.write_text(source)
    result = subprocess.run([GLSLANG, "-S", stage, str(file)], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        messages = "\n".join(str(m) for m in map_compiler_log(result.stdout + result.stderr, mapped))
        pytest.fail(f"glslangValidator refused the {stage} shader:\n{messages or result.stdout}")


@pytest.mark.skipif(GLSLANG is None, reason="glslangValidator not installed (Debian: glslang-tools)")
@pytest.mark.parametrize("path", VALID_FIXTURES + OUR_SHADERS,
                         ids=lambda p: str(p.relative_to(p.parents[1])))
def test_glslang_accepts_translated_source(path, tmp_path):
    shader = load_isf(path)
    _validate(shader.fragment_source, "frag", tmp_path, shader.fragment_map)
    _validate(shader.vertex_source, "vert", tmp_path, shader.vertex_map)


@pytest.mark.skipif(GLSLANG is None, reason="glslangValidator not installed (Debian: glslang-tools)")
def test_glslang_errors_map_back_to_the_include(tmp_path):
    shader = load_isf(FIXTURES / "broken_include.fs")
    file = tmp_path / "shader.frag"
    file.write_text(shader.fragment_source)
    result = subprocess.run([GLSLANG, "-S", "frag", str(file)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    first = map_compiler_log(result.stdout, shader.fragment_map)[0]
    assert first.file.endswith("include/broken_helper.glsl") and first.line == 5
    assert "undefinedThing" in first.message


def test_imported_cube_maps_declare_a_sampler_cube_and_list_their_faces(tmp_path):
    from live.render.isf import shader_dependencies

    faces = ["px.png", "nx.png", "py.png", "ny.png", "pz.png", "nz.png"]
    (tmp_path / "sky").mkdir()
    for face in faces:
        (tmp_path / "sky" / face).write_bytes(b"not decoded at load")
    entry = {"TYPE": "cube", "PATH": [f"sky/{f}" for f in faces]}
    body = "void main() { gl_FragColor = textureCube(env, vec3(1.0, 0.0, 0.0)); }\n"
    shader = load_isf(write_shader(tmp_path, {"IMPORTED": {"env": entry}}, body))  # object form
    assert shader.imported == {}
    assert shader.imported_cubes["env"].faces == tuple((tmp_path / "sky" / f).resolve() for f in faces)
    assert "uniform samplerCube env;" in shader.fragment_source
    assert "texture(env, vec3(1.0, 0.0, 0.0))" in shader.fragment_source
    assert set(shader.imported_cubes["env"].faces) <= set(shader_dependencies(shader))
    listed = load_isf(write_shader(tmp_path, {"IMPORTED": [{"NAME": "env", **entry}]}, body,
                                   name="list.fs"))  # ISF 1.0's list form
    assert listed.imported_cubes["env"].faces == shader.imported_cubes["env"].faces
    assert listed.imported_cubes["env"].line == line_of(tmp_path / "list.fs", '"NAME": "env"')
    # Errors name the header entry's line.
    path = write_shader(tmp_path, {"IMPORTED": {"env": {"TYPE": "cube", "PATH": faces[:5]}}},
                        name="five.fs")
    line = line_of(path, '"env"')
    with pytest.raises(ShaderSourceError, match=rf"five\.fs:{line}: .*has 5 "
                                                "PATH entries; a cube map needs six"):
        load_isf(path)
    path = write_shader(tmp_path, {"IMPORTED": {"env": {"TYPE": "cube", "PATH": "px.png"}}},
                        name="one.fs")
    with pytest.raises(ShaderSourceError, match="needs a PATH list of six image files"):
        load_isf(path)


def test_a_madmapper_material_is_named_for_what_it_is(tmp_path):
    """MadMapper materials borrow ISF's header but are another format; the checker reports
    unsupported:madmapper_material instead of a compile error on a missing MadMapper library."""
    from live.render.shader_source import UnsupportedFeatureError

    path = tmp_path / "material.fs"
    path.write_text('/*{\n  "RESOURCE_TYPE": "Material For MadMapper",\n  "INPUTS": []\n}*/\n'
                    '#include "MadCommon.glsl"\n'
                    'vec4 materialColorForPixel(vec2 texCoord) { return vec4(texCoord, 0., 1.); }\n')
    with pytest.raises(UnsupportedFeatureError) as info:
        load_isf(path)
    assert info.value.feature == "madmapper_material" and info.value.line == 1
    assert "MadMapper material" in info.value.message
    # Without the header key, the entry point gives it away; an ISF file with a main() that
    # happens to define such a function is still ISF.
    path.write_text('/*{"INPUTS": []}*/\nvec4 materialColorForPixel(vec2 uv) { return vec4(uv, 0., 1.); }\n')
    with pytest.raises(UnsupportedFeatureError):
        load_isf(path)
    path.write_text('/*{"INPUTS": []}*/\nvec4 materialColorForPixel(vec2 uv) { return vec4(uv, 0., 1.); }\n'
                    'void main() { gl_FragColor = materialColorForPixel(isf_FragNormCoord); }\n')
    assert load_isf(path).kind == "generator"

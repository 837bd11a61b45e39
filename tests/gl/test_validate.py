"""Out-of-process shader validation: errors with file and line, timeouts, worker reuse, scenes, CLI.

The validator runs shaders in a child process with its own EGL context, so these tests need GL
in a child, not the session context; they skip (with the reason) where the child has none.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from live.render.shader_source import REPO_SHADERS, default_search_roots
from live.render.validate import (
    ShaderValidator,
    ValidatorError,
    main,
    validate_scene_file,
    validate_shader,
)

pytestmark = pytest.mark.gl

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shaders"
#: Generous: a loaded CI machine compiles these tiny shaders in well under a second.
TIMEOUT = 20.0

#: Runs far longer than the 2 s timeout on any driver, yet ends by itself. llvmpipe stops a loop
#: after 65535 iterations, so each iteration does 512 dependent sines, and the test renders
#: 256x144 (LOOP_SIZE) so that even a many-core CPU needs minutes. It is finite on purpose: on a
#: GPU, a killed worker's frame may keep running on the device until it ends: on an NVIDIA H200,
#: GL tests run after an endless one failed (stale pictures) and passed in a run without it.
HUGE_LOOP = """/*{ "ISFVSN": "2" }*/
#define S x = sin(x * 1.0001 + TIME);
#define S8 S S S S S S S S
#define S64 S8 S8 S8 S8 S8 S8 S8 S8
void main() {
    float x = 0.0;
    for (int i = 0; i < 2000000; i++) { S64 S64 S64 S64 S64 S64 S64 S64 }
    gl_FragColor = vec4(x);
}
"""
LOOP_SIZE = (256, 144)


@pytest.fixture(scope="module")
def validator():
    # The fixtures folder is a search root, so scenes can name fixture shaders.
    with ShaderValidator([FIXTURES, *default_search_roots()], timeout=TIMEOUT) as v:
        if not v.start():
            pytest.skip(f"no OpenGL in the validator's child process: {v._unavailable}")
        yield v


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_a_good_shader_passes_and_lists_the_files_it_depends_on(validator):
    result = validator.validate(FIXTURES / "nested_include.fs")
    assert result.ok, result.message
    assert result.outcome == "ok" and result.message == "" and result.line is None
    names = {p.name for p in result.files}
    assert {"nested_include.fs", "nested_outer.glsl", "nested_inner.glsl", "engine.glsl",
            "isf.glsl"} <= names
    assert all(p.is_absolute() for p in result.files)
    # A companion vertex shader that does not exist yet is listed: creating one changes the shader.
    assert (FIXTURES / "nested_include.vs").resolve() in result.files


def test_a_compile_error_names_the_shader_file_and_line(validator):
    result = validator.validate(FIXTURES / "broken_body.fs")
    assert not result.ok and result.outcome == "error"
    assert result.file.endswith("broken_body.fs")
    assert result.line == 8
    assert "notDeclared" in result.message


def test_an_error_inside_an_include_names_the_include(validator):
    result = validator.validate(FIXTURES / "broken_include.fs")
    assert not result.ok
    assert result.file.endswith("include/broken_helper.glsl")
    assert result.line == 5
    assert "undefinedThing" in result.message


def test_an_invalid_json_header_names_its_line(validator, tmp_path):
    path = write(tmp_path, "bad_header.fs", """\
        /*{
            "ISFVSN": "2",
            "INPUTS": [ {"NAME": "x" "TYPE": "float"} ]
        }*/
        void main() { gl_FragColor = vec4(1.0); }
        """)
    result = validator.validate(path)
    assert not result.ok
    assert result.file.endswith("bad_header.fs") and result.line == 3
    assert "JSON" in result.message


def test_a_missing_file_is_an_error_not_an_exception(validator, tmp_path):
    result = validator.validate(tmp_path / "nope.fs")
    assert not result.ok and result.outcome == "error"
    assert "nope.fs" in result.file and "cannot read" in result.message


def test_image_inputs_are_bound_to_an_opaque_test_picture(validator, tmp_path):
    # 1/alpha is infinite where the input reads transparent black (no texture bound); the
    # validator warns about non-finite pixels, so no warning means a real picture was bound.
    effect = write(tmp_path, "divide.fs", """\
        /*{ "ISFVSN": "2", "INPUTS": [ {"NAME": "inputImage", "TYPE": "image"} ] }*/
        void main() {
            vec4 c = IMG_THIS_NORM_PIXEL(inputImage);
            gl_FragColor = vec4(c.rgb / c.a, 1.0);
        }
        """)
    nan = write(tmp_path, "nan.fs", """\
        /*{ "ISFVSN": "2" }*/
        void main() { gl_FragColor = vec4(sqrt(-1.0 - TIME)); }
        """)
    assert validator.validate(effect).warnings == ()
    result = validator.validate(nan)
    assert result.ok  # a warning, not a failure: the picture may still be what the artist wants
    assert any("NaN" in w for w in result.warnings)


def test_the_worker_is_reused_between_validations(validator):
    starts = validator.starts
    pid = validator.worker_pid
    for name in ("generators/plasma.fs", "effects/vignette.fs", "warps/feedback.fs"):
        assert validator.validate(REPO_SHADERS / name).ok
    assert validator.starts == starts and validator.worker_pid == pid


def test_validate_shader_runs_one_shot_in_a_fresh_process(tmp_path):
    path = write(tmp_path, "red.fs",
                 '/*{ "ISFVSN": "2" }*/\nvoid main() { gl_FragColor = vec4(1, 0, 0, 1); }\n')
    result = validate_shader(path, timeout=TIMEOUT)
    if result.outcome == "unavailable":
        pytest.skip(f"no OpenGL in the validator's child process: {result.message}")
    assert result.ok and result.seconds > 0


@pytest.mark.slow
def test_a_runaway_shader_times_out_and_the_next_validation_gets_a_new_worker(tmp_path):
    loop = write(tmp_path, "loop.fs", HUGE_LOOP)
    with ShaderValidator(timeout=2.0, size=LOOP_SIZE) as v:
        if not v.start():
            pytest.skip("no OpenGL in the validator's child process")
        first_pid = v.worker_pid
        result = v.validate(loop)
        assert not result.ok and result.outcome == "timeout"
        assert result.message == "timed out after 2 s (infinite loop?)"
        assert result.file.endswith("loop.fs")
        assert 2.0 <= result.seconds < 5.0  # measured at the timeout, not after the kill
        assert v.worker_pid is None  # killed
        good = v.validate(REPO_SHADERS / "generators" / "plasma.fs")
        assert good.ok
        assert v.starts == 2 and v.worker_pid not in (None, first_pid)


def test_a_validator_whose_worker_cannot_start_says_so(tmp_path):
    v = ShaderValidator(python=sys.executable + "-does-not-exist")
    with pytest.raises(ValidatorError, match="cannot start the shader validator"):
        v.validate(REPO_SHADERS / "generators" / "plasma.fs")
    v.close()
    with pytest.raises(ValidatorError, match="closed"):
        v.validate(REPO_SHADERS / "generators" / "plasma.fs")


def test_a_worker_that_does_not_start_in_time_is_reported():
    with ShaderValidator(start_timeout=0.001) as v:
        with pytest.raises(ValidatorError, match="did not start within"):
            v.validate(REPO_SHADERS / "generators" / "plasma.fs")
        assert v.worker_pid is None


def test_bad_settings_are_refused_with_the_allowed_values():
    with pytest.raises(ValueError, match="timeout must be"):
        ShaderValidator(timeout=0)
    with pytest.raises(ValueError, match="size must be"):
        ShaderValidator(size=(0, 10))
    with pytest.raises(ValueError, match="frames must be"):
        ShaderValidator(frames=0)


def test_submit_returns_a_future(validator):
    future = validator.submit(REPO_SHADERS / "generators" / "gradient.fs")
    assert future.result(timeout=TIMEOUT + 5).ok


# -- scenes -------------------------------------------------------------------------------------

SCENE = """\
schema = 1
[scene]
name = "two"
[[layers]]
id = "a"
kind = "shader"
source = "{a}"
[[layers]]
id = "b"
kind = "shader"
source = "{b}"
blend = "add"
[[layers.fx]]
id = "v"
shader = "effects/vignette"
"""


def test_a_scene_file_validates_each_shader_once(validator, tmp_path):
    scene = tmp_path / "scene.toml"
    scene.write_text(SCENE.format(a="generators/plasma", b="generators/plasma"))
    results = validate_scene_file(scene, validator=validator)
    assert [r.ok for r in results] == [True, True, True]
    assert [Path(r.file).name for r in results] == ["scene.toml", "plasma.fs", "vignette.fs"]
    assert scene.resolve() in results[0].files
    assert any(p.name == "plasma.fs" for p in results[0].files)


def test_a_scene_with_a_broken_shader_reports_the_shader(validator, tmp_path):
    scene = tmp_path / "scene.toml"
    scene.write_text(SCENE.format(a="generators/plasma", b="broken_body"))
    results = validate_scene_file(scene, validator=validator)
    assert results[0].ok
    bad = [r for r in results if not r.ok]
    assert len(bad) == 1 and bad[0].file.endswith("broken_body.fs") and bad[0].line == 8


def test_a_scene_error_names_the_scene_file_key_and_line(validator, tmp_path):
    scene = tmp_path / "scene.toml"
    scene.write_text(SCENE.format(a="generators/plasma", b="generators/plasma").replace(
        'blend = "add"', 'blnd = "add"'))
    (result,) = validate_scene_file(scene, validator=validator)
    assert not result.ok and result.file == str(scene) and result.line == 12
    assert "blnd" in result.message and "did you mean 'blend'" in result.message


def test_a_scene_naming_a_missing_shader_points_at_the_source_key(validator, tmp_path):
    scene = tmp_path / "scene.toml"
    scene.write_text(SCENE.format(a="generators/plasmaa", b="generators/plasma"))
    (result,) = validate_scene_file(scene, validator=validator)
    assert not result.ok and result.line == 7
    assert "layers[0] (id 'a').source" in result.message
    assert "generators/plasma" in result.message  # the "did you mean" hint


# -- command line -------------------------------------------------------------------------------


def test_the_command_line_prints_one_line_per_file_and_fails_on_errors(capsys, validator):
    code = main([str(REPO_SHADERS / "generators" / "plasma.fs"), str(FIXTURES / "broken_body.fs"),
                 "--timeout", str(TIMEOUT)])
    out = capsys.readouterr().out.splitlines()
    if any("not validated" in line for line in out):
        pytest.skip("no OpenGL in the validator's child process")
    assert code == 2
    assert out[0].startswith("OK   ") and out[0].split()[1].endswith("plasma.fs")
    assert out[1].startswith("FAIL ") and "broken_body.fs:8: " in out[1] and "notDeclared" in out[1]
    assert main([str(REPO_SHADERS / "generators" / "plasma.fs")]) == 0


def test_add_parser_registers_an_echoel_validate_command(capsys, validator):
    import argparse

    from live.render.validate import add_parser

    parser = argparse.ArgumentParser(prog="echoel")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["validate", str(FIXTURES / "broken_body.fs"), "--timeout", "20"])
    assert args.func(args) == 2
    assert "broken_body.fs:8: " in capsys.readouterr().out

"""ISF 2.0 as a performer's files use it: every input type, passes re-sized by inputs, audio
inputs, old GLSL from lenient drivers, and transitions as the engine's crossfade. Each test
reads back float pixels and compares them with values known exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from live.clock import ManualClock
from live.engine import Engine
from live.render.context import release_framebuffers
from live.render.importer import (
    drive_isf_inputs,
    picture_stats,
    point_range,
    show_date,
    strict_check,
)
from live.render.isf import ShaderParamError, load_isf, repair_source
from live.render.layers.stage import ShaderStage
from live.render.program import EngineUniforms, IsfRenderer, TransitionRenderer
from live.render.shader_source import MappedSource, default_search_roots
from live.scene import parse_scene

pytestmark = pytest.mark.gl

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "isf_spec"
ENGINE_ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]


def float_target(ctx, size):
    tex = ctx.texture(size, 4, dtype="f4")
    return tex, ctx.framebuffer(color_attachments=[tex])


def read(fbo) -> np.ndarray:
    w, h = fbo.size
    return np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32).reshape(h, w, 4)


def texture(ctx, pixels: np.ndarray):
    pixels = np.asarray(pixels, np.float32)
    h, w = pixels.shape[:2]
    c = 1 if pixels.ndim == 2 else pixels.shape[2]
    return ctx.texture((w, h), c, np.ascontiguousarray(pixels).tobytes(), dtype="f4")


def render_once(ctx, shader, size, params=None, images=None, engine=None) -> np.ndarray:
    """One frame of `shader` at `size` as float RGBA [row, column], row 0 at the bottom."""
    renderer = IsfRenderer(ctx, shader)
    tex, fbo = float_target(ctx, size)
    try:
        renderer.render(fbo, size, params or {}, images or {}, engine or EngineUniforms())
        return read(fbo).copy()
    finally:
        renderer.release()
        release_framebuffers(ctx, fbo, tex)


# ---- inputs ---------------------------------------------------------------------------------


def test_every_value_input_type_reaches_the_shader_exactly(ctx):
    shader = load_isf(SPEC / "values.fs")
    stage = ShaderStage(shader, {"flag": True, "choice": "high", "level": 3.0, "pos": [7, 1],
                                 "tint": [0.1, 0.2, 0.3]})
    stage.setup(ctx)
    tex, fbo = float_target(ctx, (3, 1))
    try:
        stage.set("pulse", True)
        stage.render(fbo, (3, 1), {}, EngineUniforms())
        first = read(fbo)[0].copy()
        stage.render(fbo, (3, 1), {}, EngineUniforms())
        second = read(fbo)[0]
    finally:
        stage.release()
        release_framebuffers(ctx, fbo, tex)
    np.testing.assert_allclose(first[0], [1.0, 1.0, 0.9, 0.75], atol=1e-6)  # label "high" = 9
    np.testing.assert_allclose(first[1], [0.7, 0.1, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(first[2], [0.1, 0.2, 0.3, 1.0], atol=1e-6)  # alpha defaults to 1
    assert second[0][1] == 0.0  # the event was true for exactly one frame


def test_defaults_apply_and_bad_values_name_the_input_and_the_range(ctx):
    shader = load_isf(SPEC / "values.fs")
    assert shader.defaults() == {"flag": False, "pulse": False, "choice": 5, "level": 1.0,
                                 "pos": (2.0, 3.0), "tint": (0.25, 0.5, 0.75, 1.0)}
    with pytest.raises(ShaderParamError, match=r"'level'.*outside its range 0\.0\.\.4\.0"):
        shader.validate_params({"level": 5})
    with pytest.raises(ShaderParamError, match=r"'choice'.*3 is not one of its values"):
        shader.validate_params({"choice": 3})


def test_passes_resize_when_the_input_in_their_size_expression_changes(ctx):
    shader = load_isf(SPEC / "passes.fs")
    renderer = IsfRenderer(ctx, shader)
    tex, fbo = float_target(ctx, (8, 1))
    try:
        for _ in range(3):
            renderer.render(fbo, (8, 1), {"div": 2}, {}, EngineUniforms())
        three = read(fbo)[0, 0].copy()
        renderer.render(fbo, (8, 1), {"div": 4}, {}, EngineUniforms())
        four = read(fbo)[0, 0]
        assert renderer.target_size("small") == (2, 1)
    finally:
        renderer.release()
        release_framebuffers(ctx, fbo, tex)
    # small is 8/2 = 4 px wide and saw RENDERSIZE = (4, 1), stored in 8 bits; acc is FLOAT,
    # 3 frames of +0.25 (then a fourth).
    np.testing.assert_allclose(three, [0.04, 10 / 255, 0.75, 0.2], atol=1e-6)
    np.testing.assert_allclose(four, [0.02, 5 / 255, 1.0, 0.2], atol=1e-6)


def test_audio_inputs_read_the_live_analysis_textures(ctx):
    wave = texture(ctx, np.array([[0.1, 0.2, 0.3, 0.4]]))
    fft = texture(ctx, np.array([[0.9, 0.8, 0.7, 0.6]]))
    try:
        out = render_once(ctx, load_isf(SPEC / "audio.fs"), (4, 1),
                          engine=EngineUniforms(audio_wave=wave, audio_fft=fft))[0]
    finally:
        release_framebuffers(ctx, wave, fft)
    np.testing.assert_allclose(out[:, 0], [0.1, 0.2, 0.3, 0.4], atol=1e-6)
    np.testing.assert_allclose(out[:, 1], [0.9, 0.8, 0.7, 0.6], atol=1e-6)


# ---- old GLSL --------------------------------------------------------------------------------


def test_old_glsl_from_lenient_drivers_runs_with_exact_results(ctx):
    shader = load_isf(SPEC / "legacy.fs")
    image = texture(ctx, np.tile([0.0, 0.0, 0.6, 1.0], (2, 5, 1)))  # 5 x 2 pixels
    try:
        out = render_once(ctx, shader, (2, 1), images={"inputImage": image})[0]
    finally:
        release_framebuffers(ctx, image)
    np.testing.assert_allclose(out[0], [0.5, 0.5, 1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(out[1], [0.5, 0.2, 0.6, 0.6], atol=1e-6)
    # The implicit conversions were repaired where the compiler pointed, and said so.
    repaired = "\n".join(shader.warnings)
    assert "legacy.fs:14" in repaired and "legacy.fs:18" in repaired and "legacy.fs:19" in repaired


@pytest.mark.skipif(shutil.which("glslangValidator") is None,
                    reason="glslangValidator (Debian glslang-tools) is not installed")
def test_translated_old_glsl_passes_the_strict_compiler(ctx):
    shader = load_isf(SPEC / "legacy.fs")
    IsfRenderer(ctx, shader).release()  # compiling applies the repairs to the shader's text
    assert strict_check("frag", shader.fragment_source, shader.fragment_map) is None
    assert strict_check("vert", shader.vertex_source, shader.vertex_map) is None


def test_inputs_named_like_builtins_keep_the_builtins_callable(ctx):
    shader = load_isf(SPEC / "builtin_names.fs")
    assert [inp.uniform_name for inp in shader.inputs] == ["isf_in_mix", "isf_in_step"]
    stage = ShaderStage(shader, {"mix": 0.75})
    stage.setup(ctx)
    tex, fbo = float_target(ctx, (1, 1))
    try:
        stage.render(fbo, (1, 1), {}, EngineUniforms())
        out = read(fbo)[0][0]
    finally:
        stage.release()
        release_framebuffers(ctx, fbo, tex)
    # mix(0, 1, 0.75); step's default; step(0.5, 0.75) = 1; the helper function reads the input
    np.testing.assert_allclose(out, [0.75, 0.25, 1.0, 0.75], atol=1e-6)
    if shutil.which("glslangValidator") is not None:
        assert strict_check("frag", shader.fragment_source, shader.fragment_map) is None


def test_glsl_120_habits_play_as_on_their_hosts(ctx):
    # Names 3.30 reserves (an input `smooth`, a function `flat`), "TRUE" as a bool DEFAULT,
    # an input named like the HLSL helper `saturate`, and an alpha the file never writes.
    shader = load_isf(SPEC / "old_dialect.fs")
    assert [inp.uniform_name for inp in shader.inputs] == ["isf_in_smooth", "saturate", "lit"]
    assert shader.inputs[2].default is True
    warnings = "\n".join(shader.warnings)
    assert "old_dialect.fs:6" in warnings and "isf_in_smooth" in warnings
    assert "old_dialect.fs:8" in warnings and "'TRUE' read as true" in warnings
    out = render_once(ctx, shader, (1, 1))[0][0]
    # smooth, saturate, flat(1.5) = 0.75; the unwritten alpha is opaque, not Mesa's 0
    np.testing.assert_allclose(out, [0.25, 0.5, 0.75, 1.0], atol=1e-6)
    if shutil.which("glslangValidator") is not None:
        assert strict_check("frag", shader.fragment_source, shader.fragment_map) is None


def test_alpha_the_file_writes_is_kept(ctx):
    out = render_once(ctx, load_isf(SPEC / "transparent.fs"), (1, 1))[0][0]
    np.testing.assert_allclose(out, [0.2, 0.4, 0.6, 0.0], atol=1e-6)
    stats = picture_stats([out.reshape(1, 1, 4)])
    assert stats.transparent and not stats.nonconstant
    # Measured as rendered (issue 9's definition): RGB that moves under alpha 0 counts as
    # moving, and the checker flags the file as invisible in a scene.
    moving = picture_stats([out.reshape(1, 1, 4), (out * [0.5, 0.5, 0.5, 1.0]).reshape(1, 1, 4)])
    assert moving.nonconstant and moving.transparent
    assert moving.hidden_change == pytest.approx(0.3, abs=1e-6)


def test_repair_leaves_what_it_cannot_fix_alone():
    source = MappedSource()
    source.append_lines("void main() {\n    int i = 2.0;\n}", "f.fs", 1)
    log = "0:2(9): error: initializer of type float cannot be assigned to variable of type int"
    fixed, remarks = repair_source(source, log)
    assert fixed.lines[1] == "    int i = int(2.0);" and remarks[0].startswith("f.fs:2:")
    assert repair_source(source, "0:2(9): error: `x' undeclared") is None


def test_ossia_extensions_render_exactly(ctx):
    """point3D reaches the shader as a vec3, "1" reads as true, an input named `output` works
    through its renamed uniform, and a .vs ending with isf_vertShaderFinish() links."""
    shader = load_isf(SPEC / "ossia_ext.fs")
    tex, fbo = float_target(ctx, (1, 1))
    renderer = IsfRenderer(ctx, shader)
    try:
        renderer.render(fbo, (1, 1), shader.defaults(), {}, EngineUniforms())
        inverted_halved = read(fbo)[0][0]
        renderer.render(fbo, (1, 1), {"rot": (1.0, 0.0, 0.5), "invert": False, "output": 0}, {},
                        EngineUniforms())
        plain = read(fbo)[0][0]
    finally:
        renderer.release()
        release_framebuffers(ctx, fbo, tex)
    np.testing.assert_allclose(inverted_halved, [0.5, 0.375, 0.25, 1.0], atol=1e-6)
    np.testing.assert_allclose(plain, [1.125, 0.125, 0.625, 1.0], atol=1e-6)
    if shutil.which("glslangValidator") is not None:
        assert strict_check("frag", shader.fragment_source, shader.fragment_map) is None
        assert strict_check("vert", shader.vertex_source, shader.vertex_map) is None


def test_image_helpers_take_a_bias_argument(ctx):
    shader = load_isf(SPEC / "bias.fs")
    picture = texture(ctx, np.array([[[0.25, 0.75, 0.0, 1.0], [0.5, 0.125, 0.0, 1.0]]]))
    try:
        out = render_once(ctx, shader, (2, 1), images={"inputImage": picture})[0]
    finally:
        picture.release()
    np.testing.assert_allclose(out[:, :2], [[0.25, 0.75], [0.5, 0.125]], atol=1e-6)
    if shutil.which("glslangValidator") is not None:
        assert strict_check("frag", shader.fragment_source, shader.fragment_map) is None


def test_a_copy_of_a_builtin_is_left_out_so_the_other_overloads_still_compile(ctx):
    shader = load_isf(SPEC / "builtin_copy.fs")
    assert any("builtin_copy.fs:7:" in w and "int min(int, int) redefines a GLSL built-in" in w
               for w in shader.warnings)
    out = render_once(ctx, shader, (1, 1))[0][0]
    np.testing.assert_allclose(out, [0.25, 0.75, 0.5, 1.0], atol=1e-6)


def test_a_converters_frag_norm_coord_slip_reads_as_what_it_was(ctx):
    shader = load_isf(SPEC / "converter_slip.fs")
    assert sum("converter's slip" in w for w in shader.warnings) == 2
    out = render_once(ctx, shader, (4, 2))
    # Pixel (2, 1) has its centre at (2.5, 1.5): p = that / width 4, q.x = 2.5 / height 2 * 0.5.
    np.testing.assert_allclose(out[1][2][:3], [2.5 / 4, 1.5 / 4, 2.5 / 2 * 0.5], atol=1e-6)


def test_implicit_int_to_uint_compiles_as_glsl_410(ctx):
    shader = load_isf(SPEC / "uint_mix.fs")
    out = render_once(ctx, shader, (1, 1))[0][0]
    np.testing.assert_allclose(out, [0.75, 1.0, 0.0, 1.0], atol=1e-6)
    assert shader.fragment_source.startswith("#version 410 core")
    assert any("compiled as GLSL 4.10" in w for w in shader.warnings)
    if shutil.which("glslangValidator") is not None:
        assert strict_check("frag", shader.fragment_source, shader.fragment_map) is None


# ---- transitions -----------------------------------------------------------------------------


def solid(name: str, rgb) -> object:
    text = (f'schema = 1\n[scene]\nname = "{name}"\n[[layers]]\nid = "a"\nkind = "shader"\n'
            f'source = "e/solid"\nparams = {{ color = [{rgb[0]}, {rgb[1]}, {rgb[2]}, 1.0] }}\n')
    return parse_scene(text, f"{name}.toml")


def test_transition_shader_is_the_engines_crossfade_and_its_inputs_are_parameters(ctx):
    shader = load_isf(SPEC / "crossfade.fs")
    assert shader.kind == "transition"
    engine = Engine(ctx, (16, 8), ManualClock(), shader_roots=ENGINE_ROOTS)
    transition = TransitionRenderer(ctx, shader, {"gain": 1.0})
    engine.transition = transition
    try:
        engine.load_scene(solid("a", (1.0, 0.0, 0.0)))
        engine.tick()
        engine.load_scene(solid("b", (0.0, 0.0, 1.0)), fade=1.0)
        seen = []
        for t in (0.0, 0.25, 0.5, 1.0):
            engine.clock.set(t)
            engine.tick()
            seen.append(engine.read_rgba()[4, 8, :3].astype(float) / 255)
        transition.set_mapped("gain", 0.5)
        engine.load_scene(solid("c", (0.0, 1.0, 0.0)), fade=1.0)
        engine.clock.set(1.5)
        engine.tick()
        halved = engine.read_rgba()[4, 8, :3].astype(float) / 255
    finally:
        engine.release()
        transition.release()
    # Linear progress through the shader (the plain mix would ease with smoothstep).
    np.testing.assert_allclose(seen[1], [0.75, 0.0, 0.25], atol=1.5 / 255)
    np.testing.assert_allclose(seen[2], [0.5, 0.0, 0.5], atol=1.5 / 255)
    np.testing.assert_allclose(seen[3], [0.0, 0.0, 1.0], atol=1.5 / 255)
    np.testing.assert_allclose(halved, [0.0, 0.25, 0.25], atol=1.5 / 255)  # gain 0.5, half way
    assert transition.param_names() == ["gain"]


def test_a_shader_that_is_not_a_transition_is_refused(ctx):
    with pytest.raises(ShaderParamError, match="not an ISF transition"):
        TransitionRenderer(ctx, load_isf(SPEC / "values.fs"))


# ---- what the compatibility benchmark does to a shader --------------------------------------


def test_performer_drive_holds_the_defaults_then_moves_every_kind_of_input_within_its_range():
    shader = load_isf(SPEC / "values.fs")
    frames = [drive_isf_inputs(shader, i, 30, (64, 64)) for i in range(30)]
    # The first half of the run shows the shader at its defaults, as a performer first sees it.
    defaults = {"flag": False, "pulse": False, "choice": 5, "level": 1.0, "pos": (2.0, 3.0),
                "tint": (0.25, 0.5, 0.75, 1.0)}
    assert all(f == defaults for f in frames[:15])
    moving = frames[15:]
    levels = [f["level"] for f in moving]
    assert min(levels) == pytest.approx(0.0, abs=0.3) and max(levels) == pytest.approx(4.0, abs=0.3)
    assert levels[-1] == pytest.approx(1.0)  # the knob is turned back to its default
    assert {f["choice"] for f in moving} == {2, 5, 9}
    assert [f["pulse"] for f in moving].count(True) == 3
    assert len({f["flag"] for f in moving}) == 2
    xs = [f["pos"][0] for f in moving]
    assert 0.0 <= min(xs) < 2.0 and 8.0 < max(xs) <= 10.0  # within MIN..MAX [0, 10]
    assert {f["tint"][3] for f in moving} == {1.0} and len({f["tint"] for f in moving}) > 10
    transition = load_isf(SPEC / "crossfade.fs")
    progress = [drive_isf_inputs(transition, i, 30, (64, 64))["progress"] for i in range(30)]
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)


def test_the_simulated_show_has_an_evening_date_that_ticks_with_time():
    year, month, day, seconds = show_date(0.0)
    assert (year, month, day) == (2026.0, 6.0, 21.0) and seconds == 21 * 3600.0
    assert show_date(1.5)[3] - seconds == pytest.approx(1.5)


def test_points_without_a_range_move_in_pixels():
    class Point:
        min = max = None

    assert point_range(Point(), (64, 32)) == ((0.0, 0.0), (64.0, 32.0))


def test_picture_stats_threshold_is_one_eight_bit_step():
    flat = np.full((4, 4, 4), 0.5, np.float32)
    flat[..., 3] = 1.0
    assert not picture_stats([flat, flat]).nonconstant
    changed = flat.copy()
    changed[0, 0, 0] += 2 / 255
    assert picture_stats([flat, changed]).nonconstant
    detail = flat.copy()
    detail[:2, :, 1] = 0.0
    assert picture_stats([detail]).nonconstant
    transparent = detail.copy()
    transparent[..., 3] = 0.0  # rendered detail that a scene would not show
    stats = picture_stats([transparent])
    assert stats.nonconstant and stats.transparent
    assert stats.hidden_change == pytest.approx(0.5)  # the green the audience never sees
    assert not picture_stats([detail]).transparent


# ---- vertex-stage inputs ---------------------------------------------------------------------


def _norm_coords(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised pixel-centre coordinates [row, column], row 0 at the bottom."""
    x, y = np.meshgrid((np.arange(size[0]) + 0.5) / size[0], (np.arange(size[1]) + 0.5) / size[1])
    return x, y


def test_fragment_inputs_without_a_vs_read_the_fragments_own_coordinate(ctx):
    # A filter copied without its .vs: on strict drivers the program would not link, on Mesa
    # the coordinates would be 0 (every neighbour tap on the corner pixel).
    out = render_once(ctx, load_isf(SPEC / "unfed_inputs.fs"), (4, 2))
    x, y = _norm_coords((4, 2))
    np.testing.assert_allclose(out[..., 0], x, atol=1e-6)
    np.testing.assert_allclose(out[..., 1], y, atol=1e-6)
    np.testing.assert_allclose(out[..., 2], 0.5, atol=1e-6)  # float 0, mat2 the identity
    if shutil.which("glslangValidator") is not None:
        shader = load_isf(SPEC / "unfed_inputs.fs")
        assert strict_check("vert", shader.vertex_source, shader.vertex_map) is None


def test_a_vs_keeps_what_it_writes_and_the_rest_is_fed(ctx):
    out = render_once(ctx, load_isf(SPEC / "half_fed.fs"), (4, 2))
    x, y = _norm_coords((4, 2))
    np.testing.assert_allclose(out[..., 0], x + 0.25, atol=1e-6)  # written by half_fed.vs
    np.testing.assert_allclose(out[..., 1], y, atol=1e-6)  # not written: the coordinate


# ---- IMPORTED cube maps ------------------------------------------------------------------------

CUBE_FACES = ("px.png", "nx.png", "py.png", "ny.png", "pz.png", "nz.png")
#: The solid colour of each face of cube/, in the order +X, -X, +Y, -Y, +Z, -Z.
CUBE_COLOURS = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1)]


def test_an_imported_cube_map_samples_each_face_along_its_axis(ctx, tmp_path):
    from PIL import Image

    from live.render.shader_source import ShaderSourceError

    shader = load_isf(SPEC / "cube" / "sky.fs")
    assert "uniform samplerCube sky;" in shader.fragment_source
    assert "textureCube" not in shader.fragment_source  # old GLSL's name, now texture()
    out = render_once(ctx, load_isf(SPEC / "cube/sky.fs"), (6, 1))
    np.testing.assert_array_equal(out[0], [[*c, 1.0] for c in CUBE_COLOURS])
    if shutil.which("glslangValidator") is not None:
        assert strict_check("frag", shader.fragment_source, shader.fragment_map) is None
    # A missing face is refused at load, naming the face, its file and the header entry.
    for face in CUBE_FACES[:-1]:
        shutil.copy(SPEC / "cube" / face, tmp_path / face)
    shutil.copy(SPEC / "cube" / "sky.fs", tmp_path / "sky.fs")
    line = next(i for i, text in enumerate((tmp_path / "sky.fs").read_text().split("\n"), 1)
                if '"NAME": "sky"' in text)
    with pytest.raises(ShaderSourceError, match=rf"sky\.fs:{line}: .*face -Z file .*nz\.png does "
                                                "not exist"):
        load_isf(tmp_path / "sky.fs")
    # Faces of different sizes are refused when the renderer decodes them.
    Image.new("RGBA", (8, 8), (0, 255, 255, 255)).save(tmp_path / "nz.png")
    shader = load_isf(tmp_path / "sky.fs")
    with pytest.raises(ShaderSourceError, match=rf"sky\.fs:{line}: .*face -Z \(.*nz\.png\) is "
                                                "8x8; all six faces must be the same square size"):
        IsfRenderer(ctx, shader)

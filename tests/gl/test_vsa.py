"""VERTEX_SHADER_ART files (vertexshaderart.com pieces in ISF collections): exact pixels of
points, lines and triangles, background, time, inputs, sound textures, header errors, and the
paths a user takes (scene layer, checker, import). Expected pictures are computed in numpy.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import moderngl
import numpy as np
import pytest

from live.render.context import release_framebuffers
from live.render.isf import load_isf
from live.render.program import EngineUniforms
from live.render.shader_source import ShaderSourceError
from live.render.vsa import VsaRenderer, VsaShader, is_vsa_file

pytestmark = pytest.mark.gl

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vsa"
N = 16
STEP = 1.0 / 255.0 + 1e-3  # the picture is drawn into an 8-bit buffer, as on a WebGL canvas

HEADER = """/*{{
  "ISFVSN": "2",
  "MODE": "VERTEX_SHADER_ART",
  "POINT_COUNT": {count},
  "PRIMITIVE_MODE": {mode},
  "LINE_SIZE": "NATIVE",
  "BACKGROUND_COLOR": {background},
  "INPUTS": {inputs}
}}*/
"""


def vsa_file(tmp_path: Path, body: str, *, count: object = 1, mode: str = '"POINTS"',
             background: str = "[0, 0, 0, 1]", inputs: str = "[]", name: str = "t.vs") -> Path:
    path = tmp_path / name
    path.write_text(HEADER.format(count=count, mode=mode, background=background, inputs=inputs) + body)
    return path


@contextmanager
def drawn(ctx: moderngl.Context, path: Path, point_scale: float | None = 1.0, n: int = N):
    # point_scale 1: gl_PointSize in pixels of this small picture, to test exact squares.
    renderer = VsaRenderer(ctx, load_isf(path), point_scale=point_scale)
    texture = ctx.texture((n, n), 4, dtype="f2")  # the engine's layer buffers
    fbo = ctx.framebuffer(color_attachments=[texture])
    try:
        def render(params=None, engine=None) -> np.ndarray:
            fbo.clear(0.0, 0.0, 0.0, 0.0)
            renderer.render(fbo, (n, n), params or {}, {}, engine or EngineUniforms())
            data = np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32)
            return data.reshape(n, n, 4)  # row 0 is the bottom row (GL)
        yield render
    finally:
        renderer.release()
        release_framebuffers(ctx, fbo, texture)


def test_points_are_squares_of_point_size_in_their_colours_over_the_background(ctx):
    with drawn(ctx, FIXTURES / "points.vs") as render:
        picture = render()
    expected = np.empty((N, N, 4), np.float32)
    expected[:] = (0.2, 0.4, 0.6, 1.0)
    # Centres at clip -0.5 / 0.5 = pixel 4 / 12; gl_PointSize 4 covers pixels 2..5 / 10..13.
    colours = [(1, 0, 0, 1), (0, 1, 0, 1), (0, 0, 1, 1), (1, 1, 1, 1)]
    for i, colour in enumerate(colours):
        x0 = 2 if i % 2 == 0 else 10
        y0 = 2 if i < 2 else 10
        expected[y0:y0 + 4, x0:x0 + 4] = colour
    np.testing.assert_allclose(picture, expected, atol=STEP)


def test_a_line_covers_one_row_and_nothing_else(ctx):
    with drawn(ctx, FIXTURES / "lines.vs") as render:
        picture = render()
    expected = np.zeros((N, N, 4), np.float32)
    expected[..., 3] = 1.0
    expected[N // 2, :] = (0, 1, 0, 1)  # y = 1/128 in clip space: just above the middle
    np.testing.assert_allclose(picture, expected, atol=STEP)


def test_triangles_fill_and_the_first_primitive_wins_at_equal_depth(ctx):
    with drawn(ctx, FIXTURES / "triangles.vs") as render:
        picture = render()
    x, y = np.meshgrid(np.arange(N), np.arange(N))
    below = x + y < N - 1   # pixel centres strictly inside the red lower-left half
    above = x + y > N - 1
    assert np.allclose(picture[below], (1, 0, 0, 1), atol=STEP)
    assert np.allclose(picture[above], (0, 0, 1, 1), atol=STEP)
    # No white background shows anywhere: the blue triangle covers the whole picture.
    assert not np.any(np.all(picture[..., :3] > 0.5, axis=-1))


def test_background_alpha_is_kept_and_the_picture_comes_out_straight_alpha(ctx, tmp_path):
    # vertexshaderart draws into a premultiplied canvas: the clear colour and v_color are
    # premultiplied, blended ONE, ONE_MINUS_SRC_ALPHA; the layer output is straight alpha.
    body = ("void main() { gl_Position = vec4(0.0, 0.0, 0.0, 1.0); gl_PointSize = 2.0;\n"
            "  v_color = vec4(0.25, 0.5, 0.0, 0.5); }\n")
    path = vsa_file(tmp_path, body, background="[0.1, 0.2, 0.3, 0.5]")
    with drawn(ctx, path) as render:
        picture = render()
    background = np.array([0.1, 0.2, 0.3, 0.5])
    point = np.array([0.25, 0.5, 0.0, 0.5]) + background * (1 - 0.5)

    def straight(c):
        return np.concatenate([c[:3] / c[3], c[3:]])

    np.testing.assert_allclose(picture[0, 0], straight(background), atol=2 * STEP)
    np.testing.assert_allclose(picture[N // 2, N // 2], straight(point), atol=3 * STEP)


def test_time_and_an_input_move_the_point(ctx):
    def lit(picture):
        ys, xs = np.nonzero(picture[..., 0] > 0.5)
        return sorted(set(xs.tolist())), sorted(set(ys.tolist()))

    with drawn(ctx, FIXTURES / "moving.vs") as render:
        at_start = lit(render(engine=EngineUniforms(time=0.0)))
        later = lit(render(engine=EngineUniforms(time=0.5)))
        lifted = lit(render({"lift": 0.5}, EngineUniforms(time=0.0)))
    assert at_start == ([3, 4], [3, 4])      # clip (-0.5, -0.5): pixel 4, a 2-pixel point
    assert later == ([7, 8], [3, 4])         # time 0.5: half a picture width to the right...
    assert lifted == ([3, 4], [7, 8])        # ...and the 'lift' input moves it up


def test_sound_textures_follow_the_engine_spectrum_newest_row_first(ctx):
    fft = ctx.texture((512, 1), 1, dtype="f4")
    wave = ctx.texture((512, 1), 1, dtype="f4")
    ramp = np.linspace(0.0, 1.0, 512, dtype=np.float32)
    fft.write(ramp.tobytes())
    wave.write((0.5 * np.sin(np.arange(512, dtype=np.float32) / 5.0)).tobytes())
    engine = EngineUniforms(audio_fft=fft, audio_wave=wave, rms=0.3)
    try:
        with drawn(ctx, FIXTURES / "sound.vs") as render:
            picture = render(engine=engine)
        # One bar per bin, as tall as the bin's level: column c holds bins with levels ~c/N.
        tops = [int(np.nonzero(picture[:, c, 0] > 0.5)[0].max()) for c in range(N)]
        assert tops == list(range(N))
        # Green: floatSound in dB (-80..0) brought back to 0..1 = the level of the bins drawn
        # last in that column; blue: volume's first column, the waveform's peak (0.5).
        bottom = picture[0]
        column_levels = ramp.reshape(N, -1)
        assert np.all(bottom[:, 1] >= column_levels.min(axis=1) - STEP)
        assert np.all(bottom[:, 1] <= column_levels.max(axis=1) + STEP)
        np.testing.assert_allclose(bottom[:, 2], 0.5, atol=2 * STEP)
    finally:
        fft.release()
        wave.release()


def test_history_rows_scroll_one_per_frame(ctx, tmp_path):
    # Colour = sound at row 0 (newest) in red, row 1 (one frame older) in green.
    body = ("void main() { gl_Position = vec4(0.0, 0.0, 0.0, 1.0); gl_PointSize = 64.0;\n"
            "  v_color = vec4(texture(sound, vec2(0.5, 0.5 / soundRes.y)).a,\n"
            "                 texture(sound, vec2(0.5, 1.5 / soundRes.y)).r, 0.0, 1.0); }\n")
    path = vsa_file(tmp_path, body)
    fft = ctx.texture((512, 1), 1, dtype="f4")
    try:
        with drawn(ctx, path) as render:
            fft.write(np.full(512, 0.8, np.float32).tobytes())
            first = render(engine=EngineUniforms(audio_fft=fft))[N // 2, N // 2]
            fft.write(np.full(512, 0.2, np.float32).tobytes())
            second = render(engine=EngineUniforms(audio_fft=fft))[N // 2, N // 2]
        np.testing.assert_allclose(first[:2], (0.8, 0.0), atol=2 * STEP)
        np.testing.assert_allclose(second[:2], (0.2, 0.8), atol=2 * STEP)
    finally:
        fft.release()


def test_ossia_style_file_with_mouse_input_sound_histogram_and_img_size(ctx, tmp_path):
    inputs = ('[ { "LABEL": "Mouse", "NAME": "mouse", "TYPE": "point2D", "DEFAULT": [0.0, 0.0], '
              '"MIN": [0.0, 0.0], "MAX": [1.0, 1.0] }, '
              '{ "LABEL": "Sound", "NAME": "sound", "TYPE": "audioHistogram" }, '
              '{ "LABEL": "Volume", "NAME": "volume", "TYPE": "audioFloatHistogram" } ]')
    body = ("#define PI radians(180.0)\n"
            "void main() {\n"
            "  float snd = texture(sound, vec2(vertexId / IMG_SIZE(sound).x, 0.0)).r;\n"
            "  snd += texture(volume, vec2(0.0)).a * 0.0;\n"
            "  vec4 m = texture(touch, vec2(0.0, 0.0));\n"
            "  gl_Position = vec4(mouse * 2.0 - 1.0 + m.xy + snd * 0.0, 0.0, 1.0);\n"
            "  gl_PointSize = 2.0;\n"
            "  v_color = vec4(1.0, 1.0, 0.0, 1.0);\n"
            "}\n")
    path = vsa_file(tmp_path, body, count=100, inputs=inputs)
    shader = load_isf(path)
    assert isinstance(shader, VsaShader)
    assert [i.name for i in shader.inputs] == ["mouse"]  # sound, volume: the host's textures
    with drawn(ctx, path) as render:
        picture = render({"mouse": (0.75, 0.25)})
    ys, xs = np.nonzero(picture[..., 0] > 0.5)
    assert (sorted(set(xs)), sorted(set(ys))) == ([11, 12], [3, 4])


@pytest.mark.parametrize("key, value, words", [
    ("count", '"many"', "POINT_COUNT must be a whole number"),
    ("count", "0", "POINT_COUNT must be a whole number"),
    ("count", "2.5", "POINT_COUNT must be a whole number"),
    ("mode", '"QUADS"', "PRIMITIVE_MODE 'QUADS' is not known; allowed: POINTS, LINES"),
    ("background", '"black"', "BACKGROUND_COLOR must be a list of 3 or 4 numbers"),
])
def test_bad_header_values_name_the_file_and_line(tmp_path, key, value, words):
    path = vsa_file(tmp_path, "void main() { gl_Position = vec4(0.0); }\n", **{key: value})
    with pytest.raises(ShaderSourceError) as info:
        load_isf(path)
    line = {"count": 4, "mode": 5, "background": 7}[key]
    assert str(info.value).startswith(f"{path}:{line}: ") or f"t.vs:{line}: " in str(info.value)
    assert words in str(info.value)


def test_compile_error_names_the_body_line(ctx, tmp_path):
    body = "void main() {\n  gl_Position = vec4(0.0);\n  v_color = undefinedThing;\n}\n"
    path = vsa_file(tmp_path, body)
    shader = load_isf(path)
    with pytest.raises(ShaderSourceError) as info:
        VsaRenderer(ctx, shader)
    assert "t.vs:12:" in str(info.value)  # header lines 1-9, body from line 10
    assert "undefinedThing" in str(info.value)


def test_is_vsa_file_tells_vertex_shader_art_from_isf_companions(tmp_path):
    assert is_vsa_file(FIXTURES / "points.vs")
    companion = tmp_path / "c.vs"
    companion.write_text("void main() { isf_vertShaderInit(); }\n")
    assert not is_vsa_file(companion)
    assert not is_vsa_file(tmp_path / "missing.vs")


def test_a_scene_layer_plays_the_file_with_params(ctx):
    from live.clock import ManualClock
    from live.engine import Engine
    from live.scene import parse_scene

    source = "moving.vs"  # found under the shader roots; a .vs is named with its suffix
    scene = parse_scene('schema = 1\n[scene]\nname = "v"\nbpm = 120\n[[layers]]\nid = "art"\n'
                        f'kind = "shader"\nsource = "{source}"\nparams = {{ lift = 0.53125 }}\n', "v.toml")
    engine = Engine(ctx, (N, N), ManualClock(), shader_roots=[FIXTURES])
    try:
        engine.load_scene(scene)
        engine.clock.set(0.53125)  # x = 1/32 in clip space: inside pixel column 8
        engine.tick()
        picture = engine.read_rgba()  # row 0 is the top row here
        ys, xs = np.nonzero(picture[..., 0] > 128)
        # A 2-pixel point at 16 pixels high is 2 * 16 / 1080 pixels: the 1-pixel minimum.
        assert (xs.tolist(), (N - 1 - ys).tolist()) == ([8], [8])  # lift 0.53125: row 8 from the bottom
        assert engine.scene.layers[0].content_param_names() == ["lift"]
    finally:
        engine.release()


def test_the_checker_finds_the_pieces_moving_and_strict_glsl_accepts_them(tmp_path):
    from live.render.importer import ShaderChecker

    # ASCII art in a comment with a backslash at a line end: a line continuation to strict
    # GLSL 3.30 compilers (glslang refuses it), a plain character on WebGL.
    art = tmp_path / "art.vs"
    art.write_text((FIXTURES / "moving.vs").read_text() + "/*\n / \\ / \\\n*/\n")
    with ShaderChecker(timeout=60, frames=4, size=(32, 32), strict=True) as checker:
        moving = checker.check(art, "isf")
        still = checker.check(FIXTURES / "points.vs", "isf")
    assert (moving.status, moving.kind) == ("nonconstant", "generator"), moving.reason
    assert still.status == "nonconstant"  # a still picture, but not one flat colour


def test_point_sizes_scale_with_the_picture_height(ctx, tmp_path):
    body = ("void main() { gl_Position = vec4(0.0, 0.0, 0.0, 1.0); gl_PointSize = 40.0;\n"
            "  v_color = vec4(1.0); }\n")
    path = vsa_file(tmp_path, body)
    with drawn(ctx, path, point_scale=None, n=108) as render:
        picture = render()
    ys, xs = np.nonzero(picture[..., 0] > 0.5)
    # 40 pixels of a 1080-pixel-high picture are 4 pixels of a 108-pixel-high one.
    assert sorted(set(xs.tolist())) == sorted(set(ys.tolist())) == [52, 53, 54, 55]

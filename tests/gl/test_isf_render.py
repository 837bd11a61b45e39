"""IsfRenderer against exactly known pixel values, read back as float (headless EGL)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import moderngl
import numpy as np
import pytest

from live.render.context import release_framebuffers
from live.render.isf import load_isf
from live.render.program import EngineUniforms, IsfRenderer
from live.render.shader_source import REPO_SHADERS, ShaderSourceError

pytestmark = pytest.mark.gl

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shaders"


@contextmanager
def renderer_for(ctx: moderngl.Context, path: Path):
    renderer = IsfRenderer(ctx, load_isf(path))
    try:
        yield renderer
    finally:
        renderer.release()


@contextmanager
def output(ctx: moderngl.Context, size: tuple[int, int], dtype: str = "f4"):
    texture = ctx.texture(size, 4, dtype=dtype)
    fbo = ctx.framebuffer(color_attachments=[texture])
    fbo.clear(0.0, 0.0, 0.0, 0.0)
    try:
        yield fbo
    finally:
        release_framebuffers(ctx, fbo, texture)


def read(fbo: moderngl.Framebuffer) -> np.ndarray:
    """Pixels as float32 [row, column, rgba], row 0 at the bottom (GL order)."""
    width, height = fbo.size
    return np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32).reshape(height, width, 4)


def float_texture(ctx: moderngl.Context, pixels: np.ndarray) -> moderngl.Texture:
    """A float texture from [row, column, channels] with row 0 at the bottom."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    data = np.ascontiguousarray(pixels, np.float32).tobytes()
    return ctx.texture((width, height), channels, data, dtype="f4")


def render(ctx, path, size, frames=1, params=None, images=None, engine=None, dtype="f4"):
    with renderer_for(ctx, path) as renderer, output(ctx, size, dtype) as fbo:
        for _ in range(frames):
            renderer.render(fbo, size, params or {}, images or {}, engine or EngineUniforms())
        return read(fbo)


# ---- image access ----------------------------------------------------------------------------


def _ramp(width: int, height: int) -> np.ndarray:
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    return np.stack([(x + 1) / 16, (y + 1) / 16, (x + width * y) / 64, np.ones_like(x)], axis=-1)


@pytest.mark.parametrize("mode", [0, 1], ids=["IMG_NORM_PIXEL", "IMG_PIXEL"])
def test_img_norm_pixel_and_img_pixel_read_exact_texels(ctx, mode):
    source = _ramp(4, 4)
    texture = float_texture(ctx, source)
    try:
        out = render(ctx, FIXTURES / "sample_image.fs", (4, 4), params={"mode": mode},
                     images={"inputImage": texture})
    finally:
        texture.release()
    np.testing.assert_allclose(out, source[:, ::-1], atol=1e-6)  # mirrored in x


def test_this_pixel_is_by_pixel_and_this_norm_pixel_stretches(ctx):
    source = _ramp(8, 8)
    texture = float_texture(ctx, source)
    try:
        by_pixel = render(ctx, FIXTURES / "sample_image.fs", (4, 4), params={"mode": 2},
                          images={"inputImage": texture})
        by_norm = render(ctx, FIXTURES / "sample_image.fs", (4, 4), params={"mode": 3},
                         images={"inputImage": texture})
        size = render(ctx, FIXTURES / "sample_image.fs", (4, 4), params={"mode": 4},
                      images={"inputImage": texture})
    finally:
        texture.release()
    np.testing.assert_allclose(by_pixel, source[:4, :4], atol=1e-6)
    # Each output pixel centre falls on the corner of 2x2 texels: linear filtering averages them.
    averaged = source.reshape(4, 2, 4, 2, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(by_norm, averaged, atol=1e-5)
    np.testing.assert_array_equal(size[0, 0], [8, 8, 0, 1])


def test_missing_image_reads_transparent_black(ctx):
    out = render(ctx, FIXTURES / "sample_image.fs", (4, 4), params={"mode": 0})
    assert not out.any()


def test_imported_image_is_decoded_with_its_top_row_up(ctx, tmp_path):
    av = pytest.importorskip("av")
    rgba = np.array([[[255, 0, 0, 255], [0, 255, 0, 255]],      # top row: red, green
                     [[0, 0, 255, 255], [255, 255, 255, 128]]],  # bottom row: blue, white 50%
                    np.uint8)
    with av.open(str(tmp_path / "checker.png"), "w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 2, 2, "rgba"
        for packet in stream.encode(av.VideoFrame.from_ndarray(rgba, format="rgba")):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    shutil.copy(FIXTURES / "imported.fs", tmp_path / "imported.fs")
    out = render(ctx, tmp_path / "imported.fs", (2, 2))
    np.testing.assert_allclose(out * 255, rgba[::-1].astype(np.float32), atol=1e-3)


# ---- passes ----------------------------------------------------------------------------------


def test_pass_buffers_follow_their_size_expressions(ctx):
    with renderer_for(ctx, FIXTURES / "pass_size.fs") as renderer:
        with output(ctx, (16, 16)) as fbo:
            renderer.render(fbo, (16, 16), {}, {}, EngineUniforms())
            row = read(fbo)[0]
            np.testing.assert_array_equal(row[0], [8, 4, 0, 1])    # pass 0: $WIDTH/2 x floor($HEIGHT/4)
            np.testing.assert_array_equal(row[1], [8, 4, 8, 16])   # IMG_SIZE of both buffers
            np.testing.assert_array_equal(row[2], [8, 16, 1, 1])   # pass 1: $WIDTH*$scale x $HEIGHT
            np.testing.assert_array_equal(row[3], [16, 16, 2, 1])  # last pass: the output size
            assert renderer.target_size("halfWidth") == (8, 4)
        with output(ctx, (20, 12)) as fbo:  # new size and a new input value: re-evaluated
            renderer.render(fbo, (20, 12), {"scale": 0.125}, {}, EngineUniforms())
            np.testing.assert_array_equal(read(fbo)[0, 1], [10, 3, 2, 12])
            assert renderer.target_size("scaled") == (2, 12)


def test_persistent_float_accumulates_beyond_one_and_8bit_clamps(ctx):
    with renderer_for(ctx, FIXTURES / "accumulate.fs") as renderer, output(ctx, (4, 4)) as fbo:
        for frames in range(1, 13):
            renderer.render(fbo, (4, 4), {}, {}, EngineUniforms(frame_index=frames - 1))
            out = read(fbo)
            np.testing.assert_allclose(out[..., 0], frames * 0.125, atol=1e-6)
            # 8-bit: each frame adds 0.125 and rounds to a multiple of 1/255; saturates at 1.
            np.testing.assert_allclose(out[..., 1], min(32 * frames, 255) / 255, atol=1e-6)
        assert out[0, 0, 0] == pytest.approx(1.5)
        # A new size recreates the buffers, cleared.
        renderer.render(fbo, (2, 2), {}, {}, EngineUniforms())
        assert read(fbo)[0, 0, 0] == pytest.approx(0.125)


def test_discarded_fragments_keep_the_persistent_content(ctx):
    with renderer_for(ctx, FIXTURES / "discard_accumulate.fs") as renderer, output(ctx, (4, 2)) as fbo:
        for frame in range(6):
            renderer.render(fbo, (4, 2), {}, {}, EngineUniforms(frame_index=frame))
        out = read(fbo)[..., 0]
    np.testing.assert_array_equal(out[:, :2], 6.0)  # left half: every frame
    np.testing.assert_array_equal(out[:, 2:], 3.0)  # right half: frames 0, 2, 4 only


def test_last_pass_with_a_target_is_scaled_to_the_output(ctx):
    with renderer_for(ctx, FIXTURES / "last_pass_target.fs") as renderer, output(ctx, (16, 8)) as fbo:
        renderer.render(fbo, (16, 8), {}, {}, EngineUniforms())
        out = read(fbo)
        assert renderer.target_size("small") == (4, 2)
    np.testing.assert_allclose(out, np.broadcast_to([0.25, 0.5, 0.75, 1.0], out.shape), atol=1e-6)


def test_event_is_true_only_in_the_frame_it_is_passed(ctx):
    with renderer_for(ctx, FIXTURES / "event.fs") as renderer, output(ctx, (2, 2)) as fbo:
        seen = []
        for params in ({"fire": True}, {}, {}, {"fire": True}, {"fire": False}):
            renderer.render(fbo, (2, 2), params, {}, EngineUniforms())
            seen.append(tuple(read(fbo)[0, 0, :2]))
    assert seen == [(1, 1), (0, 1), (0, 1), (1, 2), (0, 2)]  # (fired now, fired so far)


# ---- engine uniforms -------------------------------------------------------------------------


def test_each_engine_uniform_reaches_the_shader(ctx):
    fft = np.linspace(0.0, 1.0, 512, dtype=np.float32)
    wave = (np.arange(512, dtype=np.float32) % 7) / 8
    prev = np.arange(40, dtype=np.float32)[None, :, None] * np.ones((1, 1, 4), np.float32) / 100
    textures = [float_texture(ctx, fft[None, :]), float_texture(ctx, wave[None, :]), float_texture(ctx, prev)]
    engine = EngineUniforms(
        time=12.5, timedelta=0.016, frame_index=77, date=(2026.0, 3.0, 14.0, 4567.25), bpm=128.0,
        beat=33.25, beat_phase=0.25, bar=8.3125, bar_phase=0.3125, rms=0.11, bass=0.22, mid=0.33,
        treb=0.44, onset=1.0, bands=tuple((i + 1) / 32 for i in range(16)),
        audio_fft=textures[0], audio_wave=textures[1], prev_frame=textures[2])
    try:
        out = render(ctx, FIXTURES / "engine_uniforms.fs", (40, 1), engine=engine)[0, :, 0]
    finally:
        for texture in textures:
            texture.release()
    expected = [12.5, 0.016, 77, 2026, 3, 14, 4567.25, 128, 33.25, 0.25, 8.3125, 0.3125, 0.11, 0.22,
                0.33, 0.44, 1.0, 40, 1, 0, *engine.bands, fft[7], wave[300], prev[0, 38, 0], 39.5 / 40]
    np.testing.assert_allclose(out, np.float32(expected), rtol=1e-6)


def test_engine_textures_default_to_transparent_black(ctx):
    out = render(ctx, FIXTURES / "engine_uniforms.fs", (40, 1))[0, :, 0]
    assert out[36] == out[37] == out[38] == 0.0
    assert out[7] == 120.0  # the default BPM


def test_names_a_third_party_shader_declares_keep_its_meaning(ctx):
    out = render(ctx, FIXTURES / "third_party_names.fs", (2, 2), engine=EngineUniforms(time=3.5, treb=0.5))
    np.testing.assert_allclose(out[0, 0], [3.5, 0.75, 0.125, 0.5])  # TIME, BASS input, own BEAT, TREB


# ---- translation end to end ------------------------------------------------------------------


def test_isf_1_file_with_old_glsl_runs(ctx):
    source = np.full((2, 2, 4), 0.6, np.float32)
    texture = float_texture(ctx, source)
    try:
        out = render(ctx, FIXTURES / "legacy_v1.fs", (2, 2), images={"inputImage": texture})
    finally:
        texture.release()
    np.testing.assert_allclose(out, 153 / 255, atol=1e-6)  # through an 8-bit persistent buffer


def test_custom_vertex_shader_output_reaches_the_fragment_shader(ctx):
    out = render(ctx, FIXTURES / "custom_vertex.fs", (4, 1), params={"offset": 0.25})
    x = (np.arange(4) + 0.5) / 4
    np.testing.assert_allclose(out[0, :, 0], 1.0 - x + 0.25, atol=1e-6)
    np.testing.assert_allclose(out[0, :, 1], 0.5 + 0.25, atol=1e-6)
    np.testing.assert_allclose(out[0, :, 2], 0.25, atol=1e-6)


@pytest.mark.parametrize("hue,rgb", [(0.0, (1, 0, 0)), (1 / 3, (0, 1, 0)), (2 / 3, (0, 0, 1)),
                                     (1 / 6, (1, 1, 0))])
def test_common_helpers(ctx, hue, rgb):
    out = render(ctx, FIXTURES / "common_helpers.fs", (16, 8), params={"hue": hue},
                 engine=EngineUniforms(time=1.25))
    np.testing.assert_allclose(out[0, :, :3], np.broadcast_to(rgb, (16, 3)), atol=1e-5)
    noise, fbm, back_hue = out[2:, :, 0], out[2:, :, 1], out[2:, :, 2]
    assert 0.0 <= noise.min() and noise.max() <= 1.0 and noise.std() > 0.05
    assert 0.0 <= fbm.min() and fbm.max() <= 1.0 and fbm.std() > 0.02
    np.testing.assert_allclose(back_hue, hue % 1.0, atol=1e-5)  # rgb2hsv inverts hsv2rgb
    again = render(ctx, FIXTURES / "common_helpers.fs", (16, 8), params={"hue": hue},
                   engine=EngineUniforms(time=1.25))
    np.testing.assert_array_equal(out, again)  # deterministic


def test_output_into_the_engines_half_float_buffer_ignores_blend_state(ctx):
    ctx.enable(moderngl.BLEND)  # left on by someone else: passes must still overwrite
    out = render(ctx, FIXTURES / "last_pass_target.fs", (8, 8), dtype="f2")
    np.testing.assert_allclose(out, np.broadcast_to([0.25, 0.5, 0.75, 1.0], out.shape), atol=1e-3)


# ---- errors ----------------------------------------------------------------------------------


def test_compile_error_in_an_include_names_the_include_line(ctx):
    with pytest.raises(ShaderSourceError) as info:
        IsfRenderer(ctx, load_isf(FIXTURES / "broken_include.fs"))
    err = info.value
    assert err.file.endswith("tests/fixtures/shaders/include/broken_helper.glsl")
    assert err.line == 5 and "undefinedThing" in err.message
    assert str(err).startswith(f"{err.file}:5: error")  # Mesa "error:", NVIDIA "error C1503:"


def test_compile_error_in_the_body_names_the_file_line(ctx):
    with pytest.raises(ShaderSourceError) as info:
        IsfRenderer(ctx, load_isf(FIXTURES / "broken_body.fs"))
    assert info.value.file.endswith("broken_body.fs") and info.value.line == 8
    assert "notDeclared" in info.value.message


def test_size_expression_failing_at_run_time_names_the_pass(ctx, tmp_path):
    path = tmp_path / "div.fs"
    path.write_text('/*{"INPUTS": [{"NAME": "parts", "TYPE": "float", "DEFAULT": 1, "MIN": 0, "MAX": 4}],\n'
                    '"PASSES": [{"TARGET": "a", "WIDTH": "$WIDTH/$parts"}, {}]}*/\n'
                    "void main() { gl_FragColor = IMG_THIS_NORM_PIXEL(a); }\n")
    with renderer_for(ctx, path) as renderer, output(ctx, (4, 4)) as fbo:
        renderer.render(fbo, (4, 4), {}, {}, EngineUniforms())
        with pytest.raises(ShaderSourceError) as info:
            renderer.render(fbo, (4, 4), {"parts": 0.0}, {}, EngineUniforms())
    assert info.value.line == 2 and "division by zero" in info.value.message


OUR_SHADERS = sorted(p for p in REPO_SHADERS.rglob("*") if p.suffix in (".fs", ".frag")
                     and "common" not in p.relative_to(REPO_SHADERS).parts)


@pytest.mark.parametrize("path", OUR_SHADERS, ids=lambda p: str(p.relative_to(REPO_SHADERS)))
def test_every_bundled_shader_compiles_and_renders(ctx, path):
    out = render(ctx, path, (16, 16), engine=EngineUniforms(time=1.0))
    assert np.isfinite(out).all()


COMPILABLE_FIXTURES = sorted(p for p in FIXTURES.glob("*.fs")
                             if p.name not in {"broken_include.fs", "broken_body.fs", "cycle.fs", "imported.fs"})


@pytest.mark.parametrize("path", COMPILABLE_FIXTURES, ids=lambda p: p.name)
def test_every_fixture_compiles_in_this_driver(ctx, path):
    with renderer_for(ctx, path) as renderer, output(ctx, (8, 8)) as fbo:
        renderer.render(fbo, (8, 8), {}, {}, EngineUniforms())
        assert np.isfinite(read(fbo)).all()

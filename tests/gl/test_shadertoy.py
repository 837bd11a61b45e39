"""Shadertoys, unchanged: folders with channels.toml and API JSON exports, their uniforms,
buffers, media stand-ins and audio texture, and the shadertoy layer kind in a scene. Pixel
values are read back as floats and compared with values known exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from live.clock import ManualClock
from live.engine import Engine
from live.render.context import release_framebuffers
from live.render.importer import strict_check
from live.render.program import EngineUniforms
from live.render.shader_source import (
    ShaderSourceError,
    default_search_roots,
)
from live.render.shadertoy import (
    CUBE_FACE_MAX,
    MEDIA,
    Channel,
    ShadertoyRenderer,
    cube_face_size,
    load_shadertoy,
    media_for_hash,
    standin_media,
)
from live.scene import SceneError, parse_scene

pytestmark = pytest.mark.gl

TOYS = Path(__file__).resolve().parents[1] / "fixtures" / "shadertoy"
# Shaders written in GLSL ES 3.00 / WebGL 1 ways that desktop GLSL reads differently (kept apart
# from TOYS, whose set the import benchmark test counts).
ES_TOYS = Path(__file__).resolve().parents[1] / "fixtures" / "shadertoy_es"
# Our own shaders with a cube-map pass (Cube A).
CUBE_TOYS = Path(__file__).resolve().parents[1] / "fixtures" / "shadertoy_cube"
ENGINE_ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", TOYS,
                *default_search_roots()]


def render_frames(ctx, path, size, frames=1, params=None, engine=None, images=None, dt=0.1):
    shader = load_shadertoy(path)
    renderer = ShadertoyRenderer(ctx, shader)
    tex = ctx.texture(size, 4, dtype="f4")
    fbo = ctx.framebuffer(color_attachments=[tex])
    engine = engine or EngineUniforms()
    try:
        for i in range(frames):
            engine.time, engine.timedelta = i * dt, (0.0 if i == 0 else dt)
            renderer.render(fbo, size, params or {}, images or {}, engine)
        w, h = size
        return np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32).reshape(h, w, 4)
    finally:
        renderer.release()
        release_framebuffers(ctx, fbo, tex)


def test_uniforms_have_shadertoys_meaning(ctx):
    engine = EngineUniforms(date=(2026.0, 3.0, 4.0, 45.5))
    out = render_frames(ctx, TOYS / "uniforms", (5, 1), frames=3, engine=engine,
                        params={"mouse_x": 0.4, "mouse_y": 1.0, "mouse_down": True})[0]
    np.testing.assert_allclose(out[0], [0.02, 1.0, 0.2, 1.0], atol=1e-6)   # iTime, dt, iFrame 2
    np.testing.assert_allclose(out[1], [0.02, 0.01, 0.75, 1.0], atol=1e-6)  # pixels, pressed
    np.testing.assert_allclose(out[2], [0.05, 0.01, 0.01, 1.0], atol=1e-6)  # iResolution
    np.testing.assert_allclose(out[3], [0.455, 0.48, 0.1, 1.0], atol=1e-6)  # iDate.w, 48 kHz, 10 fps
    np.testing.assert_allclose(out[4], [0.08, 0.08, 0.02, 1.0], atol=1e-6)  # bayer is 8x8
    untouched = render_frames(ctx, TOYS / "uniforms", (5, 1))[0]
    assert list(untouched[1][:3]) == [0.0, 0.0, 0.5]  # never touched: iMouse is all zero


def test_mouse_released_after_a_drag_reports_a_negative_click(ctx):
    out = render_frames(ctx, TOYS / "uniforms", (5, 1), params={"mouse_x": 0.4, "mouse_y": 1.0})[0]
    assert out[1][2] == 0.25


def test_buffers_run_in_order_keep_their_content_and_read_themselves(ctx):
    out = render_frames(ctx, TOYS / "buffers", (3, 2), frames=3)
    # A adds 0.25 to itself per frame (RGBA32F), B halves A of the same frame; the image pass
    # shows a quarter of each, opaque.
    np.testing.assert_allclose(out[..., 0], 0.75 / 4, atol=1e-6)
    np.testing.assert_allclose(out[..., 1], 0.375 / 4, atol=1e-6)
    np.testing.assert_allclose(out[..., 3], 1.0, atol=0)


def test_media_stand_ins_audio_texture_and_keyboard(ctx):
    fft = np.linspace(0.0, 1.0, 512, dtype=np.float32)
    wave = np.linspace(1.0, 0.0, 512, dtype=np.float32)
    fft_tex = ctx.texture((512, 1), 1, fft.tobytes(), dtype="f4")
    wave_tex = ctx.texture((512, 1), 1, wave.tobytes(), dtype="f4")
    try:
        out = render_frames(ctx, TOYS / "media", (4, 2),
                            engine=EngineUniforms(audio_fft=fft_tex, audio_wave=wave_tex))
    finally:
        release_framebuffers(ctx, fft_tex, wave_tex)
    noise = standin_media("rgba_noise_small")
    np.testing.assert_allclose(out[0, :, :3], noise[0, :4, :3] / 255.0, atol=1e-6)
    np.testing.assert_allclose(out[1, :, 0], fft[:4], atol=1e-6)
    np.testing.assert_allclose(out[1, :, 1], wave[:4], atol=1e-6)
    assert not out[1, :, 2].any()  # no key is down


def test_stand_ins_have_shadertoys_sizes_and_noise_offsets():
    noise = standin_media("rgba_noise_medium")
    assert noise.shape == (256, 256, 4) and noise.dtype == np.uint8
    # Green is red moved by (37, 17), alpha is blue moved the same way: 3D noise from 2D lookups.
    assert np.array_equal(noise[17 + 5, 37 + 9, 1], noise[5, 9, 0])
    assert np.array_equal(np.roll(noise[..., 2], (17, 37), (0, 1)), noise[..., 3])
    assert standin_media("gray_noise_small").shape == (64, 64, 4)
    assert standin_media("keyboard").shape == (3, 256, 1)
    assert standin_media("grey_noise_3d").shape == (32, 32, 32, 1)
    assert standin_media("uffizi_gallery").shape == (6, 256, 256, 4)
    bayer = standin_media("bayer")[..., 0].astype(int)
    assert sorted(set(bayer.ravel())) == sorted({round(v * 255 / 63) for v in range(64)})
    assert np.array_equal(standin_media("picture"), standin_media("picture"))  # deterministic
    hashed = "/media/a/0a40562379b63dfb89227e6d172f39fdce9022cba76623f1054a2c83d6c0ba5d.png"
    assert media_for_hash(hashed, "2d") is MEDIA["gray_noise_small"]


def strictly_valid(shader) -> None:
    """Every translated pass passes glslangValidator (stricter than Mesa), when installed."""
    if shutil.which("glslangValidator") is None:
        pytest.skip("glslangValidator not installed (Debian: glslang-tools)")
    for p in shader.passes:
        assert strict_check("frag", p.fragment_source) is None, p.name


def test_webgl1_style_shaders_play(ctx):
    # main() writing gl_FragColor, its own iGlobalTime uniform, texture2DLodEXT and
    # texture2DGradEXT, and #extension lines that desktop GLSL does not know or refuses.
    out = render_frames(ctx, ES_TOYS / "webgl1", (8, 8), frames=4)
    bayer = standin_media("bayer")[..., 0] / 255.0
    np.testing.assert_allclose(out[..., 0], 0.3, atol=1e-6)      # iGlobalTime is the time
    np.testing.assert_allclose(out[..., 1], bayer, atol=1e-6)    # texture2DLodEXT
    np.testing.assert_allclose(out[..., 2], bayer, atol=1e-6)    # texture2DGradEXT
    np.testing.assert_allclose(out[..., 3], 1.0, atol=0)         # the image is opaque
    strictly_valid(load_shadertoy(ES_TOYS / "webgl1"))


def test_es_identifiers_and_macros_that_desktop_glsl_would_misread(ctx):
    # sampler1D / sampler2DRect are plain names in GLSL ES 3.00; macros named "color" and
    # "mainImage" must not rewrite the engine's own main().
    out = render_frames(ctx, ES_TOYS / "desktop_names", (2, 2))
    np.testing.assert_allclose(out.reshape(-1, 4), [[0.5, 0.5, 0.25, 1.0]] * 4, atol=1e-6)
    strictly_valid(load_shadertoy(ES_TOYS / "desktop_names"))


def test_signed_macro_arguments_stay_apart_from_the_macros_operators(ctx):
    # SUB(q, -z) is q - -z in GLSL ES; Mesa's preprocessor alone would read q--z.
    out = render_frames(ctx, ES_TOYS / "macro_args", (2, 1))
    np.testing.assert_allclose(out.reshape(-1, 4), [[0.75, 0.75, 0.5, 1.0]] * 2, atol=1e-6)
    strictly_valid(load_shadertoy(ES_TOYS / "macro_args"))


def test_a_pass_without_main_image_or_main_says_what_is_missing(tmp_path):
    (tmp_path / "image.glsl").write_text("float f(float x) { return x; }\n")
    with pytest.raises(ShaderSourceError, match=r"no mainImage\(out vec4 fragColor, in vec2 "
                                                r"fragCoord\) function \(nor an old-style main"):
        load_shadertoy(tmp_path)


def test_api_export_maps_passes_channels_and_media(ctx):
    shader = load_shadertoy(TOYS / "export.json")
    assert shader.name == "Export test" and shader.credit == "echoel-tests"
    assert [p.name for p in shader.passes] == ["buffer_a", "image"]
    buffer_a, image = shader.passes
    assert buffer_a.channels[0] == Channel("buffer_a", "", "nearest", "clamp", True)
    assert image.channels[1] == Channel("media", "gray_noise_small", "mipmap", "repeat", True)
    assert image.channels[2].argument == "keyboard" and image.channels[3].source == "audio"
    assert any("sound" in w for w in shader.warnings)
    out = render_frames(ctx, TOYS / "export.json", (16, 8), frames=4)
    assert out[..., :3].std() > 0.05 and np.all(out[..., 3] == 1.0)


def test_broken_exports_say_why(tmp_path):
    (tmp_path / "bad.json").write_text('{"Shader": {"renderpass": [}')
    with pytest.raises(ShaderSourceError, match=r"bad\.json:1: invalid JSON"):
        load_shadertoy(tmp_path / "bad.json")


def test_channels_toml_errors_name_the_file_line_and_the_choices(tmp_path):
    (tmp_path / "image.glsl").write_text("void mainImage(out vec4 c, in vec2 f) { c = vec4(1.0); }\n")
    (tmp_path / "channels.toml").write_text('[image]\niChannel0 = "bufer_a"\n')
    with pytest.raises(ShaderSourceError, match=r"channels\.toml:2: \[image\] iChannel0: unknown "
                                                r"source 'bufer_a' \(allowed: buffer_a"):
        load_shadertoy(tmp_path)
    (tmp_path / "channels.toml").write_text('[image]\niChannel0 = "buffer_b"\n')
    with pytest.raises(ShaderSourceError, match=r"there is no buffer_b\.glsl"):
        load_shadertoy(tmp_path)
    (tmp_path / "channels.toml").write_text('[image]\niChannel0 = "media:rgba_nois_small"\n')
    with pytest.raises(ShaderSourceError, match=r"did you mean rgba_noise_small"):
        load_shadertoy(tmp_path)


def test_compile_errors_name_the_pass_file_and_line(ctx, tmp_path):
    (tmp_path / "image.glsl").write_text("void mainImage(out vec4 c, in vec2 f) {\n"
                                         "    c = vec4(undefinedThing);\n}\n")
    shader = load_shadertoy(tmp_path)
    with pytest.raises(ShaderSourceError) as info:
        ShadertoyRenderer(ctx, shader)
    assert info.value.file.endswith("image.glsl") and info.value.line == 2


# ---- the layer kind -------------------------------------------------------------------------


def scene(body: str):
    return parse_scene('schema = 1\n[scene]\nname = "toy"\n' + body, "toy.toml")


def bg_layer() -> str:
    return '[[layers]]\nid = "bg"\nkind = "shader"\nsource = "e/gradient"\n'


def test_shadertoy_layer_reads_the_picture_below_exactly(ctx):
    engine = Engine(ctx, (16, 8), ManualClock(), shader_roots=ENGINE_ROOTS)
    try:
        engine.load_scene(scene(bg_layer()))
        engine.tick()
        alone = engine.read_rgba().copy()
        engine.load_scene(scene(bg_layer() + '[[layers]]\nid = "toy"\nkind = "shadertoy"\n'
                                'source = "below"\n'))
        engine.tick()
        through = engine.read_rgba()
        assert not engine.scene.failed
    finally:
        engine.release()
    assert alone.std() > 10  # the gradient has content
    # Channels see straight-alpha colour; where the picture below is opaque (the gradient's left
    # half) the Shadertoy shows it exactly.
    np.testing.assert_array_equal(through[:, :8], alone[:, :8])


def test_shadertoy_layer_parameters_are_mappable_and_checked(ctx):
    engine = Engine(ctx, (16, 8), ManualClock(), shader_roots=ENGINE_ROOTS)
    try:
        engine.load_scene(scene('[[layers]]\nid = "toy"\nkind = "shadertoy"\nsource = "uniforms"\n'
                                'params = { mouse_x = 0.5 }\n[[mappings]]\nsource = "audio.bass"\n'
                                'target = "layers.toy.mouse_y"\n'))
        layer = engine.scene.layers[0]
        assert layer.param_values()["mouse_x"] == 0.5 and layer.param_names() == [
            "mouse_x", "mouse_y", "mouse_down"]
        with pytest.raises(SceneError, match=r"has no parameter 'mouse' \(did you mean 'mouse_y'\?\)"):
            engine.load_scene(scene('[[layers]]\nid = "toy"\nkind = "shadertoy"\n'
                                    'source = "uniforms"\nparams = { mouse = 1 }\n'))
        with pytest.raises(SceneError, match=r"no Shadertoy named 'nothing_here'"):
            engine.load_scene(scene('[[layers]]\nid = "toy"\nkind = "shadertoy"\n'
                                    'source = "nothing_here"\n'))
    finally:
        engine.release()


# ---- cube-map passes ----


def gl_cube_direction(face, s, t):
    """The direction GL's cube-map lookup sends to face ``face`` at s, t in -1..1."""
    return [(1, -t, -s), (-1, -t, s), (s, 1, t), (s, -1, -t), (s, -t, 1), (-s, -t, -1)][face]


def test_cube_pass_renders_each_face_with_its_ray_direction(ctx):
    shader = load_shadertoy(CUBE_TOYS / "faces")
    assert [p.name for p in shader.passes] == ["cube_a", "image"]
    renderer = ShadertoyRenderer(ctx, shader)
    tex = ctx.texture((8, 8), 4, dtype="f4")
    fbo = ctx.framebuffer(color_attachments=[tex])
    try:
        renderer.render(fbo, (8, 8), {}, {}, EngineUniforms())
        cube = renderer.cube_texture()
        n = cube_face_size((8, 8))
        assert cube.size == (n, n) and n == 16
        centre = (np.arange(n) + 0.5) / n
        s, t = np.meshgrid(centre * 2 - 1, centre * 2 - 1)  # rows are t (first row at the bottom)
        for face in range(6):
            got = np.frombuffer(cube.read(face), np.float16).reshape(n, n, 4).astype(np.float32)
            want = np.stack(np.broadcast_arrays(*gl_cube_direction(face, s, t)), axis=-1)
            want /= np.linalg.norm(want, axis=-1, keepdims=True)
            np.testing.assert_allclose(got[..., :3], want, atol=2e-3)
            np.testing.assert_array_equal(got[..., 3], np.broadcast_to(centre, (n, n)))
    finally:
        renderer.release()
        release_framebuffers(ctx, fbo, tex)


def test_cube_face_size_follows_the_layer_within_bounds():
    assert cube_face_size((5, 1)) == 16
    assert cube_face_size((300, 200)) == 512
    assert cube_face_size((1920, 1080)) == CUBE_FACE_MAX == 512


def test_a_buffer_reads_the_cube_map_of_the_previous_frame(ctx):
    # Passes run A, B, C, D, Cube A, Image: the buffer sees the cube map one frame late.
    first = render_frames(ctx, CUBE_TOYS / "read_by_buffer", (6, 1), frames=1)[0]
    np.testing.assert_array_equal(first, np.tile([0.0, 0.0, 0.0, 1.0], (6, 1)))
    out = render_frames(ctx, CUBE_TOYS / "read_by_buffer", (6, 1), frames=2)[0]
    np.testing.assert_array_equal(out, [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1], [1, 1, 1, 1],
                                        [0.5, 0.5, 0.5, 1], [0, 0, 0, 1]])


def test_cube_pass_reads_its_own_previous_frame(ctx):
    for frames, want in ((1, 0.25), (3, 0.75)):
        out = render_frames(ctx, CUBE_TOYS / "feedback", (8, 2), frames=frames)
        # red and green count frames; blue shows iResolution.x of the cube pass (16 px faces)
        np.testing.assert_array_equal(out[:, :4], np.tile([want, want / 2, 0.25, 1.0], (2, 4, 1)))
        np.testing.assert_array_equal(out[:, 4:], np.tile([want, want / 2, 0.25, 1.0], (2, 4, 1)))


def test_api_export_with_a_cube_pass_binds_it_by_output_id(ctx, tmp_path):
    faces = CUBE_TOYS / "read_by_buffer"
    sampler = {"filter": "nearest", "wrap": "clamp", "vflip": "true"}
    doc = {"Shader": {"info": {"name": "cube export"}, "renderpass": [
        {"type": "buffer", "name": "Buffer A", "code": (faces / "buffer_a.glsl").read_text(),
         "outputs": [{"id": 257, "channel": 0}],
         "inputs": [{"id": 41, "channel": 0, "ctype": "cubemap", "sampler": sampler,
                     "src": "/media/previz/cubemap00.png"}]},
        {"type": "cubemap", "name": "Cube A", "code": (faces / "cube_a.glsl").read_text(),
         "outputs": [{"id": 41, "channel": 0}], "inputs": []},
        {"type": "image", "name": "Image", "code": (faces / "image.glsl").read_text(),
         "outputs": [{"id": 37, "channel": 0}],
         "inputs": [{"id": 257, "channel": 0, "ctype": "buffer", "sampler": sampler,
                     "src": "/media/previz/buffer00.png"}]}]}}
    (tmp_path / "cube.json").write_text(json.dumps(doc))
    shader = load_shadertoy(tmp_path / "cube.json")
    assert [p.name for p in shader.passes] == ["buffer_a", "cube_a", "image"]
    assert shader.passes[0].channels[0] == Channel("cube_a", "", "nearest", "clamp", True)
    out = render_frames(ctx, tmp_path / "cube.json", (6, 1), frames=2)[0]
    np.testing.assert_array_equal(out[:3], [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1]])


def test_cube_pass_errors_say_what_is_expected(tmp_path):
    (tmp_path / "image.glsl").write_text("void mainImage(out vec4 c, in vec2 f) { c = vec4(1.0); }\n")
    (tmp_path / "cube_a.glsl").write_text("void mainImage(out vec4 c, in vec2 f) { c = vec4(1.0); }\n")
    with pytest.raises(ShaderSourceError, match=r"cube_a\.glsl: no mainCubemap\(out vec4 fragColor"):
        load_shadertoy(tmp_path)
    (tmp_path / "cube_a.glsl").unlink()
    (tmp_path / "channels.toml").write_text('[image]\niChannel0 = "cube_a"\n')
    with pytest.raises(ShaderSourceError, match=r"cube_a is bound but there is no cube_a\.glsl"):
        load_shadertoy(tmp_path)

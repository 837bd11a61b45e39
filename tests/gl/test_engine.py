"""The engine's frame loop: layers, effects, feedback, mappings, master controls, failure paths.

Expected values are computed, not pictures: the test shaders draw flat, known colours.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from live.audio.features import AudioFrame
from live.clock import ManualClock
from live.engine import Engine
from live.health.registry import State
from live.render.shader_source import default_search_roots
from live.scene import SceneError, parse_scene

pytestmark = pytest.mark.gl

ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]
SIZE = (32, 16)


def scene(body: str, name: str = "t"):
    return parse_scene(f'schema = 1\n[scene]\nname = "{name}"\nbpm = 120\n' + body, f"{name}.toml")


def layer(id_: str, source: str, kind: str = "shader", extra: str = "") -> str:
    return f'[[layers]]\nid = "{id_}"\nkind = "{kind}"\nsource = "{source}"\n{extra}\n'


@pytest.fixture
def engine(ctx):
    clock = ManualClock()
    eng = Engine(ctx, SIZE, clock, shader_roots=ROOTS)
    yield eng
    eng.release()


def frame(eng: Engine, t: float | None = None) -> np.ndarray:
    if t is not None:
        eng.clock.set(t)
    eng.tick()
    return eng.read_rgba().astype(np.float64) / 255.0


def test_one_generator_layer_reaches_the_output(engine):
    engine.load_scene(scene(layer("a", "e/solid")))
    img = frame(engine)
    np.testing.assert_allclose(img[..., :3], np.broadcast_to([1.0, 0.5, 0.25], img[..., :3].shape), atol=1 / 255)
    assert np.all(img[..., 3] == 1.0)


def test_direct_path_equals_composited_path(engine, monkeypatch):
    engine.load_scene(scene(layer("g", "e/gradient")))
    direct = frame(engine)
    monkeypatch.setattr(engine, "_direct_ok", lambda *a: False)
    composited = frame(engine)
    assert np.abs(direct - composited).max() <= 1 / 255 + 1e-9
    # Alpha 0.5 on the right half is shown over black: half brightness.
    x = (SIZE[0] - 0.5) / SIZE[0]  # centre of the rightmost pixel
    right = direct[:, -1, :3]
    np.testing.assert_allclose(right, np.broadcast_to([x * 0.5, (1 - x) * 0.5, 0.25], right.shape), atol=1.5 / 255)


def test_opacity_and_blend_modes_combine_layers(engine):
    body = (layer("a", "e/solid", extra='params = { color = [0.2, 0.4, 0.6, 1.0] }')
            + layer("b", "e/solid", extra='blend = "add"\nopacity = 0.5\nparams = { color = [0.5, 0.5, 0.5, 1.0] }'))
    engine.load_scene(scene(body))
    img = frame(engine)
    want = 0.5 * np.array([0.7, 0.9, 1.0]) + 0.5 * np.array([0.2, 0.4, 0.6])
    np.testing.assert_allclose(img[4, 4, :3], want, atol=1.5 / 255)


def test_effect_layer_reads_the_picture_below_and_a_named_layer(engine):
    body = (layer("a", "e/solid", extra='params = { color = [0.2, 0.4, 0.6, 1.0] }')
            + layer("b", "e/solid", extra='params = { color = [1.0, 1.0, 1.0, 1.0] }\nopacity = 0.0')
            + layer("fx", "e/invert", kind="effect"))
    engine.load_scene(scene(body))
    np.testing.assert_allclose(frame(engine)[4, 4, :3], [0.8, 0.6, 0.4], atol=1.5 / 255)
    body = body.replace('kind = "effect"', 'kind = "effect"\ninput = "b"')
    engine.load_scene(scene(body))
    # The hidden layer b is still rendered because fx reads it: invert(white) = black.
    np.testing.assert_allclose(frame(engine)[4, 4, :3], [0.0, 0.0, 0.0], atol=1.5 / 255)


def test_layer_effect_chain_runs_in_order(engine):
    body = layer("a", "e/solid", extra='params = { color = [0.2, 0.4, 0.6, 1.0] }\n'
                                       '[[layers.fx]]\nid = "i1"\nshader = "e/invert"\n'
                                       '[[layers.fx]]\nid = "i2"\nshader = "e/invert"\nenabled = false\n')
    engine.load_scene(scene(body))
    np.testing.assert_allclose(frame(engine)[4, 4, :3], [0.8, 0.6, 0.4], atol=1.5 / 255)
    engine.scene.layers[0].set_fx_enabled("i2", True)
    np.testing.assert_allclose(frame(engine)[4, 4, :3], [0.2, 0.4, 0.6], atol=1.5 / 255)


def test_feedback_layer_accumulates_its_previous_frames(engine):
    engine.load_scene(scene(layer("fb", "e/accumulate", kind="feedback")))
    values = [frame(engine)[4, 4, 0] for _ in range(4)]
    np.testing.assert_allclose(values, [0.125, 0.25, 0.375, 0.5], atol=1.5 / 255)


def test_render_scale_sets_the_layer_size(engine):
    engine.load_scene(scene(layer("a", "e/solid", extra="scale = 0.5")))
    frame(engine)
    assert engine.scene.layers[0].size == (16, 8)


def test_mapping_drives_a_parameter_from_an_audio_signal(engine):
    body = layer("a", "e/solid") + '[[mappings]]\nsource = "audio.bass"\ntarget = "layers.a.level"\nrange = [0.0, 1.0]\n'
    engine.load_scene(scene(body))
    silent = AudioFrame.silent()
    engine.set_audio_frame(dataclasses.replace(silent, bass=0.5))
    np.testing.assert_allclose(frame(engine)[4, 4, 0], 0.5, atol=1.5 / 255)
    engine.set_audio_frame(dataclasses.replace(silent, bass=1.0))
    np.testing.assert_allclose(frame(engine)[4, 4, 0], 1.0, atol=1.5 / 255)


def test_event_parameter_fires_for_exactly_one_frame(engine):
    engine.load_scene(scene(layer("a", "e/solid", extra='params = { color = [0.0, 0.0, 0.0, 1.0] }')))
    engine.scene.layers[0].set_param("flash", True)
    assert frame(engine)[4, 4, 0] == 1.0
    assert frame(engine)[4, 4, 0] == 0.0


def test_engine_uniforms_follow_the_injected_clock_and_audio(engine):
    engine.load_scene(scene(layer("a", "e/time")))
    engine.set_audio_frame(dataclasses.replace(AudioFrame.silent(), bass=0.75))
    img = frame(engine, 2.25)  # scene loaded at t=0, 120 bpm: beat phase 0.5 at 2.25 s
    np.testing.assert_allclose(img[4, 4, :3], [0.225, 0.5, 0.75], atol=1.5 / 255)


def test_master_dimmer_blackout_and_freeze(engine):
    body = layer("a", "e/time") + '[[mappings]]\nsource = "audio.bass"\ntarget = "master.dimmer"\nrange = [0.0, 1.0]\n'
    engine.load_scene(scene(body))
    engine.set_audio_frame(dataclasses.replace(AudioFrame.silent(), bass=0.5))
    img = frame(engine, 5.0)
    np.testing.assert_allclose(img[4, 4, 0], 0.25, atol=1.5 / 255)
    engine.freeze = True
    np.testing.assert_array_equal(frame(engine, 7.0), img)
    engine.blackout = True
    assert frame(engine, 8.0)[..., :3].max() == 0.0


def test_failing_layer_is_skipped_and_reported_and_the_show_goes_on(engine, monkeypatch):
    body = (layer("a", "e/solid", extra='params = { color = [0.2, 0.4, 0.6, 1.0] }')
            + layer("bad", "e/solid", extra='params = { color = [1.0, 1.0, 1.0, 1.0] }'))
    engine.load_scene(scene(body))
    bad = engine.scene.layers[1]

    def explode(inputs):
        raise RuntimeError("driver lost the texture")

    monkeypatch.setattr(bad, "render", explode)
    for _ in range(3):
        img = frame(engine)
    np.testing.assert_allclose(img[4, 4, :3], [0.2, 0.4, 0.6], atol=1.5 / 255)
    state = engine.parts.get("layer.bad")
    assert state.state == State.FAILED and "driver lost the texture" in state.reason


def test_a_scene_that_fails_to_build_keeps_the_running_one(engine):
    engine.load_scene(scene(layer("a", "e/solid"), name="good"))
    before = frame(engine)
    broken = scene(layer("a", "e/solid", extra="params = { level = 7.0 }"), name="broken")
    with pytest.raises(SceneError) as err:
        engine.load_scene(broken)
    assert "broken.toml" in str(err.value) and "level" in str(err.value)
    assert engine.scene.spec.name == "good"
    np.testing.assert_array_equal(frame(engine), before)


@pytest.mark.parametrize("target, message", [
    ("layers.a.nope", "nope"),
    ("layers.a.color", "color"),       # a color cannot be driven by one float
    ("layers.a.fx.zz.amount", "zz"),
    ("generator.morph", "not available"),  # scene.* became targets with the controllers issue
])
def test_bad_mapping_targets_are_load_errors(engine, target, message):
    body = layer("a", "e/solid") + f'[[mappings]]\nsource = "audio.bass"\ntarget = "{target}"\n'
    try:
        spec = scene(body)
    except SceneError as exc:  # the scene validator may already refuse it
        assert message.split(".")[0] in str(exc) or "fx" in str(exc)
        return
    with pytest.raises(SceneError, match=message):
        engine.load_scene(spec)


def solid_scene(name: str, rgb: tuple[float, float, float]):
    return scene(layer("a", "e/solid", extra=f"params = {{ color = [{rgb[0]}, {rgb[1]}, {rgb[2]}, 1.0] }}"),
                 name=name)


def test_crossfade_mixes_scenes_over_its_length_then_releases_the_old_one(engine):
    engine.load_scene(solid_scene("a", (1.0, 0.0, 0.0)))
    frame(engine, 0.0)
    prepared = engine.prepare_scene(solid_scene("b", (0.0, 0.0, 1.0)))
    assert engine.scene.spec.name == "a"  # preparing does not switch
    engine.activate(prepared, fade=2.0)
    old_layer = engine._fade.outgoing.layers[0]
    reds, blues = [], []
    for t in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5):
        img = frame(engine, t)
        reds.append(img[4, 4, 0])
        blues.append(img[4, 4, 2])
    assert reds[0] == 1.0 and blues[0] == 0.0
    assert all(a > b for a, b in zip(reds[:5], reds[1:5]))  # red falls monotonically
    assert abs(reds[2] - 0.5) < 2 / 255 and abs(blues[2] - 0.5) < 2 / 255
    assert reds[4] == 0.0 and blues[4] == 1.0 and blues[5] == 1.0
    assert engine._fade is None and old_layer.size == (0, 0)  # released


def test_a_new_switch_during_a_crossfade_starts_from_the_current_scene(engine):
    engine.load_scene(solid_scene("a", (1.0, 0.0, 0.0)))
    frame(engine, 0.0)
    engine.load_scene(solid_scene("b", (0.0, 1.0, 0.0)), fade=1.0)
    frame(engine, 0.5)
    engine.load_scene(solid_scene("c", (0.0, 0.0, 1.0)), fade=1.0)
    img = frame(engine, 1.0)
    assert img[4, 4, 0] == 0.0  # scene a is gone
    assert abs(img[4, 4, 1] - 0.5) < 2 / 255 and abs(img[4, 4, 2] - 0.5) < 2 / 255


def test_panic_cuts_to_the_safe_scene_at_once(engine):
    engine.load_scene(solid_scene("a", (1.0, 1.0, 1.0)), fade=0.0)
    frame(engine, 0.0)
    engine.load_scene(solid_scene("b", (1.0, 0.0, 0.0)), fade=4.0)
    engine.panic()
    img = frame(engine, 0.1)
    assert engine.panicked and engine.scene.spec.name == "safe"
    assert engine._fade is None
    assert 0.0 < img[..., :3].max() < 0.25  # dark, but not black
    assert engine.parts.get("scene").state == State.DEGRADED
    later = frame(engine, 20.0)
    assert np.abs(later - img).max() > 0.0  # slowly moving


class _Halve:
    """An output filter that halves the picture (stands in for the flash guard)."""

    def __init__(self, ctx):
        from live.render.compositor import FULLSCREEN_VERTEX
        self.prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader="""
            #version 330 core
            in vec2 v_uv; out vec4 f; uniform sampler2D src;
            void main() { f = vec4(texture(src, v_uv).rgb * 0.5, 1.0); }""")
        self.vao = ctx.vertex_array(self.prog, [])
        self.calls = 0

    def process(self, src, dst, dt):
        self.calls += 1
        dst.use()
        src.use(0)
        self.vao.render(vertices=3)


def test_output_filters_run_in_order_and_a_failing_one_is_dropped(engine, ctx):
    engine.load_scene(solid_scene("a", (0.8, 0.4, 0.2)))
    halve = _Halve(ctx)
    engine.output_filters = [halve, _Halve(ctx)]
    np.testing.assert_allclose(frame(engine)[4, 4, :3], [0.2, 0.1, 0.05], atol=1.5 / 255)

    class Broken:
        def process(self, src, dst, dt):
            raise RuntimeError("boom")

    engine.output_filters = [Broken(), halve]
    np.testing.assert_allclose(frame(engine)[4, 4, :3], [0.4, 0.2, 0.1], atol=1.5 / 255)
    assert len(engine.output_filters) == 1
    assert engine.parts.get("filter.Broken").state == State.FAILED


def test_date_counts_from_the_engines_date_origin(ctx):
    """DATE / iDate: offline renders count from a fixed evening (deterministic, and DATE.w is
    never 0, which log(DATE.w) shaders cannot take); a live show passes its wall-clock start."""
    import datetime

    from live.engine import RENDER_DATE_ORIGIN

    clock = ManualClock()
    live_start = datetime.datetime(2026, 12, 31, 23, 59, 30)
    for origin, want in ((RENDER_DATE_ORIGIN, (2026.0, 6.0, 21.0, 21 * 3600 + 90.5)),
                         (live_start, (2027.0, 1.0, 1.0, 60.5))):  # across midnight and the year
        eng = Engine(ctx, (8, 8), clock, shader_roots=ROOTS, date_origin=origin)
        try:
            eng.load_scene(scene(layer("a", "e/time")))
            frame(eng, 90.5)
            assert tuple(eng.uniforms.date) == pytest.approx(want)
        finally:
            eng.release()

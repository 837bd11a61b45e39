"""Transitions between scenes under a manual clock: the wipe shader pixel by pixel against numpy,
transitions quantized to the next beat, bar or phrase, lengths in beats and bars, eased
crossfades, cuts, and what happens when a transition or its scene cannot be used.

Scenes are flat colours (tests/fixtures/engine/e/solid.fs), so every expectation is a colour or
a mask computed here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from live.clock import ManualClock
from live.engine import Engine
from live.modulation.timeline import parse_transition
from live.render.isf import load_isf
from live.render.program import TransitionRenderer
from live.render.shader_source import default_search_roots, resolve_shader_path
from live.scene import parse_scene
from live.setlist import SetList
from live.show import Show
from live.testing import SteppingTimer

pytestmark = pytest.mark.gl

ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]
SIZE = (32, 16)
FPS = 60.0
RED, BLUE, GREEN = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)


def scene_text(name: str, rgb, bpm: float = 120.0, transition: str = "") -> str:
    return (f'schema = 1\n[scene]\nname = "{name}"\nbpm = {bpm}\n[[layers]]\nid = "a"\n'
            f'kind = "shader"\nsource = "e/solid"\n'
            f'params = {{ color = [{rgb[0]}, {rgb[1]}, {rgb[2]}, 1.0] }}\n'
            + (f"[transition]\n{transition}\n" if transition else ""))


def write(folder: Path, name: str, rgb, **kw) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(scene_text(name, rgb, **kw))
    return path


@pytest.fixture
def make_show(ctx):
    made = []

    def make(paths, setlist: SetList | None = None, **kwargs) -> Show:
        engine = Engine(ctx, SIZE, ManualClock(), shader_roots=ROOTS)
        kwargs.setdefault("fade", 0.5)
        show = Show(engine, setlist or SetList("t", tuple(paths)), perf=SteppingTimer(), **kwargs)
        made.append(show)
        show.start()
        return show

    yield make
    for show in made:
        show.close()
        show.engine.release()


def frame(show: Show, dt: float = 1.0 / FPS) -> np.ndarray:
    show.clock.advance(dt)
    show.step()
    return show.engine.read_rgba()[..., :3].astype(np.float64) / 255.0


def wipe_mask(size, progress: float, angle: float, softness: float) -> np.ndarray:
    """Where the incoming scene shows (0..1), computed like the shader's header says: the
    pixel's place along the direction of travel, the edge from -softness to 1."""
    w, h = size
    x = (np.arange(w) + 0.5) / w
    y = (np.arange(h)[::-1] + 0.5) / h                  # row 0 of a read picture is the top
    u, v = np.meshgrid(x, y)
    a = np.radians(angle)
    d = np.array([np.cos(a), np.sin(a)])
    half = 0.5 * (abs(d[0]) + abs(d[1]))
    s = ((u - 0.5) * d[0] + (v - 0.5) * d[1]) / (2 * half) + 0.5
    edge = progress * (1 + softness) - softness
    if softness == 0.0:
        return (s < edge).astype(float)
    t = np.clip((s - edge) / softness, 0.0, 1.0)
    return 1.0 - t * t * (3 - 2 * t)


# ---- the wipe shader ---------------------------------------------------------------------------


@pytest.mark.parametrize("angle", [0.0, 90.0, 180.0, 270.0, 30.0])
@pytest.mark.parametrize("softness", [0.0, 0.25])
@pytest.mark.parametrize("progress", [0.0, 0.3, 0.5, 1.0])
def test_wipe_matches_its_geometry(ctx, angle, softness, progress):
    engine = Engine(ctx, SIZE, ManualClock(), shader_roots=ROOTS)
    wipe = TransitionRenderer(ctx, load_isf(resolve_shader_path("transitions/wipe")),
                              {"angle": angle, "softness": softness})
    engine.transition = wipe
    try:
        engine.load_scene(parse_scene(scene_text("a", RED), "a.toml"))
        engine.tick()
        engine.load_scene(parse_scene(scene_text("b", BLUE), "b.toml"), fade=1.0)
        engine.clock.set(progress)
        engine.tick()
        got = engine.read_rgba()[..., :3].astype(np.float64) / 255.0
    finally:
        engine.release()
        wipe.release()
    mask = wipe_mask(SIZE, progress, angle, softness)
    expected = np.stack([1.0 - mask, np.zeros_like(mask), mask], axis=-1)
    if softness == 0.0 and 0.0 < progress < 1.0:
        # A hard edge: every pixel is one scene or the other; a pixel centre that lies within
        # float noise of the edge may go either way.
        near = np.abs(wipe_mask(SIZE, progress + 1e-4, angle, 0) - wipe_mask(SIZE, progress - 1e-4, angle, 0)) > 0
        assert (np.abs(got - expected).max(axis=-1)[~near] <= 1.5 / 255).all()
        assert 0.0 < mask.mean() < 1.0
    else:
        np.testing.assert_allclose(got, expected, atol=1.5 / 255)


def test_wipe_left_comes_in_from_the_right(ctx):
    mask = wipe_mask(SIZE, 0.5, 180.0, 0.0)
    assert mask[:, -1].all() and not mask[:, 0].any()   # the sanity of the reference itself


# ---- quantized transitions in the show ----------------------------------------------------------


def switch_frame(show: Show, name: str, max_frames: int = 600):
    """Step at 60 fps until the engine runs scene `name`; return (frame time, beat count)."""
    for _ in range(max_frames):
        frame(show)
        if show.engine.scene.spec.name == name:
            return show.clock.now(), show.engine.beat.beat
    raise AssertionError(f"never switched to {name}")


@pytest.mark.parametrize("bpm", [90.0, 128.0, 174.0])
def test_a_cue_quantized_to_the_bar_starts_on_the_next_bar(make_show, tmp_path, bpm):
    red = write(tmp_path, "red", RED, bpm=bpm)
    blue = write(tmp_path, "blue", BLUE, bpm=bpm,
                 transition='kind = "wipe"\ndirection = "left"\nlength = "2beat"\nquantize = "bar"')
    show = make_show([red, blue])
    for _ in range(int(1.3 * FPS)):                   # into the show, somewhere mid-bar
        frame(show)
    beat = show.engine.beat
    cue_beat = beat.beat
    assert show.post_key("right")
    frame(show)
    assert show.engine.scene.spec.name == "red" and show.cues.held is not None
    origin = show.engine.timeline_origin()
    bar = origin + 4 * np.ceil((cue_beat - origin) / 4)
    t_switch, _ = switch_frame(show, "blue")
    t_bar = beat.time_of_beat(bar)
    assert -1e-9 <= t_switch - t_bar < 1.0 / FPS + 1e-9, (t_switch, t_bar)
    assert show.engine.fading
    # Bar 1 of the new scene is the bar it came in on, not the next one.
    assert show.engine.timeline_origin() == pytest.approx(bar)
    # One beat into the two-beat wipe the incoming scene covers the right half.
    while beat.beat < bar + 1.0:
        picture = frame(show)
    # The fade started a moment after the bar and was shortened by that much, so that it ends
    # exactly two beats after the bar.
    progress = (show.clock.now() - t_switch) / (t_bar + 2 * 60.0 / bpm - t_switch)
    mask = wipe_mask(SIZE, progress, 180.0, 0.05)
    expected = np.stack([1.0 - mask, np.zeros_like(mask), mask], axis=-1)
    np.testing.assert_allclose(picture, expected, atol=2 / 255)
    while show.engine.fading:
        frame(show)
    assert -1e-9 <= show.clock.now() - (t_bar + 2 * 60.0 / bpm) < 1.0 / FPS + 1e-9
    np.testing.assert_allclose(frame(show), np.broadcast_to(BLUE, (*SIZE[::-1], 3)), atol=1 / 255)
    assert getattr(show.engine, "transition", None) is None   # taken off after the fade


@pytest.mark.parametrize("unit,phrase,expect_bars", [("beat", 8, None), ("phrase", 2, 2),
                                                     ("phrase", 8, 8)])
def test_beat_and_phrase_quantize(make_show, tmp_path, unit, phrase, expect_bars):
    red = write(tmp_path, "red", RED)
    blue = write(tmp_path, "blue", BLUE,
                 transition=f'kind = "cut"\nquantize = "{unit}"\nphrase = {phrase}')
    show = make_show([red, blue])
    for _ in range(int(2.6 * FPS)):                   # 120 bpm: beat 5.2, bar 2
        frame(show)
    cue_beat = show.engine.beat.beat
    origin = show.engine.timeline_origin()
    show.post("scene.next")
    _, beat_switch = switch_frame(show, "blue", max_frames=2000)
    if unit == "beat":
        target = np.ceil(cue_beat)
    else:
        length = 4 * expect_bars
        target = origin + length * np.ceil((cue_beat - origin) / length)
    assert -1e-9 <= beat_switch - target < 2.0 / FPS + 1e-9  # 2 beats per second at 120 bpm
    assert not show.engine.fading                      # a cut


def test_cue_again_while_held_keeps_the_compiled_scene_and_panic_cancels(make_show, tmp_path):
    red = write(tmp_path, "red", RED)
    blue = write(tmp_path, "blue", BLUE, transition='quantize = "phrase"')
    show = make_show([red, blue])
    frame(show, 0.3)
    show.post("scene.next")
    frame(show)
    held = show.cues.held
    show.post("scene.next")
    frame(show)
    assert show.cues.held is not None and show.cues.held.active is held.active
    assert "blue at bar 9.1" in show.hud_info().next_scene
    show.post("master.panic")
    frame(show)
    assert show.cues.held is None and show.engine.panicked
    for _ in range(int(17 * FPS)):                     # past the phrase: nothing switches
        frame(show)
    assert show.engine.panicked


def test_lengths_in_bars_follow_the_tempo_and_eased_crossfades_use_the_curve(make_show, tmp_path):
    red = write(tmp_path, "red", RED, bpm=90.0)
    blue = write(tmp_path, "blue", BLUE, bpm=90.0,
                 transition='length = "1bar"\nease = "quad_in"')
    show = make_show([red, blue])
    frame(show)
    show.post("scene.next")
    frame(show)
    assert show.engine.fading
    bar_s = 4 * 60.0 / 90.0
    picture = frame(show, bar_s / 2)                   # half the bar: quad_in gives 0.25
    np.testing.assert_allclose(picture[4, 4], (0.75, 0.0, 0.25), atol=2 / 255)
    frame(show, bar_s / 2 + 0.01)
    assert not show.engine.fading


def test_setlist_entry_transition_wins_over_the_scenes_own(make_show, tmp_path):
    red = write(tmp_path, "red", RED)
    blue = write(tmp_path, "blue", BLUE, transition='kind = "wipe"\nlength = "4bar"')
    cut = parse_transition({"kind": "cut"})
    from live.setlist import EntryOptions

    setlist = SetList("t", (red, blue), options=(EntryOptions(), EntryOptions(transition=cut)))
    show = make_show([red, blue], setlist=setlist)
    show.post("scene.next")
    frame(show)
    assert show.engine.scene.spec.name == "blue" and not show.engine.fading


def test_a_transition_shader_that_fails_falls_back_to_a_crossfade(make_show, tmp_path, caplog):
    red = write(tmp_path, "red", RED)
    blue = write(tmp_path, "blue", BLUE,
                 transition='kind = "shader"\nshader = "transitions/no_such_thing"\nlength = 1')
    show = make_show([red, blue])
    with caplog.at_level(logging.ERROR, logger="live"):
        show.post("scene.next")
        frame(show)
    assert show.engine.scene.spec.name == "blue" and show.engine.fading
    assert getattr(show.engine, "transition", None) is None     # the plain mix draws it
    state = show.parts.snapshot()["transition"]
    assert state.state.value == "degraded" and "no_such_thing" in state.reason
    assert any("no_such_thing" in r.getMessage() for r in caplog.records)
    np.testing.assert_allclose(frame(show, 0.5)[4, 4], (0.5, 0.0, 0.5), atol=2 / 255)


def test_a_transition_to_a_scene_that_fails_to_load_stays_and_reports(make_show, tmp_path):
    red = write(tmp_path, "red", RED)
    blue = write(tmp_path, "blue", BLUE, transition='quantize = "bar"')
    show = make_show([red, blue])
    blue.write_text(blue.read_text().replace('source = "e/solid"', 'source = "e/nope"'))
    show.post("scene.next")
    picture = frame(show)
    assert show.engine.scene.spec.name == "red" and show.index == 0
    assert show.cues.held is None                      # nothing waits for the bar
    assert "failed to load" in show.parts.snapshot()["show"].reason
    assert "keeps playing" in show.message
    for _ in range(int(3 * FPS)):
        picture = frame(show)
    np.testing.assert_allclose(picture[4, 4], RED, atol=1 / 255)

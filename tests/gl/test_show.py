"""The live show loop with a manual clock and injected key events.

Scenes are flat colours (tests/fixtures/engine/e/solid.fs), so every expectation is a colour
computed here: red, green, blue, or a known mix of them during a crossfade.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from live.audio.synthetic import kick_hat_loop
from live.clock import ManualClock
from live.engine import Engine
from live.health.registry import State
from live.render.outputs.timing import FramePacer
from live.render.shader_source import default_search_roots
from live.render.video import read_png
from live.scene import SceneError
from live.show import (
    PREPARE_DELAY_S,
    PREVIEW_DELAY_S,
    FilePlayback,
    NextPreview,
    SetList,
    Show,
    ShowError,
)
from live.testing import SteppingTimer

pytestmark = pytest.mark.gl

ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]
SIZE = (16, 8)
FADE = 0.5
RED, GREEN, BLUE = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)


def write_scene(folder: Path, name: str, colour: tuple[float, float, float] | None,
                shader: str = "e/solid") -> Path:
    """A one-layer scene file; `colour` sets the solid shader's colour (None: no params)."""
    params = "" if colour is None else f"params = {{ color = [{colour[0]}, {colour[1]}, {colour[2]}, 1.0] }}\n"
    path = folder / f"{name}.toml"
    path.write_text(f'schema = 1\n[scene]\nname = "{name}"\nbpm = 120\n'
                    f'[[layers]]\nid = "a"\nkind = "shader"\nsource = "{shader}"\n' + params)
    return path


@pytest.fixture
def scenes(tmp_path):
    return [write_scene(tmp_path, "red", RED), write_scene(tmp_path, "green", GREEN),
            write_scene(tmp_path, "blue", BLUE)]


@pytest.fixture
def make_show(ctx, tmp_path):
    made = []

    def make(paths, **kwargs) -> Show:
        clock = ManualClock()
        engine = Engine(ctx, SIZE, clock, shader_roots=ROOTS)
        kwargs.setdefault("fade", FADE)
        kwargs.setdefault("snapshot_dir", tmp_path / "snapshots")
        show = Show(engine, SetList("test", tuple(paths)), perf=SteppingTimer(), **kwargs)
        made.append(show)
        show.start()
        return show

    yield make
    for show in made:
        show.close()
        show.engine.release()


def step(show: Show, dt: float = 0.0, n: int = 1) -> np.ndarray:
    for _ in range(n):
        show.clock.advance(dt)
        show.step()
    return show.engine.read_rgba()[SIZE[1] // 2, SIZE[0] // 2, :3].astype(np.float64) / 255.0


def settle(show: Show, seconds: float, dt: float = 0.1) -> np.ndarray:
    return step(show, dt, round(seconds / dt))


def test_first_scene_plays_and_next_is_compiled_ahead(make_show, scenes):
    show = make_show(scenes)
    np.testing.assert_allclose(step(show), RED, atol=1 / 255)
    assert not show.next_ready  # not compiled in the first frames: it waits for its slot
    settle(show, PREPARE_DELAY_S + 0.1)
    assert show.next_ready
    prepared = show._next[1]
    assert show.post_key("right")
    step(show)
    assert show.engine.scene is prepared, "next must switch to the scene compiled ahead"
    assert show.index == 1


def test_next_crossfades_over_the_fade_length(make_show, scenes):
    show = make_show(scenes)
    settle(show, PREPARE_DELAY_S + 0.1)
    show.post_key("page_down")
    np.testing.assert_allclose(step(show), RED, atol=1 / 255)  # fade starts at progress 0
    mid = step(show, FADE / 2)
    # Smoothstep at the midpoint is 0.5: half red, half green.
    np.testing.assert_allclose(mid, (0.5, 0.5, 0.0), atol=2 / 255)
    np.testing.assert_allclose(step(show, FADE / 2 + 0.01), GREEN, atol=1 / 255)
    assert show.engine.scene.spec.name == "green"


def test_previous_goto_and_the_ends_of_the_set_list(make_show, scenes):
    show = make_show(scenes, fade=0.0)
    show.post_key("left")
    np.testing.assert_allclose(step(show), RED, atol=1 / 255)
    assert show.message == "start of the set list"
    show.post_key("3")
    np.testing.assert_allclose(step(show), BLUE, atol=1 / 255)
    show.post_key("right")
    np.testing.assert_allclose(step(show), BLUE, atol=1 / 255)
    assert show.message == "end of the set list"
    show.post_key("left")
    np.testing.assert_allclose(step(show), GREEN, atol=1 / 255)
    show.post("scene.goto", 7)
    np.testing.assert_allclose(step(show), GREEN, atol=1 / 255)
    assert "no set-list entry 7" in show.message


def test_a_broken_scene_is_skipped_and_reported(make_show, scenes, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('schema = 1\n[scene]\nname = "broken"\nbpm = 120\n[[layers]]\nid = "a"\n'
                      'kind = "shader"\nsource = "e/does-not-exist"\n')
    show = make_show([scenes[0], broken, scenes[2]], fade=0.0)
    settle(show, PREPARE_DELAY_S + 0.1)
    assert not show.next_ready
    show.post_key("right")
    np.testing.assert_allclose(step(show), BLUE, atol=1 / 255)
    assert show.index == 2
    assert any("broken.toml" in e for e in show.errors)
    assert show.parts.get("show").state.value == "degraded"
    assert any("broken.toml" in e for e in show.hud_info().errors)


def test_an_edited_scene_file_is_read_when_it_is_prepared(make_show, scenes):
    show = make_show(scenes, fade=0.0)
    write_scene(scenes[1].parent, "green", (1.0, 1.0, 0.0))  # the performer edits entry 2
    settle(show, PREPARE_DELAY_S + 0.1)
    show.post_key("right")
    np.testing.assert_allclose(step(show), (1.0, 1.0, 0.0), atol=1 / 255)


def test_blackout_and_freeze_toggle(make_show, tmp_path):
    timed = write_scene(tmp_path, "timed", None, shader="e/time")
    show = make_show([timed])
    step(show, 1.0)
    show.post_key("b")
    np.testing.assert_allclose(step(show, 0.1), (0, 0, 0), atol=1 / 255)
    assert show.hud_info().blackout
    show.post_key("b")
    assert step(show, 0.1)[0] > 0.05  # TIME / 10 in red again
    show.post_key("f")
    frozen = step(show, 0.1)
    np.testing.assert_allclose(step(show, 1.0), frozen, atol=1e-9)  # the clock runs, the picture holds
    show.post_key("f")
    assert step(show, 0.1)[0] > frozen[0] + 0.05


def test_panic_cuts_to_the_safe_scene_and_next_returns_to_the_set(make_show, scenes):
    show = make_show(scenes)
    step(show, 0.1)
    show.post_key("p")
    picture = step(show)
    assert show.engine.panicked
    assert picture.max() < 0.25 and picture[2] >= picture[0]  # the dark blue safe scene, at once
    assert show.hud_info().panic
    settle(show, PREPARE_DELAY_S + 0.1)
    show.post_key("right")
    settle(show, FADE + 0.1)
    assert not show.engine.panicked
    np.testing.assert_allclose(step(show), GREEN, atol=1 / 255)


def test_tap_tempo_sets_the_beat_clock(make_show, scenes):
    show = make_show(scenes)
    for _ in range(4):
        show.post_key("t")
        step(show, 0.4)  # taps 0.4 s apart: 150 bpm
    assert show.engine.beat.source == "tap"
    assert show.engine.beat.bpm == pytest.approx(150.0, abs=0.5)
    assert show.hud_info().bpm == pytest.approx(150.0, abs=0.5)


def test_dimmer_keys_scale_the_picture(make_show, scenes):
    show = make_show(scenes)
    show.post_key("down")
    show.post_key("down")
    np.testing.assert_allclose(step(show), (0.8, 0, 0), atol=1.5 / 255)
    for _ in range(5):
        show.post_key("up")
    np.testing.assert_allclose(step(show), RED, atol=1 / 255)
    show.post("master.dimmer", 0.25)
    np.testing.assert_allclose(step(show), (0.25, 0, 0), atol=1.5 / 255)


def test_quit_asks_twice_and_esc_never_quits(make_show, scenes):
    show = make_show(scenes)
    for _ in range(5):
        show.post_key("escape")
        step(show, 0.1)
    assert not show.quit_requested
    show.post_key("ctrl+q")
    step(show)
    assert not show.quit_requested
    assert "Ctrl+Q again" in show.prompt and show.hud_info().prompt == show.prompt
    step(show, 2.5)  # too late: the prompt expires
    assert show.prompt is None
    show.post_key("ctrl+q")
    step(show, 0.1)
    show.post_key("escape")  # cancelled
    step(show, 0.1)
    assert show.prompt is None
    show.post_key("ctrl+q")
    step(show, 0.1)
    assert not show.quit_requested
    show.post_key("window_close")  # the window's close button counts as a quit request
    step(show, 1.0)
    assert show.quit_requested


def test_unbound_keys_are_ignored_and_a_keymap_cannot_quit_on_esc(make_show, scenes):
    show = make_show(scenes)
    assert not show.post_key("f7")
    with pytest.raises(ShowError, match="Esc must not quit"):
        Show(show.engine, show.setlist, keymap={"escape": "quit"})
    with pytest.raises(ShowError, match="did you mean 'scene.next'"):
        Show(show.engine, show.setlist, keymap={"n": "scene.nxt"})


def test_snapshot_writes_the_program_picture(make_show, scenes, tmp_path):
    show = make_show(scenes)
    step(show)
    show.post_key("s")
    step(show)
    assert show.message.startswith("snapshot: ")
    path = Path(show.message.split(": ", 1)[1])
    deadline = time.monotonic() + 10.0
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)
    img = read_png(path)
    assert img.shape[:2] == (SIZE[1], SIZE[0])
    np.testing.assert_allclose(img[..., :3] / 255.0, np.broadcast_to(RED, img[..., :3].shape), atol=1 / 255)


def test_snapshot_goes_to_the_recorder_hook_when_given(make_show, scenes):
    calls = []
    show = make_show(scenes, snapshot=lambda: calls.append(1) or "rec/shot.png")
    show.post_key("s")
    step(show)
    assert calls == [1]
    assert show.message == "snapshot: rec/shot.png"


def test_run_paces_frames_and_counts_dropped_slots(make_show, scenes):
    show = make_show(scenes)

    class SlowOutput:  # every third frame takes 0.25 s: two or three 10 fps slots missed
        name = "slow"
        n = 0

        def present(self, s):
            self.n += 1
            if self.n % 3 == 0:
                s.clock.advance(0.25)

        def close(self):
            pass

    show.outputs.append(SlowOutput())
    pacer = FramePacer(show.clock, 10.0, sleep=show.clock.advance)
    report = show.run(duration=3.0, pacer=pacer)
    # 30 slots in 3 s; each slow frame eats 0.25 s = 2.5 slots, so about a third are missed.
    assert report.dropped > 0
    assert report.frames + report.dropped == pytest.approx(30, abs=2)
    assert report.seconds == pytest.approx(3.0, abs=0.11)


def test_a_failing_output_is_closed_and_the_show_goes_on(make_show, scenes):
    show = make_show(scenes)

    class Broken:
        name = "projector"
        closed = False

        def present(self, s):
            raise RuntimeError("window lost")

        def close(self):
            self.closed = True

    broken = Broken()
    show.outputs.append(broken)
    np.testing.assert_allclose(step(show), RED, atol=1 / 255)
    assert broken.closed and broken not in show.outputs
    assert show.parts.get("output.projector").state.value == "failed"
    np.testing.assert_allclose(step(show, 0.1), RED, atol=1 / 255)


def test_file_playback_drives_the_audio_signals(make_show, tmp_path):
    bass = write_scene(tmp_path, "bass", None, shader="e/time")  # blue channel = BASS
    audio = kick_hat_loop(120.0, 4.0)
    show = make_show([bass], audio=FilePlayback(np.asarray(audio, np.float32)[:, None]))
    levels = []
    for _ in range(60):
        levels.append(step(show, 1 / 30)[2])
    assert max(levels) > 0.3, "kicks must light the BASS uniform"
    assert show.last_audio.time > 1.5
    silent = make_show([bass])
    assert max(step(silent, 1 / 30)[2] for _ in range(10)) == 0.0


def test_preview_renders_the_next_scene(make_show, scenes, ctx):
    clock_show = make_show(scenes)
    preview = NextPreview(ctx, clock_show.clock, size=(16, 8), shader_roots=ROOTS)
    clock_show.preview = preview
    settle(clock_show, PREPARE_DELAY_S + PREVIEW_DELAY_S + 0.3)
    assert preview.loaded and preview.label == "green"
    img = np.frombuffer(preview.texture.read(), np.uint8).reshape(8, 16, 4)
    np.testing.assert_allclose(img[4, 8, :3] / 255.0, GREEN, atol=1 / 255)
    assert clock_show.hud_info().next_scene == "green"


# ---------------------------------------------------------------------------------- set lists


def test_setlist_file_resolves_names_and_relative_paths(tmp_path, scenes):
    (tmp_path / "sets").mkdir()
    listing = tmp_path / "sets" / "friday.toml"
    listing.write_text('schema = 1\n[setlist]\nname = "friday"\nfade = 2.5\n'
                       'scenes = ["../red.toml", "demo"]\n')
    sl = SetList.load_file(listing)
    assert sl.name == "friday" and sl.fade == 2.5
    assert sl.entries[0].resolve() == scenes[0].resolve()
    assert sl.label(1) == "demo"
    assert SetList.from_args([str(listing)]).entries == sl.entries


@pytest.mark.parametrize("body, key, line, words", [
    ('schema = 1\n[setlist]\nscenes = ["nope-scene"]\n', "setlist.scenes", 3, "no scene named"),
    ('schema = 1\n[setlist]\nscenes = []\n', "setlist.scenes", 3, "non-empty array"),
    ('schema = 1\n[setlist]\nscene = ["demo"]\n', "setlist.scene", 3, "did you mean 'scenes'"),
    ('schema = 1\n[setlist]\nscenes = ["demo"]\nfade = -1\n', "setlist.fade", 4, "0 to 60"),
    ('schema = 2\n[setlist]\nscenes = ["demo"]\n', "schema", 1, "must be 1"),
])
def test_setlist_errors_name_file_key_and_line(tmp_path, body, key, line, words):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(SceneError) as info:
        SetList.load_file(path)
    err = info.value
    assert err.file == str(path) and err.key == key and err.line == line
    assert words in str(err)


def test_default_setlist_is_the_bundled_show_scenes():
    sl = SetList.from_args([])
    assert len(sl) >= 1
    assert all(int(p.stem[:3]) >= 10 for p in sl.entries)
    assert "demo" in [sl.label(i) for i in range(len(sl))]


def test_a_saved_scene_file_reaches_the_running_show_through_the_hot_reloader(make_show, scenes):
    from live.reload import HotReloader

    show = make_show(scenes[:1])
    reloader = HotReloader(show.engine, interval=0.05, settle=0.05, timeout=20.0)
    show.reloader = reloader
    try:
        np.testing.assert_allclose(step(show), RED, atol=1 / 255)
        reloader.check_now()  # the watcher's first look: the files as they are now
        write_scene(scenes[0].parent, "red", BLUE)  # the performer edits the running scene
        import time
        deadline = time.monotonic() + 30.0  # generous: validation runs in a child process
        while not reloader.check_now():  # validated off the render thread, then queued
            assert time.monotonic() < deadline, "the edit was never picked up"
            time.sleep(0.05)
        np.testing.assert_allclose(step(show, 0.02), BLUE, atol=1 / 255)
        assert reloader.reloads >= 1
    finally:
        reloader.stop()


def test_live_input_lights_bass_and_survives_its_device_going_away(make_show, tmp_path):
    from live.audio.sources import FileSource, InputSupervisor
    from live.show import LiveInput

    bass = write_scene(tmp_path, "bass", None, shader="e/time")  # blue = BASS
    show = make_show([bass])
    loop = kick_hat_loop(120.0, 3.0)
    state = {"gone": False}

    def open_source():
        if state["gone"]:
            raise OSError("device unplugged")
        src = FileSource.from_array(loop, 48000, clock=show.clock)
        src.start()
        return src

    supervisor = InputSupervisor(open_source, clock=show.clock, parts=show.parts, retry_s=0.5,
                                 stall_s=0.3, background_rescan=False)
    supervisor.start()
    show.audio = LiveInput(supervisor, name="test input")
    try:
        levels = [step(show, 1 / 30)[2] for _ in range(60)]
        assert max(levels) > 0.3, "kicks heard through the input must light BASS"
        assert show.audio.fed > 48000
        recorded = show.audio.block(show.audio.fed - 4800, show.audio.fed)
        assert recorded.shape == (4800, 1) and np.abs(recorded).max() > 0.0
        # The device goes away for good: silence, a degraded part state, the show runs on.
        state["gone"] = True
        supervisor.source.stop()
        frames = [step(show, 1 / 30) for _ in range(60)]
        assert show.parts.get("audio").state != State.OK
        assert len(frames) == 60
    finally:
        show.audio.close()

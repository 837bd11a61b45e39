"""Set lists and scene time in the running show, under a manual clock at 60 fps.

A set list plays through by itself (durations in bars, each next entry compiled ahead, switches on
the bar), cue triggers from keys and signals jump to entries, the HUD shows the position and the
next cue, set list files are read with errors that point at the line, and a scene's tracks, LFOs
and envelopes reach the picture and survive a hot reload of the scene file.

Scenes are flat colours (tests/fixtures/engine/e/solid.fs: ``color`` times ``level``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live.clock import ManualClock
from live.engine import Engine
from live.modulation.timeline import Duration
from live.render.shader_source import default_search_roots
from live.scene import SceneError, load_scene
from live.setlist import EntryOptions, SetList, ShowError
from live.show import Show
from live.testing import SteppingTimer

ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]
SIZE = (16, 8)
FPS = 60.0
RED, GREEN, BLUE = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)


def write(folder: Path, name: str, rgb, bpm: float = 120.0, extra: str = "") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'schema = 1\n[scene]\nname = "{name}"\nbpm = {bpm}\n[[layers]]\nid = "a"\n'
                    f'kind = "shader"\nsource = "e/solid"\n'
                    f'params = {{ color = [{rgb[0]}, {rgb[1]}, {rgb[2]}, 1.0] }}\n' + extra)
    return path


@pytest.fixture
def make_show(ctx):
    made = []

    def make(setlist: SetList, start: float = 0.0, **kwargs) -> Show:
        engine = Engine(ctx, SIZE, ManualClock(start), shader_roots=ROOTS)
        kwargs.setdefault("fade", 0.0)
        show = Show(engine, setlist, perf=SteppingTimer(), **kwargs)
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
    return show.engine.read_rgba()[SIZE[1] // 2, SIZE[0] // 2, :3].astype(np.float64) / 255.0


# ---- set list files -----------------------------------------------------------------------------


def test_long_form_set_list_files(tmp_path):
    red, green = write(tmp_path, "red", RED), write(tmp_path, "green", GREEN)
    path = tmp_path / "friday.toml"
    path.write_text("""schema = 1
[setlist]
name = "friday"
transition = { kind = "crossfade", length = "1bar", quantize = "bar" }

[[setlist.entries]]
scene = "red.toml"
bars = 16
cue = ["key:Q", "midi.note.1.36"]

[[setlist.entries]]
scene = "green.toml"
advance = "manual"
transition = { kind = "wipe", direction = "up", length = "2beat", quantize = "phrase", phrase = 4 }
""")
    sl = SetList.load_file(path)
    assert sl.name == "friday" and sl.entries == (red, green)
    assert sl.entry(0) == EntryOptions(bars=16, advance="auto", cues=("key:q", "midi.note.1.36"))
    assert sl.entry(0).auto and not sl.entry(1).auto
    assert sl.transition.length == Duration(1.0, "bar") and sl.transition.quantize == "bar"
    assert sl.entry(1).transition.direction == 90.0 and sl.entry(1).transition.phrase == 4
    assert sl.transition_for(0) is sl.transition and sl.transition_for(1) is sl.entry(1).transition
    assert sl.cue_keys() == {"q": 0} and sl.cue_sources() == {"midi.note.1.36": 0}
    # Several set lists on the command line keep their entries' options.
    both = SetList.from_args([str(path), str(path)])
    assert len(both) == 4 and both.entry(2).bars == 16 and both.transition == sl.transition


def test_short_form_set_lists_still_read(tmp_path):
    write(tmp_path, "red", RED)
    path = tmp_path / "s.toml"
    path.write_text('schema = 1\n[setlist]\nname = "s"\nfade = 2.5\nscenes = ["red.toml"]\n')
    sl = SetList.load_file(path)
    assert sl.fade == 2.5 and sl.options == () and sl.entry(0) == EntryOptions()
    assert sl.transition_for(0) is None


@pytest.mark.parametrize("body,key,line,words", [
    ('[[setlist.entries]]\nscene = "red.toml"\nbras = 4\n', "setlist.entries[0].bras", 5,
     ["did you mean 'bars'?"]),
    ('[[setlist.entries]]\nscene = "red.toml"\nbars = 0\n', "setlist.entries[0].bars", 5,
     ["integer from 1"]),
    ('[[setlist.entries]]\nscene = "red.toml"\nadvance = "auto"\n',
     "setlist.entries[0].advance", 5, ["needs bars"]),
    ('[[setlist.entries]]\nscene = "red.toml"\ncue = ["midi.nte.1.3"]\n',
     "setlist.entries[0].cue[0]", 5, ["source 'midi.nte.1.3'", "key:<name>"]),
    ('[[setlist.entries]]\nscene = "red.toml"\ntransition = { kind = "wpie" }\n',
     "setlist.entries[0].transition.kind", 5, ["did you mean 'wipe'?"]),
    ('[[setlist.entries]]\nscene = "nope"\n', "setlist.entries[0].scene", 4, ["no scene named"]),
    ('[[setlist.entries]]\nbars = 2\n', "setlist.entries[0].scene", 3, ["missing scene"]),
    ('scenes = ["red.toml"]\n[[setlist.entries]]\nscene = "red.toml"\n', "setlist.scenes", 3,
     ["not both"]),
    ('transition = { length = "0bar" }\nscenes = ["red.toml"]\n', "setlist.transition.length",
     3, ["longer than zero"]),
])
def test_set_list_errors_name_the_key_and_line(tmp_path, body, key, line, words):
    write(tmp_path, "red", RED)
    path = tmp_path / "bad.toml"
    path.write_text("schema = 1\n[setlist]\n" + body)
    with pytest.raises(SceneError) as info:
        SetList.load_file(path)
    err = info.value
    assert err.key == key and err.line == line, str(err)
    for word in words:
        assert word in str(err), str(err)


def test_the_demo_set_list_loads():
    folder = Path(__file__).resolve().parents[2] / "scenes" / "setlists"
    files = sorted(folder.glob("*.toml"))
    assert files
    for path in files:
        sl = SetList.load_file(path)
        assert len(sl) >= 2
        for i in range(len(sl)):
            sl.load(i)


# ---- playing a set list -------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [90.0, 128.0, 174.0])
def test_a_set_list_plays_through_on_the_bar_with_each_entry_compiled_ahead(make_show, tmp_path, bpm):
    paths = [write(tmp_path, n, c, bpm=bpm) for n, c in (("red", RED), ("green", GREEN),
                                                          ("blue", BLUE))]
    bars = (2, 3, None)
    transition = {"length": "1beat", "quantize": "bar"}
    from live.modulation.timeline import parse_transition

    setlist = SetList("t", tuple(paths), options=tuple(EntryOptions(bars=b, advance="auto" if b else "manual")
                                                        for b in bars),
                      transition=parse_transition(transition))
    show = make_show(setlist, start=0.77)
    engine = show.engine
    compiled_at: list[float] = []
    prepare = engine.prepare_scene

    def recording_prepare(spec):
        compiled_at.append(engine.clock.now())
        return prepare(spec)

    engine.prepare_scene = recording_prepare
    switches = []
    ready_before = []
    name = engine.scene.spec.name
    origin = engine.timeline_origin()
    assert origin == 0.0                                # the first scene starts the beat clock
    for _ in range(int(30 * FPS)):
        ready = show.next_ready
        frame(show)
        if engine.scene.spec.name != name:
            name = engine.scene.spec.name
            switches.append((engine.clock.now(), name))
            ready_before.append(ready)
    assert [n for _, n in switches] == ["green", "blue"]
    assert all(ready_before), "each next entry was compiled before its switch"
    assert not any(t in compiled_at for t, _ in switches), "nothing compiled on a switch frame"
    beat = engine.beat
    expected_beats = [origin + 2 * 4, origin + 5 * 4]   # red plays 2 bars, then green 3
    for (t, _), b in zip(switches, expected_beats):
        assert -1e-9 <= t - beat.time_of_beat(b) < 1.0 / FPS + 1e-9
    assert show.index == 2 and not show.cues.held
    np.testing.assert_allclose(frame(show), BLUE, atol=1 / 255)


def test_cue_keys_and_signals_jump_to_their_entries(make_show, tmp_path):
    paths = [write(tmp_path, n, c) for n, c in (("red", RED), ("green", GREEN), ("blue", BLUE))]
    options = (EntryOptions(), EntryOptions(cues=("key:q",)),
               EntryOptions(cues=("osc./cue/blue", "midi.note.1.36")))
    show = make_show(SetList("t", tuple(paths), options=options))
    assert show.post_key("q")
    np.testing.assert_allclose(frame(show), GREEN, atol=1 / 255)
    show.engine.signals.set("osc./cue/blue", 1.0)       # as the OSC input leaves it on the bus
    np.testing.assert_allclose(frame(show), BLUE, atol=1 / 255)
    show.post_key("1")
    np.testing.assert_allclose(frame(show), RED, atol=1 / 255)
    frame(show)                                         # still held high: no second cue
    assert show.engine.scene.spec.name == "red"
    show.engine.signals.set("osc./cue/blue", 0.0)
    frame(show)
    show.engine.signals.set("midi.note.1.36", 0.8)
    np.testing.assert_allclose(frame(show), BLUE, atol=1 / 255)


def test_a_cue_key_the_key_map_uses_is_refused(ctx, tmp_path):
    red = write(tmp_path, "red", RED)
    engine = Engine(ctx, SIZE, ManualClock(), shader_roots=ROOTS)
    try:
        with pytest.raises(ShowError, match="key 'right', which the key map already uses"):
            Show(engine, SetList("t", (red,), options=(EntryOptions(cues=("key:right",)),)))
    finally:
        engine.release()


def test_the_hud_shows_the_position_and_the_next_cue(make_show, tmp_path):
    paths = [write(tmp_path, "red", RED), write(tmp_path, "green", GREEN)]
    from live.modulation.timeline import parse_transition

    wipe = parse_transition({"kind": "wipe", "length": "2beat", "quantize": "bar"})
    show = make_show(SetList("t", tuple(paths), options=(EntryOptions(bars=8, advance="auto"),
                                                          EntryOptions(transition=wipe))))
    for _ in range(int(2.6 * FPS)):                     # 120 bpm: beat 5.2 = bar 2, beat 2
        frame(show)
    info = show.hud_info()
    assert info.scene == "1/2 red  bar 2.2/8"
    assert info.next_scene == "green after bar 8 (auto), wipe 2beat on the next bar"
    show.post("scene.next")
    frame(show)
    assert show.hud_info().next_scene == "green at bar 3.1 (wipe 2beat)"


# ---- scene time in the engine ---------------------------------------------------------------


TRACKED = """
[[tracks]]
id = "dim"
target = "layers.a.level"
keys = [{ at = "1.1", value = 1.0 }, { at = "2.1", value = 0.0 }, { at = "3.1", value = 0.5, ease = "step" }]
"""


def start_mid_bar(make_show, tmp_path, extra: str) -> tuple[Show, Path]:
    """A show whose second entry (red, with `extra`) is cut to at beat 0.5 (120 bpm): its bar 1
    is the clock's next downbeat, beat 4."""
    filler = write(tmp_path, "green", GREEN)
    path = write(tmp_path, "red", RED, extra=extra)
    show = make_show(SetList("t", (filler, path)))
    frame(show, 0.25)
    show.post("scene.goto", 2)
    frame(show, 0.0)
    assert show.engine.scene.spec.name == "red" and show.engine.beat.beat == 0.5
    return show, path


def test_tracks_drive_the_picture_on_the_scenes_bars(make_show, tmp_path):
    show, _ = start_mid_bar(make_show, tmp_path, TRACKED)
    engine = show.engine
    assert engine.timeline_origin() == 4.0
    seen = {}
    for _ in range(int(7 * FPS)):
        picture = frame(show)
        seen[round(engine.beat.beat - 4.0, 3)] = picture[0]
    assert seen[round(-1.5 + 1 / 30, 3)] == pytest.approx(1.0, abs=1 / 255)  # waiting: key 0
    assert seen[2.0] == pytest.approx(0.5, abs=1 / 255)                    # half way down
    assert seen[round(8.0 - 1 / 30, 3)] == pytest.approx(0.0, abs=1 / 255)  # still 0 ...
    assert seen[8.0] == pytest.approx(0.5, abs=1 / 255)                    # ... until bar 3


def test_lfos_and_envelopes_reach_layers_through_mappings(make_show, tmp_path):
    extra = """
[[lfos]]
id = "pulse"
shape = "square"
rate = "1beat"
duty = 0.25

[[envelopes]]
id = "hit"
trigger = "osc./hit"
attack = 0
decay = 0
sustain = 1
release = "1beat"

[[mappings]]
source = "lfo.pulse"
target = "layers.a.level"

[[mappings]]
source = "env.hit"
target = "layers.a.alpha"
range = [1.0, 0.0]
"""
    path = write(tmp_path, "red", RED, extra=extra)
    show = make_show(SetList("t", (path,)))
    highs = []
    for _ in range(int(2 * FPS)):
        highs.append(frame(show)[0] > 0.5)
    assert np.mean(highs) == pytest.approx(0.25, abs=0.02)   # a quarter of each beat
    show.engine.signals.set("osc./hit", 1.0)
    frame(show)
    assert show.engine.signals.get("env.hit") == 1.0
    show.engine.signals.set("osc./hit", 0.0)
    for _ in range(15):                                     # a quarter second: half a beat
        frame(show)
    assert show.engine.signals.get("env.hit") == pytest.approx(0.5, abs=0.02)
    # Half transparent over black: red at half brightness (on the LFO's low part: level 0).
    show.engine.signals.set("lfo.pulse", 0.0)
    assert frame(show, 0.0)[0] <= 0.5 * 1.0 + 1 / 255


def test_hot_reload_of_the_scene_keeps_its_bars_and_envelopes(make_show, tmp_path):
    extra = TRACKED + """
[[envelopes]]
id = "hit"
trigger = "osc./hit"
attack = 0
release = 4.0
"""
    show, path = start_mid_bar(make_show, tmp_path, extra)
    engine = show.engine
    for _ in range(int(1.0 * FPS)):
        frame(show)
    engine.signals.set("osc./hit", 1.0)
    frame(show)
    engine.signals.set("osc./hit", 0.0)
    for _ in range(int(1.0 * FPS)):                         # 120 bpm: into bar 1
        level_earlier = engine.signals.get("env.hit")
        frame(show)
    level_before = engine.signals.get("env.hit")
    per_frame = level_earlier - level_before                 # the release's slope
    assert 0.0 < level_before < 1.0 and per_frame > 0.0
    origin = engine.timeline_origin()
    # What live.reload.HotReloader.apply does: build the edited file, switch without a fade,
    # keep the scene's start time.
    path.write_text(path.read_text().replace("value = 0.5", "value = 0.75"))
    started = engine.scene.started
    engine.activate(engine.prepare_scene(load_scene(path)), fade=0)
    engine.scene.started = started
    picture = frame(show)
    assert engine.timeline_origin() == origin                      # still the same bar 1
    assert engine.signals.get("env.hit") == pytest.approx(level_before - per_frame, abs=1e-9)
    position = engine.beat.beat - origin
    assert 0.0 < position < 4.0                                    # fading down in bar 1
    assert picture[0] == pytest.approx(1.0 - position / 4.0, abs=1.5 / 255)
    while engine.beat.beat - origin < 8.0:
        picture = frame(show)
    assert picture[0] == pytest.approx(0.75, abs=1 / 255)          # the edited key


def test_a_track_naming_a_parameter_the_shader_lacks_is_a_scene_error(ctx, tmp_path):
    path = write(tmp_path, "red", RED, extra=TRACKED.replace("layers.a.level", "layers.a.levle"))
    engine = Engine(ctx, SIZE, ManualClock(), shader_roots=ROOTS)
    try:
        with pytest.raises(SceneError) as info:
            engine.load_scene(load_scene(path))
    finally:
        engine.release()
    err = info.value
    assert err.key == "tracks[0].target" and err.line == 13, str(err)
    assert "did you mean 'level'?" in str(err)


def test_panic_stops_an_automatic_advance(make_show, tmp_path):
    paths = [write(tmp_path, "red", RED), write(tmp_path, "green", GREEN)]
    show = make_show(SetList("t", tuple(paths), options=(EntryOptions(bars=1, advance="auto"),
                                                          EntryOptions())))
    frame(show)
    show.post("master.panic")
    for _ in range(int(4 * FPS)):                       # two bars at 120 bpm
        frame(show)
    assert show.engine.panicked and show.index == 0
    show.post("scene.next")                             # the operator takes over again
    np.testing.assert_allclose(frame(show), GREEN, atol=1 / 255)

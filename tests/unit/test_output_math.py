"""Output maths and show plumbing without GL: homographies, fits, pacing, frame statistics,
contact sheets, HUD text, key names, command parsing."""

from __future__ import annotations

import numpy as np
import pytest

from live.clock import ManualClock
from live.health.registry import PartState, State
from live.render.hud import HudInfo, hud_lines
from live.render.outputs.headless import contact_sheet, thumbnail
from live.render.outputs.timing import FramePacer, FrameTimes
from live.render.outputs.transform import (
    OutputConfigError,
    OutputTransform,
    apply_homography,
    fit_corners,
    homography,
    output_to_texture,
)
from live.render.outputs.window import (
    MonitorInfo,
    display_available,
    key_name,
    pick_monitor,
)
from live.show import (
    DEFAULT_KEYMAP,
    ShowError,
    check_keymap,
    parse_command,
    parse_corners,
    parse_size,
)

SQUARE = ((0, 0), (1, 0), (1, 1), (0, 1))


def test_homography_maps_the_four_corners_and_keeps_lines_straight():
    quad = ((0.1, 0.05), (0.95, 0.2), (0.8, 0.9), (0.05, 0.7))
    m = homography(SQUARE, quad)
    np.testing.assert_allclose(apply_homography(m, SQUARE), quad, atol=1e-12)
    # Points on a straight line stay on a straight line (collinear after mapping).
    line = apply_homography(m, [(0.0, 0.3), (0.5, 0.3), (1.0, 0.3)])
    (x0, y0), (x1, y1), (x2, y2) = line
    assert abs((x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)) < 1e-12


def test_corner_pin_puts_the_picture_centre_where_the_diagonals_cross():
    # A perspective map sends the square's centre to the intersection of the quad's diagonals;
    # a bilinear warp would send it to the average of the corners instead.
    quad = ((0.2, 0.1), (0.9, 0.0), (1.0, 1.0), (0.0, 0.8))
    centre = apply_homography(homography(SQUARE, quad), [(0.5, 0.5)])[0]
    p, r = np.array(quad[0]), np.array(quad[2]) - np.array(quad[0])
    q, s = np.array(quad[1]), np.array(quad[3]) - np.array(quad[1])
    def cross(u, v):
        return u[0] * v[1] - u[1] * v[0]

    t = cross(q - p, s) / cross(r, s)
    np.testing.assert_allclose(centre, p + t * r, atol=1e-12)
    assert np.abs(centre - np.mean(quad, axis=0)).max() > 0.01


def test_degenerate_points_have_no_homography():
    with pytest.raises(ValueError, match="degenerate"):
        homography(SQUARE, ((0, 0), (0.5, 0.5), (1, 1), (0, 1)))


@pytest.mark.parametrize("corners, words", [
    (((0, 0), (1, 0), (0, 1), (1, 1)), "convex"),           # two corners swapped: a bow tie
    (((0, 0), (1, 0), (1, 1)), "3 points"),
    (((0, 0), (1, 0), (1, float("nan")), (0, 1)), "not a finite"),
    (((0, 0), (9, 0), (1, 1), (0, 1)), "outside"),
    ("nonsense", "four [x, y] pairs"),
])
def test_bad_corner_pins_are_clear_errors(corners, words):
    with pytest.raises(OutputConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        OutputTransform(corners=corners)


@pytest.mark.parametrize("kwargs, words", [
    ({"rotate": 45}, "rotate = 45 is not allowed; use one of 0, 90, 180, 270"),
    ({"fit": "zoom"}, "fit = 'zoom' is not allowed"),
    ({"flip_h": "yes"}, "true or false"),
])
def test_bad_transform_values_name_the_key(kwargs, words):
    with pytest.raises(OutputConfigError, match=words):
        OutputTransform(**kwargs)


def test_fit_contains_covers_and_stretches():
    # A 16:9 picture in a 4:3 output: letterboxed top and bottom, or cropped left and right.
    c = fit_corners((16, 9), (4, 3), "contain")
    np.testing.assert_allclose(c, ((0, 0.125), (1, 0.125), (1, 0.875), (0, 0.875)))
    cover = np.array(fit_corners((16, 9), (4, 3), "cover"))
    assert cover[:, 0].min() < 0 and cover[:, 0].max() > 1 and cover[0, 1] == 0
    assert fit_corners((16, 9), (4, 3), "stretch") == SQUARE
    # A quarter turn swaps the picture's aspect: 16:9 turned is 9:16, pillarboxed in 16:9.
    turned = np.array(fit_corners((16, 9), (16, 9), "contain", quarter_turns=1))
    assert turned[0, 1] == 0 and turned[1, 0] - turned[0, 0] == pytest.approx((9 / 16) ** 2)


@pytest.mark.parametrize("transform, output_point, uv", [
    (OutputTransform(), (0.0, 0.0), (0.0, 1.0)),              # top-left of the output = top of texture
    (OutputTransform(flip_h=True), (0.0, 0.0), (1.0, 1.0)),
    (OutputTransform(flip_v=True), (0.0, 0.0), (0.0, 0.0)),
    (OutputTransform(rotate=90), (0.0, 0.0), (0.0, 0.0)),     # picture's bottom-left now at top-left
    (OutputTransform(rotate=180), (0.0, 0.0), (1.0, 0.0)),
    (OutputTransform(rotate=270), (0.0, 0.0), (1.0, 1.0)),
])
def test_output_points_map_to_the_expected_picture_texels(transform, output_point, uv):
    m = output_to_texture(transform, (8, 8), (8, 8))
    np.testing.assert_allclose(apply_homography(m, [output_point])[0], uv, atol=1e-12)


def test_pacer_sleeps_to_each_slot_and_counts_missed_slots():
    clock = ManualClock()
    pacer = FramePacer(clock, 10.0, sleep=clock.advance)
    assert pacer.wait() == 0 and clock.now() == pytest.approx(0.1)
    clock.advance(0.05)  # a frame of 50 ms: still in time
    assert pacer.wait() == 0 and clock.now() == pytest.approx(0.2)
    clock.advance(0.33)  # 330 ms: the slots at 0.3, 0.4 and 0.5 passed
    assert pacer.wait() == 3 and clock.now() == pytest.approx(0.6)
    assert pacer.dropped == 3
    with pytest.raises(ValueError, match="positive"):
        FramePacer(clock, 0.0)


def test_frame_times_report_percentiles_and_fps():
    times = FrameTimes(history=4)
    for i, ms in enumerate([10, 10, 10, 10, 10, 10, 10, 10, 10, 50]):
        times.add(ms / 1000.0, now=(i + 1) * 0.1, dropped=1 if ms == 50 else 0)
    report = times.report(wall_seconds=1.0)
    assert report.frames == 10 and report.fps == pytest.approx(10.0)
    assert report.p50_ms == pytest.approx(10.0) and report.max_ms == pytest.approx(50.0)
    assert 10.0 < report.p99_ms <= 50.0 and report.dropped == 1
    assert len(times.recent()) == 4
    assert "p99" in report.lines()[1] and report.lines()[2] == "dropped frames: 1"


def test_contact_sheet_and_thumbnails():
    rgb = np.zeros((36, 64, 3), np.uint8)
    rgb[:, 32:] = 200
    thumb = thumbnail(rgb, 16)
    assert thumb.shape == (9, 16, 3) and thumb[0, 0, 0] == 0 and thumb[0, -1, 0] == 200
    sheet = contact_sheet([thumb] * 5, columns=4, gap=2)
    assert sheet.shape == (2 * 9 + 3 * 2, 4 * 16 + 5 * 2, 3)
    assert sheet[2 + 9 + 2, 2 + 16 + 2 + 15, 0] == 0  # second row holds one thumbnail only
    with pytest.raises(ValueError):
        contact_sheet([])


def test_hud_lines_show_state_parts_errors_and_prompt():
    parts = (PartState("layer.tunnel", State.FAILED, "ShaderSourceError: x.fs:3: bad", 0.0),
             PartState("render", State.OK, "640x360", 0.0))
    info = HudInfo(fps=29.9, frame_ms=(20.0, 40.0), budget_ms=33.3, bpm=128, bar_beat=2, beats_per_bar=4,
                   scene="1/3 demo", next_scene="neon-grid", blackout=True, panic=True,
                   levels=(("bass", 1.0), ("mid", 0.0)), parts=parts,
                   errors=tuple(f"error {i}" for i in range(8)), prompt="Quit? Press Ctrl+Q again")
    lines = [text for text, _ in hud_lines(info, width=48)]
    assert lines[0] == "Quit? Press Ctrl+Q again"
    assert "29.9 fps" in lines[1] and "40.0 ms" in lines[1]
    assert "128.0 bpm" in lines[2] and "[.#..]" in lines[2]
    assert any("BLACKOUT" in t and "PANIC" in t for t in lines)
    assert any(t.startswith("in: bass |||||  mid .....") for t in lines)
    assert any(t.startswith("failed   layer.tunnel: ShaderSourceError") for t in lines)
    assert [t for t in lines if t.startswith("! ")] == [f"! error {i}" for i in range(3, 8)]
    assert all(len(t) <= 48 for t in lines)


def test_key_names_and_monitor_choice():
    import glfw

    assert key_name(glfw.KEY_Q, glfw.MOD_CONTROL) == "ctrl+q"
    assert key_name(glfw.KEY_PAGE_DOWN, 0) == "page_down"
    assert key_name(glfw.KEY_1, glfw.MOD_SHIFT | glfw.MOD_CONTROL) == "ctrl+shift+1"
    assert key_name(glfw.KEY_ESCAPE, 0) == "escape"
    mons = [MonitorInfo(0, "eDP-1", 1920, 1080, 0, 0, 60), MonitorInfo(1, "HDMI-A-1 Epson", 1280, 800, 1920, 0, 60)]
    assert pick_monitor(1, mons) == (mons[1], "")
    assert pick_monitor("epson", mons) == (mons[1], "")
    chosen, note = pick_monitor(2, mons)
    assert chosen is mons[0] and "monitor 2 is not connected" in note and "1: HDMI-A-1 Epson 1280x800" in note
    assert pick_monitor("nope", []) == (None, "no monitor is connected")
    assert not display_available({}) and display_available({"WAYLAND_DISPLAY": "wayland-0"})


def test_commands_keymap_and_cli_values():
    assert parse_command("scene.goto:3") == ("scene.goto", 3.0)
    with pytest.raises(ShowError, match="did you mean 'master.panic'"):
        parse_command("master.panik")
    with pytest.raises(ShowError, match="must be a number"):
        parse_command("scene.goto:x")
    parsed = check_keymap(DEFAULT_KEYMAP)
    assert parsed["escape"] == ("cancel", None) and parsed["ctrl+q"] == ("quit", None)
    assert "q" not in parsed, "a single plain key must never quit"
    assert parse_size("640x360") == (640, 360)
    with pytest.raises(ShowError, match="--window-size '12x5' is out of range"):
        parse_size("12x5", "--window-size")
    assert parse_corners("0,0 1,0 1,1 0,1") == ((0, 0), (1, 0), (1, 1), (0, 1))
    with pytest.raises(ShowError, match="four x,y pairs"):
        parse_corners("0,0 1,0")


def test_run_options_become_live_options():
    import argparse

    from live.show import SetList, add_run_parser, live_options

    parser = argparse.ArgumentParser()
    add_run_parser(parser.add_subparsers())
    args = parser.parse_args(["run", "demo", "--no-audio", "--size", "320x180", "--fps", "25", "--fullscreen",
                              "--monitor", "1", "--flip", "h", "--rotate", "180",
                              "--corners", "0.1,0 0.9,0 1,1 0,1", "--no-operator", "--record", "r.mp4",
                              "--no-flash-guard"])
    setlist = SetList("s", (), fade=2.5)
    opts = live_options(args, setlist, default_video=__import__("pathlib").Path("out/x.mp4"))
    assert opts.size == (320, 180) and opts.fps == 25.0 and opts.fade == 2.5 and opts.audio is None
    assert opts.program.fullscreen and opts.program.monitor == 1 and opts.program.size == (320, 180)
    t = opts.program.transform
    assert t.flip_h and not t.flip_v and t.rotate == 180 and t.corners[0] == (0.1, 0.0)
    assert not opts.operator and not opts.flash_guard and str(opts.record) == "r.mp4"
    assert str(opts.video) == "out/run.mp4"  # the run parser's default
    bad = parser.parse_args(["run", "--no-audio", "--corners", "0,0 1,0 1,1 0,1 5,5"])
    with pytest.raises(ShowError, match="four x,y pairs"):
        live_options(bad, setlist, default_video=opts.video)
    swapped = parser.parse_args(["run", "--no-audio", "--corners", "0,0 1,0 0,1 1,1"])
    with pytest.raises(ValueError, match="convex"):
        live_options(swapped, setlist, default_video=opts.video)


def test_a_monitor_unplugged_mid_show_turns_its_fullscreen_window_into_a_window(monkeypatch):
    from types import SimpleNamespace

    from live.health.registry import PartRegistry
    from live.render.outputs import session, window
    from live.render.outputs.window import OutputSpec

    class FakeWindow:
        def __init__(self, name, monitor):
            self.spec = OutputSpec(name, fullscreen=monitor is not None)
            self.monitor_name, self.note = monitor, ""

        def go_windowed(self, reason):
            self.monitor_name, self.note = None, reason

    projector, laptop = FakeWindow("program", "HDMI-1"), FakeWindow("monitor", None)
    host = SimpleNamespace(windows=[projector, laptop], polled=0, current=0,
                           take_monitor_events=lambda: [("disconnected", "HDMI-1")])
    host.poll_events = lambda: setattr(host, "polled", host.polled + 1)
    host.make_current = lambda: setattr(host, "current", host.current + 1)
    monkeypatch.setattr(window, "list_monitors", lambda: [MonitorInfo(0, "eDP-1", 1920, 1080, 0, 0, 60)])
    show = SimpleNamespace(parts=PartRegistry())
    session.poll_windows(host, show)
    assert host.polled == 1 and host.current == 1  # the engine's context is current again
    assert projector.monitor_name is None and "HDMI-1 gone" in projector.note
    assert show.parts.get("output.program").state.value == "degraded"
    assert laptop.note == "" and show.parts.get("output.monitor") is None

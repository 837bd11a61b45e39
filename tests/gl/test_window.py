"""Output windows under Xvfb: pixels read back from real GLFW windows.

Each scenario runs in a child process: GLFW's GLX contexts and the test session's EGL context
must not share a thread (libglvnd allows one current API per thread), and a child that dies in
Xlib cannot take the test run with it. The child writes pixels to an .npz file and facts to JSON;
the expectations are computed here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from live.render.outputs.window import GlfwHost, WindowError

pytestmark = pytest.mark.gl

REPO = Path(__file__).resolve().parents[2]
ROOTS = [str(REPO / "tests" / "fixtures" / "engine")]
RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


@pytest.fixture(scope="module")
def xvfb():
    """A private Xvfb display (1280x720) for this module; skipped when Xvfb is not installed."""
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (Debian: xvfb xauth); window tests need an X server")
    for n in range(140, 240):
        if Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
            continue
        proc = subprocess.Popen([exe, f":{n}", "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and proc.poll() is None:
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                break
            time.sleep(0.05)
        if proc.poll() is None and Path(f"/tmp/.X11-unix/X{n}").exists():
            yield f":{n}"
            proc.terminate()
            proc.wait(10)
            return
        proc.kill()
        proc.wait(10)
    pytest.skip("no free X display number for Xvfb")


def run_child(display: str, code: str, tmp_path: Path, timeout: float = 120.0) -> tuple[dict, dict]:
    env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(REPO))
    env.pop("WAYLAND_DISPLAY", None)
    script = tmp_path / "child.py"
    script.write_text(CHILD_PRELUDE + code)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, cwd=str(REPO),
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    facts = json.loads((tmp_path / "facts.json").read_text())
    pixels = dict(np.load(tmp_path / "pixels.npz")) if (tmp_path / "pixels.npz").exists() else {}
    return facts, pixels


CHILD_PRELUDE = '''
import json, sys
from pathlib import Path
import numpy as np
from live.render.outputs.window import GlfwHost, OutputSpec
from live.render.outputs.transform import OutputTransform
out = Path(sys.argv[1])
facts, pixels = {}, {}
def save():
    (out / "facts.json").write_text(json.dumps(facts))
    if pixels:
        np.savez(out / "pixels.npz", **pixels)
'''


def quadrants(img: np.ndarray) -> dict[str, tuple]:
    """Colours at the centres of the four quadrants of an (h, w, 3+) image."""
    h, w = img.shape[:2]
    pick = lambda fy, fx: tuple(int(v) for v in img[int(h * fy), int(w * fx), :3])
    return {"tl": pick(0.25, 0.25), "tr": pick(0.25, 0.75), "bl": pick(0.75, 0.25), "br": pick(0.75, 0.75)}


TRANSFORMS_CHILD = '''
host = GlfwHost()
# A 32x16 picture: red, green / blue, white quadrants (top row first); GL textures start at the bottom.
pic = np.zeros((16, 32, 4), np.uint8); pic[..., 3] = 255
pic[:8, :16, 0] = 255; pic[:8, 16:, 1] = 255; pic[8:, :16, 2] = 255; pic[8:, 16:, :3] = 255
tex = host.ctx.texture((32, 16), 4, data=np.ascontiguousarray(pic[::-1]).tobytes())
cases = {
    "identity": OutputTransform(), "flip_h": OutputTransform(flip_h=True),
    "flip_v": OutputTransform(flip_v=True), "rot180": OutputTransform(rotate=180),
    "rot90": OutputTransform(rotate=90), "stretch": OutputTransform(fit="stretch"),
}
for name, t in cases.items():
    win = host.open_window(OutputSpec(name, size=(64, 32) if name != "stretch" else (40, 40), transform=t))
    win.draw(tex)
    pixels[name] = win.read_rgba()
    facts[name] = win.framebuffer_size
    win.swap()
    win.close()
facts["error"] = host.ctx.error
host.close()
save()
'''


def test_program_window_shows_the_picture_flipped_and_rotated(xvfb, tmp_path):
    facts, px = run_child(xvfb, TRANSFORMS_CHILD, tmp_path)
    assert facts["error"] == "GL_NO_ERROR"
    assert facts["identity"] == [64, 32]
    # The render size (32x16) is independent of the window (64x32): the picture is scaled up.
    assert quadrants(px["identity"]) == {"tl": RED, "tr": GREEN, "bl": BLUE, "br": WHITE}
    assert quadrants(px["flip_h"]) == {"tl": GREEN, "tr": RED, "bl": WHITE, "br": BLUE}
    assert quadrants(px["flip_v"]) == {"tl": BLUE, "tr": WHITE, "bl": RED, "br": GREEN}
    assert quadrants(px["rot180"]) == {"tl": WHITE, "tr": BLUE, "bl": GREEN, "br": RED}
    # 90 degrees clockwise: the picture stands 16 wide x 32 high in the middle of the 64x32
    # window (letterboxed at the sides); its top-left (red) is now at the top right.
    rot = px["rot90"]
    assert tuple(rot[4, 4, :3]) == (0, 0, 0) and tuple(rot[4, 60, :3]) == (0, 0, 0)
    inner = rot[:, 24:40]
    assert quadrants(inner) == {"tl": BLUE, "tr": RED, "bl": WHITE, "br": GREEN}
    # Stretch fills a square window though the picture is 2:1.
    assert quadrants(px["stretch"]) == {"tl": RED, "tr": GREEN, "bl": BLUE, "br": WHITE}


SHOW_CHILD = '''
import glfw
from live.clock import ManualClock
from live.engine import Engine
from live.render.outputs.monitor import MonitorView
from live.render.outputs.session import FinishBeforeWindows, MonitorOutput, WindowProgramOutput
from live.show import PREPARE_DELAY_S, PREVIEW_DELAY_S, NextPreview, SetList, Show

roots = [Path(p) for p in ROOTS] + __import__("live.render.shader_source", fromlist=["x"]).default_search_roots()
scenes = []
for name, rgb in (("red", (1, 0, 0)), ("green", (0, 1, 0)), ("blue", (0, 0, 1))):
    p = out / f"{name}.toml"
    p.write_text(f'schema = 1\\n[scene]\\nname = "{name}"\\nbpm = 120\\n[[layers]]\\nid = "a"\\n'
                 f'kind = "shader"\\nsource = "e/solid"\\nparams = {{ color = [{rgb[0]}, {rgb[1]}, {rgb[2]}, 1.0] }}\\n')
    scenes.append(p)
host = GlfwHost()
clock = ManualClock()
engine = Engine(host.ctx, (32, 16), clock, shader_roots=roots)
route = []
program = host.open_window(OutputSpec("program", size=(64, 32), vsync=False), lambda ev: route[0].post_key(ev.name))
view = MonitorView(host.open_window(OutputSpec("monitor", size=(320, 180), vsync=False),
                                    lambda ev: route[0].post_key(ev.name)))
host.make_current()
show = Show(engine, SetList("t", tuple(scenes)), fade=0.0, fps=30,
            preview=NextPreview(host.ctx, clock, size=(32, 16), shader_roots=roots),
            outputs=[FinishBeforeWindows(), WindowProgramOutput(program), MonitorOutput(view, every=1)])
route.append(show)
show.start()
def frames(n, dt=0.1):
    for _ in range(n):
        clock.advance(dt)
        host.poll_events()
        host.make_current()  # the engine renders in its own context (the session does this too)
        show.step()
frames(int((PREPARE_DELAY_S + PREVIEW_DELAY_S) / 0.1) + 3)
# A real key press arrives through the window's GLFW key callback, on this (main) thread.
program._key_callback(None, glfw.KEY_RIGHT, 0, glfw.PRESS, 0)
frames(1)
facts["scene"] = engine.scene.spec.name
frames(int((PREPARE_DELAY_S + PREVIEW_DELAY_S) / 0.1) + 3)
facts["preview_label"] = show.preview.label
tex = engine.output_fbo.color_attachments[0]
program.draw(tex)
pixels["program"] = program.read_rgba()
view.window._key_callback(None, glfw.KEY_Q, 0, glfw.PRESS, glfw.MOD_CONTROL)
frames(1)
facts["prompt"] = show.prompt
view.draw(tex, show.hud_info(), hud_visible=True, preview=show.preview.texture, preview_label=show.next_label)
pixels["monitor"] = view.window.read_rgba()
view.draw(tex, show.hud_info(), hud_visible=False, preview=show.preview.texture, preview_label=show.next_label)
pixels["monitor_nohud"] = view.window.read_rgba()
program._close_callback(None)
facts["should_close"] = bool(glfw.window_should_close(program._handle))
frames(1)
facts["quit"] = show.quit_requested
facts["parts"] = {k: v.state.value for k, v in engine.parts.snapshot().items()}
host.make_current()
facts["error"] = host.ctx.error
show.close()
engine.release()
host.close()
save()
'''


def test_show_in_windows_keys_program_and_operator_monitor(xvfb, tmp_path):
    facts, px = run_child(xvfb, f"ROOTS = {ROOTS!r}\n" + SHOW_CHILD, tmp_path)
    assert facts["error"] == "GL_NO_ERROR"
    assert facts["scene"] == "green"  # the Right key pressed in the program window switched
    assert quadrants(px["program"]) == {"tl": GREEN, "tr": GREEN, "bl": GREEN, "br": GREEN}
    mon = px["monitor"].astype(int)
    plain = px["monitor_nohud"].astype(int)
    h, w = mon.shape[:2]
    assert (h, w) == (180, 320)
    # The program picture fills the monitor (letterboxed 2:1 into 16:9).
    assert tuple(plain[90, 160, :3]) == GREEN and tuple(plain[2, 160, :3]) == (0, 0, 0)
    # The next scene (blue) is previewed top right, with its label.
    assert facts["preview_label"] == "blue"
    right = plain[20:60, 240:310, :3]
    assert (np.abs(right - BLUE).sum(axis=-1) == 0).mean() > 0.5
    # The HUD darkens a panel top left and writes light text into it; hidden, the picture is plain.
    panel = mon[10:60, 10:200, :3]
    assert (panel[..., 1] < 120).mean() > 0.5, "the HUD panel must darken the picture"
    assert (panel.min(axis=-1) > 150).sum() > 30, "the HUD must draw light text"
    assert (plain[40:60, 40:140, :3] == GREEN).all()
    # The quit prompt bar runs across the bottom, HUD or not.
    assert facts["prompt"] and "Ctrl+Q again" in facts["prompt"]
    assert plain[h - 3, 5, 0] > 60 and plain[h - 3, 5, 1] < 20
    # The close button does not close the window: it is a second quit request, which confirms.
    assert facts["should_close"] is False
    assert facts["quit"] is True
    assert facts["parts"]["render"] == "ok"


FALLBACK_CHILD = '''
host = GlfwHost()
facts["monitors"] = [m.name for m in host.monitors()]
missing = host.open_window(OutputSpec("program", monitor=7, fullscreen=True, size=(200, 100)))
facts["missing"] = {"note": missing.note, "size": missing.framebuffer_size, "monitor": missing.monitor_name}
missing.close()
named = host.open_window(OutputSpec("program", monitor="SCR", fullscreen=True))
facts["named"] = {"note": named.note, "size": named.framebuffer_size, "monitor": named.monitor_name}
named.go_windowed("monitor gone")
import glfw
for _ in range(20):
    glfw.poll_events()
facts["after"] = {"note": named.note, "monitor": named.monitor_name}
named.close()
host.close()
save()
'''


def test_missing_monitor_falls_back_to_a_window_and_names_match_loosely(xvfb, tmp_path):
    facts, _ = run_child(xvfb, FALLBACK_CHILD, tmp_path)
    assert facts["monitors"] == ["screen"]
    missing = facts["missing"]
    assert "monitor 7 is not connected" in missing["note"] and "0: screen 1280x720" in missing["note"]
    assert "windowed" in missing["note"]
    assert missing["monitor"] is None and missing["size"] == [200, 100]
    named = facts["named"]
    assert named["note"] == "" and named["monitor"] == "screen" and named["size"] == [1280, 720]
    assert facts["after"] == {"note": "monitor gone", "monitor": None}


SESSION_CHILD = '''
from live.render.outputs.session import LiveOptions, run_live
from live.show import SetList
from live.scene import find_scene
opts = LiveOptions(size=(64, 36), fps=20, duration=1.5, audio=None,
                   program=OutputSpec("program", size=(64, 36), vsync=False))
report = run_live(SetList("demo", (find_scene("idle"),)), opts, print_fn=lambda s: None)
facts.update(frames=report.frames.frames, headless=report.headless_reason, lines=report.lines())
save()
'''


def test_run_live_opens_windows_and_reports(xvfb, tmp_path):
    facts, _ = run_child(xvfb, SESSION_CHILD, tmp_path)
    assert facts["headless"] is None
    assert facts["frames"] >= 5
    assert any("frame time: p50" in line for line in facts["lines"])


def test_no_display_is_a_clear_window_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(WindowError, match="no display"):
        GlfwHost()

"""Output passes on the headless context: the transform (flip, rotate, corner-pin) computed
against numpy, the HUD drawing text, and the headless mp4 + contact sheet with audio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from live.render.context import release_framebuffers
from live.render.hud import Hud, HudInfo
from live.render.outputs.headless import (
    ContactSheet,
    ContactSheetOutput,
    RecordingOutput,
)
from live.render.outputs.transform import (
    OutputTransform,
    TransformPass,
    apply_homography,
    output_to_texture,
)
from live.render.video import OutputError, read_png
from live.scene import find_scene

pytestmark = pytest.mark.gl
REPO = Path(__file__).resolve().parents[2]


def picture(ctx, w: int = 32, h: int = 32):
    """A texture whose texel (x, y) (y from the top) stores x and y in red and green."""
    xs, ys = np.meshgrid(np.arange(w), np.arange(h))
    img = np.zeros((h, w, 4), np.uint8)
    img[..., 0] = (xs * 255 // (w - 1)).astype(np.uint8)
    img[..., 1] = (ys * 255 // (h - 1)).astype(np.uint8)
    img[..., 3] = 255
    tex = ctx.texture((w, h), 4, data=np.ascontiguousarray(img[::-1]).tobytes())
    tex.filter = (0x2600, 0x2600)  # GL_NEAREST: exact texels, no blending between them
    return tex, img


def draw(ctx, tex, transform: OutputTransform, size=(48, 48)) -> np.ndarray:
    out = ctx.texture(size, 4)
    fbo = ctx.framebuffer([out])
    tp = TransformPass(ctx)
    try:
        fbo.clear(0.0, 0.0, 1.0, 1.0)
        tp.draw(tex, fbo, transform)
        data = np.frombuffer(fbo.read(components=4), np.uint8).reshape(size[1], size[0], 4)[::-1]
        return data.copy()
    finally:
        tp.release()
        release_framebuffers(ctx, fbo, out)


@pytest.mark.parametrize("transform", [
    OutputTransform(flip_h=True, rotate=90),
    OutputTransform(corners=((0.15, 0.05), (0.95, 0.2), (0.85, 0.95), (0.0, 0.75))),
    OutputTransform(corners=((0.0, 0.0), (1.0, 0.0), (0.8, 1.0), (0.2, 1.0)), flip_v=True),
])
def test_transform_pass_matches_the_matrix_pixel_for_pixel(ctx, transform):
    tex, img = picture(ctx)
    size = (48, 48)
    out = draw(ctx, tex, transform, size).astype(int)
    m = output_to_texture(transform, (32, 32), size)
    ys, xs = np.mgrid[0:size[1], 0:size[0]]
    pts = np.column_stack([(xs.ravel() + 0.5) / size[0], (ys.ravel() + 0.5) / size[1]])
    uv = apply_homography(m, pts).reshape(size[1], size[0], 2)
    inside = (uv >= 0).all(-1) & (uv <= 1).all(-1)
    # Skip pixels within half a texel of the quad's edge or a texel border (rounding may differ).
    tx, ty = uv[..., 0] * 32, (1 - uv[..., 1]) * 32
    safe = inside & (np.abs(tx - np.round(tx)) > 0.05) & (np.abs(ty - np.round(ty)) > 0.05)
    safe &= (tx > 0.5) & (tx < 31.5) & (ty > 0.5) & (ty < 31.5)
    want = img[np.clip(ty.astype(int), 0, 31), np.clip(tx.astype(int), 0, 31), :3].astype(int)
    assert safe.sum() > 400
    np.testing.assert_array_equal(out[safe][:, :3], want[safe])
    outside = ~inside & (np.abs(uv) < 5).all(-1)
    far = outside & ((uv < -0.05) | (uv > 1.05)).any(-1)
    assert (out[far][:, :3] == 0).all(), "outside the pinned quad the output is black"


def test_hud_draws_a_dark_panel_and_light_text(ctx):
    hud = Hud(ctx)
    tex = ctx.texture((320, 180), 4)
    fbo = ctx.framebuffer([tex])
    try:
        fbo.clear(0.0, 1.0, 0.0, 1.0)
        hud.draw(fbo, HudInfo(fps=30.0, frame_ms=(10.0, 40.0) * 30, budget_ms=33.3, scene="demo"))
        img = np.frombuffer(fbo.read(components=4), np.uint8).reshape(180, 320, 4)[::-1].astype(int)
        panel = img[8:40, 8:200, :3]
        assert (panel[..., 1] < 120).mean() > 0.5  # darkened green
        assert (panel.min(axis=-1) > 150).sum() > 30  # light text
        assert (img[170:, 300:, :3] == (0, 255, 0)).all()  # untouched outside the panel
        # The frame-time graph has red bars (40 ms > 33.3 ms budget) and green ones.
        graph = img[:, :, :3][(img[..., 0] > 200) & (img[..., 1] < 100)]
        assert len(graph) > 10
    finally:
        hud.release()
        release_framebuffers(ctx, fbo, tex)


def test_recording_output_records_the_show_with_its_audio_and_a_contact_sheet(ctx, tmp_path):
    from live.clock import ManualClock
    from live.engine import Engine
    from live.render.recorder import Recorder
    from live.show import FilePlayback, SetList, Show

    clock = ManualClock()
    engine = Engine(ctx, (64, 36), clock)
    t = np.arange(48000 * 3) / 48000
    playback = FilePlayback((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), loop=False)
    recorder = Recorder(engine.output_fbo, tmp_path / "show.mp4", clock=clock, fps=10, audio_rate=48000,
                        audio_channels=1)
    recording = RecordingOutput(recorder, playback)
    sheet = ContactSheet(tmp_path / "sheet.png", duration=2.0, thumbs=4)
    show = Show(engine, SetList("t", (find_scene("idle"),)), audio=playback,
                outputs=[recording, ContactSheetOutput(sheet)])
    show.start()
    try:
        for _ in range(20):  # 2 s at 10 fps
            clock.advance(0.1)
            show.step()
        recording.close()
        assert sheet.write() == tmp_path / "sheet.png"
    finally:
        show.close()
        engine.release()
    rep = recording.report
    # The test renders faster than real time, so the encoder may drop a few frames (counted);
    # the recording still spans the show's 2 s on its timeline.
    assert rep.error is None and rep.frames_written + rep.frames_dropped >= 19
    assert rep.duration == pytest.approx(2.0, abs=0.15)
    with av.open(str(rep.path)) as container:
        assert len(container.streams.audio) == 1, "the show's audio is muxed into the recording"
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert len(samples) >= 48000 * 1.8 and np.abs(samples).max() > 0.2
    assert len(sheet.thumbs) == 4
    assert read_png(tmp_path / "sheet.png").shape[1] > 64


def test_contact_sheet_that_cannot_be_written_is_a_clear_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        ContactSheet(tmp_path / "missing" / "s.png")


def test_run_headless_in_real_time_writes_video_sheet_and_report(tmp_path):
    code = ("import argparse, sys\nfrom live.show import add_run_parser\n"
            "p = argparse.ArgumentParser(); s = p.add_subparsers(); add_run_parser(s)\n"
            "a = p.parse_args(['run'] + sys.argv[1:]); sys.exit(a.func(a))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(REPO)
    video = tmp_path / "live.mp4"
    proc = subprocess.run([sys.executable, "-c", code, "idle", "--size", "64x36", "--fps", "10",
                           "--duration", "2", "--out", str(video)],
                          env=env, capture_output=True, text=True, timeout=180, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "rendering headless in real time (no display" in out
    for words in ("frames:", "frame time: p50", "dropped frames:", "video:", "contact sheet:"):
        assert words in out, out
    with av.open(str(video)) as container:
        assert len(container.streams.audio) == 1  # the demo track, muxed
        times = [f.time for f in container.decode(container.streams.video[0])]
    # 2 s at 10 fps on the show's timeline: a frame per slot when the machine keeps up; a slow
    # frame holds its picture over the slots it missed, so the timeline still spans the 2 s.
    assert 1 <= len(times) <= 21
    assert times[-1] >= 1.5, times
    assert (tmp_path / "live-contact.png").is_file()

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
from live.render.outputs.headless import QUEUE_FRAMES, HeadlessOutput, Mp4Sink
from live.render.outputs.transform import (
    OutputTransform,
    TransformPass,
    apply_homography,
    output_to_texture,
)
from live.render.video import read_png

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


def test_headless_output_writes_an_mp4_with_audio_and_a_contact_sheet(tmp_path):
    size, fps = (64, 36), 10
    t = np.arange(48000 * 2) / 48000
    audio = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None].repeat(2, axis=1)
    out = HeadlessOutput(size, fps, video=tmp_path / "v.mp4", sheet=tmp_path / "s.png", duration=2.0,
                         audio=audio, thumbs=4)
    frame = np.zeros((36, 64, 4), np.uint8)
    for i in range(15):  # 15 frames that fill 20 slots: every third frame missed one slot
        frame[..., 0] = i * 10
        out.present_frame(frame.copy(), t=i * 0.13, missed=1 if i % 3 == 2 else 0)
    result = out.finish()
    assert result.errors == [] and result.frames_encoded == 15 + 5
    with av.open(str(result.video)) as container:
        v = container.streams.video[0]
        a = container.streams.audio
        assert len(a) == 1, "the show's audio is muxed into the video"
        frames = sum(1 for _ in container.decode(v))
    assert frames == 20  # repeated frames keep the video as long as the show ran
    sheet = read_png(result.contact_sheet)
    assert sheet.shape[0] > 36 and sheet.shape[1] > 64


def test_mp4_sink_never_blocks_and_carries_dropped_slots(tmp_path, monkeypatch):
    sink = Mp4Sink(tmp_path / "x.mp4", (16, 16), 10)
    release = []
    original = sink._writer.write_frame

    def slow_write(rgb):  # hold the writer until the test has filled the queue
        while not release:
            import time
            time.sleep(0.001)
        original(rgb)

    monkeypatch.setattr(sink._writer, "write_frame", slow_write)
    rgb = np.zeros((16, 16, 3), np.uint8)
    accepted = sum(sink.submit(rgb) for _ in range(QUEUE_FRAMES + 10))
    assert accepted <= QUEUE_FRAMES + 1 and sink.dropped >= 9
    release.append(True)
    sink.submit(rgb)  # carries the dropped frames' slots
    sink.close()
    assert sink.frames_written == QUEUE_FRAMES + 10 + 1
    assert sink.error is None


def test_mp4_sink_stops_recording_on_a_disk_error_and_says_so(tmp_path, monkeypatch):
    sink = Mp4Sink(tmp_path / "y.mp4", (16, 16), 10)

    def full(rgb):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sink._writer, "write_frame", full)
    sink.submit(np.zeros((16, 16, 3), np.uint8))
    sink.close()
    assert "No space left on device" in sink.error and str(tmp_path / "y.mp4") in sink.error
    assert not sink.submit(np.zeros((16, 16, 3), np.uint8))


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
        n = sum(1 for _ in container.decode(container.streams.video[0]))
    assert 15 <= n <= 21  # 2 s at 10 fps on the show's timeline
    assert (tmp_path / "live-contact.png").is_file()

"""A disk that fills up while recording: recording stops and says so, the show goes on.

Two ways: an injected ENOSPC from the writer (runs everywhere), and a real 256 KiB tmpfs filled
by incompressible frames (needs root and permission to mount; skipped otherwise).
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from live.clock import ManualClock
from live.health.registry import PartRegistry, State
from live.render.recorder import Recorder
from live.render.video import Mp4Writer

pytestmark = [pytest.mark.gl, pytest.mark.timeout(120)]

SIZE = (128, 64)
FPS = 30


class DiskFillsWriter(Mp4Writer):
    """Raises ENOSPC from the fifth frame on, like a full disk under the muxer."""

    def write_frame(self, rgb, pts=None):
        if pts is not None and pts >= 4:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        super().write_frame(rgb, pts)


@pytest.fixture
def picture(ctx):
    tex = ctx.texture(SIZE, 4)
    fbo = ctx.framebuffer(color_attachments=[tex])
    yield tex, fbo
    fbo.release()
    tex.release()


def run_show(rec: Recorder, tex, clock: ManualClock, frames: int, rng) -> list[bool]:
    """Render `frames` noise frames (incompressible) and record them; returns capture results."""
    recorded = []
    for i in range(frames):
        clock.set(i / FPS)
        tex.write(rng.integers(0, 256, (SIZE[1], SIZE[0], 4), dtype=np.uint8).tobytes())
        recorded.append(rec.capture())
        rec.add_audio(np.zeros((SR_BLOCK, 2), np.float32), 48000, t=i / FPS)
        if rec.error is not None and i > 40:
            break
        if i % 8 == 7:
            rec.join(0.05)  # give the writer a moment, as real frame pacing would
    return recorded


SR_BLOCK = 48000 // FPS


def test_injected_disk_full_stops_recording_once_and_the_show_goes_on(picture, tmp_path, caplog):
    tex, fbo = picture
    clock, parts = ManualClock(), PartRegistry()
    rec = Recorder(fbo, tmp_path / "full.mp4", clock=clock, parts=parts, audio_rate=48000,
                   queue_frames=64, writer_factory=DiskFillsWriter)
    with caplog.at_level(logging.ERROR, logger="live.render.recorder"):
        recorded = run_show(rec, tex, clock, 60, np.random.default_rng(0))
        rec.stop()
        report = rec.join(30)
    assert report.error is not None and "the disk is full" in report.error
    assert str(tmp_path / "full.mp4") in report.error and "the show goes on" in report.error
    state = parts.get("recorder")
    assert state.state == State.FAILED and "the disk is full" in state.reason
    assert report.frames_written == 4
    # After the failure, capture is a no-op that returns at once; the show loop keeps running.
    assert recorded[-1] is False and not rec.recording
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]


def test_a_writer_that_cannot_open_reports_failed(picture, tmp_path):
    _, fbo = picture
    parts = PartRegistry()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    rec = Recorder(fbo, tmp_path / "x.mp4", clock=ManualClock(), parts=parts, writer_factory=no_space)
    report = rec.join(30)
    assert "the disk is full" in report.error and parts.get("recorder").state == State.FAILED
    assert rec.capture() is False
    rec.stop()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs mounted for the test (skips when mounting is not allowed here)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


def test_a_real_full_disk_stops_recording_and_says_so(picture, tiny_disk):
    tex, fbo = picture
    clock, parts = ManualClock(), PartRegistry()
    path = tiny_disk / "show.mp4"
    # crf 0 (lossless) of noise: about 30 KB a frame, so 256 KiB fills within a second of video.
    rec = Recorder(fbo, path, clock=clock, parts=parts, queue_frames=64, crf=0, audio_rate=48000)
    run_show(rec, tex, clock, 300, np.random.default_rng(1))
    rec.stop()
    report = rec.join(60)
    assert report.error is not None and "the disk is full" in report.error, report
    assert parts.get("recorder").state == State.FAILED
    assert 0 < report.frames_written < 300
    assert Path(path).stat().st_size <= 256 * 1024

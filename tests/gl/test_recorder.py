"""Recording the program output (with audio), snapshots and the frame tap.

Recordings are decoded back with PyAV and checked the way a user would: stream count, frame
count, duration, and that a flash in the picture and a click in the audio land at the same time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from live.clock import ManualClock
from live.engine import Engine
from live.health.registry import PartRegistry, State
from live.render.frametap import FrameTap
from live.render.recorder import Recorder, Snapshotter
from live.render.shader_source import default_search_roots
from live.render.video import Mp4Writer, OutputError, read_png
from live.scene import parse_scene

pytestmark = [pytest.mark.gl, pytest.mark.timeout(120)]

ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]
SIZE = (64, 32)
FPS = 30
SR = 48000
GREY = 0.2

SCENE = parse_scene('schema = 1\n[scene]\nname = "rec"\n[[layers]]\nid = "s"\nkind = "shader"\n'
                    f'source = "e/solid"\nparams = {{ color = [{GREY}, {GREY}, {GREY}, 1.0] }}\n', "rec.toml")


@pytest.fixture
def engine(ctx):
    eng = Engine(ctx, SIZE, ManualClock(), shader_roots=ROOTS)
    eng.load_scene(SCENE)
    yield eng
    eng.release()


def show(engine: Engine, recorder: Recorder | None, n: int, fps: float = FPS, flash_at: int | None = None,
         audio: bool = True, block: int = SR // FPS, t0: float = 0.0) -> None:
    """Run `n` frames; frame `flash_at` is white and its audio block starts with a click."""
    for i in range(n):
        t = t0 + i / fps
        engine.clock.set(t)
        if i == flash_at:
            engine.scene.layers[0].set_param("flash", True)
        engine.tick()
        if recorder is not None:
            recorder.capture()
            if audio:
                samples = np.full((block, 2), 0.01, np.float32)
                if i == flash_at:
                    samples[:240] = 0.8
                recorder.add_audio(samples, SR, t=t)


def decode(path: Path) -> dict:
    with av.open(str(path)) as c:
        out = {"streams": sorted(s.type for s in c.streams), "duration": c.duration / av.time_base}
        video = [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    out["frames"] = len(video)
    out["flash_times"] = [t for t, img in video if img.mean() > 200]
    out["frame_times"] = [t for t, _ in video]
    out["video_end"] = video[-1][0] + 1 / FPS if video else 0.0
    with av.open(str(path)) as c:
        if c.streams.audio:
            chunks, first = [], None
            for f in c.decode(audio=0):
                first = f.time if first is None else first
                chunks.append(f.to_ndarray()[0])
            x = np.concatenate(chunks)
            loud = np.flatnonzero(np.abs(x) > 0.4)
            out["click_time"] = first + loud[0] / SR if len(loud) else None
            out["audio_seconds"] = len(x) / SR
            out["audio_rms"] = float(np.sqrt(np.mean(x ** 2)))
    return out


def test_recording_with_audio_is_in_sync(engine, tmp_path):
    parts = PartRegistry()
    rec = Recorder(engine.output_fbo, tmp_path / "show.mp4", clock=engine.clock, fps=FPS, audio_rate=SR,
                   parts=parts, queue_frames=64)
    assert parts.get("recorder").state == State.OK
    show(engine, rec, 45, flash_at=15)
    rec.stop()
    report = rec.join(30)
    assert report.error is None and report.frames_written == 45 and report.frames_dropped == 0
    got = decode(tmp_path / "show.mp4")
    assert got["streams"] == ["audio", "video"]
    assert got["frames"] == 45
    assert abs(got["video_end"] - 1.5) <= 1 / FPS
    assert abs(got["duration"] - 1.5) <= 1 / FPS
    assert got["flash_times"] == [pytest.approx(0.5, abs=1e-3)]
    assert got["click_time"] == pytest.approx(0.5, abs=1 / FPS)
    assert abs(got["audio_seconds"] - 1.5) < 0.05 and got["audio_rms"] > 0.005
    assert parts.get("recorder").state == State.OK


def test_recording_without_audio_has_one_stream(engine, tmp_path):
    rec = Recorder(engine.output_fbo, tmp_path / "v.mp4", clock=engine.clock, queue_frames=64)
    show(engine, rec, 10, audio=False)
    rec.add_audio(np.zeros((100, 2), np.float32), SR)  # ignored: no audio stream
    rec.stop()
    assert rec.join(30).frames_written == 10
    got = decode(tmp_path / "v.mp4")
    assert got["streams"] == ["video"] and got["frames"] == 10


def test_frames_land_in_the_slot_of_their_time(engine, tmp_path):
    # The show renders at 60 fps into a 30 fps recording: every other frame is skipped.
    rec = Recorder(engine.output_fbo, tmp_path / "fast.mp4", clock=engine.clock, queue_frames=64,
                   audio_rate=SR)
    show(engine, rec, 60, fps=60, flash_at=32, block=SR // 60)
    rec.stop()
    report = rec.join(30)
    assert (report.frames_written, report.frames_skipped) == (30, 30)
    fast = decode(tmp_path / "fast.mp4")
    assert fast["frames"] == 30 and abs(fast["video_end"] - 1.0) <= 1 / FPS
    assert fast["flash_times"] == [pytest.approx(32 / 60, abs=1e-3)]
    assert fast["click_time"] == pytest.approx(32 / 60, abs=1 / FPS)
    # A slow show (12 fps) holds each picture over the slots it missed: wall time is kept.
    engine.clock.set(10.0)  # a recording started later in the show: times count from its start
    rec = Recorder(engine.output_fbo, tmp_path / "slow.mp4", clock=engine.clock, queue_frames=64)
    show(engine, rec, 12, fps=12, audio=False, t0=10.0)
    rec.stop()
    assert rec.join(30).frames_written == 12
    slow = decode(tmp_path / "slow.mp4")
    assert slow["frames"] == 12 and abs(slow["video_end"] - 1.0) <= 2 / FPS
    assert slow["frame_times"][1] == pytest.approx(2 / FPS, abs=1e-3)  # 1/12 s falls in slot 2


def test_an_audio_gap_is_filled_with_silence_and_sync_holds(engine, tmp_path):
    rec = Recorder(engine.output_fbo, tmp_path / "gap.mp4", clock=engine.clock, audio_rate=SR, queue_frames=64)
    for i in range(45):
        t = i / FPS
        engine.clock.set(t)
        engine.tick()
        rec.capture()
        if 0.4 <= t < 1.0:
            continue  # the audio input stalled for 0.6 s
        block = np.full((SR // FPS, 2), 0.01, np.float32)
        if i == 36:
            block[:100] = 0.9
        rec.add_audio(block, SR, t=t)
    rec.stop()
    rec.join(30)
    got = decode(tmp_path / "gap.mp4")
    assert got["click_time"] == pytest.approx(36 / FPS, abs=1 / FPS)
    assert abs(got["audio_seconds"] - 1.5) < 0.05


class SlowWriter(Mp4Writer):
    """An encoder that stalls on its first frame until the test lets it go."""

    entered = threading.Event()
    gate = threading.Event()

    def write_frame(self, rgb, pts=None):
        SlowWriter.entered.set()
        SlowWriter.gate.wait(30)
        super().write_frame(rgb, pts)


def test_a_slow_encoder_drops_frames_without_blocking_the_render_thread(engine, tmp_path):
    SlowWriter.entered.clear()
    SlowWriter.gate.clear()
    parts = PartRegistry()
    rec = Recorder(engine.output_fbo, tmp_path / "slow.mp4", clock=engine.clock, parts=parts,
                   queue_frames=4, writer_factory=SlowWriter)
    show(engine, rec, 2, audio=False)  # frame 0 reaches the writer when frame 1 is captured
    assert SlowWriter.entered.wait(10)
    started = time.monotonic()
    show(engine, rec, 18, audio=False, t0=2 / FPS)
    rec.stop()
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"18 frames took {elapsed:.1f} s while the encoder was stalled"
    # Frames 1..19 went into a queue of 4 while the writer held frame 0: 15 were dropped.
    assert rec.frames_dropped == 15
    assert parts.get("recorder").state == State.DEGRADED
    SlowWriter.gate.set()
    report = rec.join(30)
    assert (report.frames_written, report.frames_dropped, report.error) == (5, 15, None)
    assert decode(tmp_path / "slow.mp4")["frames"] == 5
    assert "15 dropped" in parts.get("recorder").reason


def test_snapshots_are_written_off_the_render_thread_with_timestamped_names(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    stamp = dt.datetime(2026, 5, 17, 21, 4, 5, 250000)
    snaps = Snapshotter(engine.output_fbo, now=lambda: stamp)
    engine.tick()
    first = snaps.snapshot()
    second = snaps.snapshot()
    named = snaps.snapshot(tmp_path / "mine.png")
    assert snaps.wait(30)
    folder = tmp_path / ".local" / "share" / "echoel" / "snapshots"
    assert first == folder / "echoel-20260517-210405-250.png"
    assert second == folder / "echoel-20260517-210405-250-1.png"
    assert named == tmp_path / "mine.png"
    for path in (first, second, named):
        img = read_png(path)
        assert img.shape == (SIZE[1], SIZE[0], 3)
        np.testing.assert_array_equal(img, engine.read_rgba()[..., :3])


def test_a_snapshot_that_cannot_be_written_is_reported(engine, tmp_path):
    parts = PartRegistry()
    (tmp_path / "file").write_text("x")
    snaps = Snapshotter(engine.output_fbo, tmp_path / "file" / "sub", parts=parts)
    engine.tick()
    path = snaps.snapshot()
    assert snaps.wait(30)
    assert not path.exists() and snaps.errors and str(path) in snaps.errors[0]
    assert parts.get("snapshot").state == State.DEGRADED


def test_recorder_refuses_odd_sizes_and_unwritable_paths(ctx, tmp_path):
    tex = ctx.texture((33, 32), 4)
    fbo = ctx.framebuffer(color_attachments=[tex])
    try:
        with pytest.raises(OutputError, match="even width and height"):
            Recorder(fbo, tmp_path / "x.mp4", clock=ManualClock())
    finally:
        fbo.release()
        tex.release()
    eng = Engine(ctx, SIZE, ManualClock())
    try:
        with pytest.raises(OutputError, match="does not exist"):
            Recorder(eng.output_fbo, tmp_path / "no" / "x.mp4", clock=eng.clock)
    finally:
        eng.release()


# -- the frame tap ------------------------------------------------------------------------------

def test_frame_tap_gives_readers_the_newest_downscaled_picture(engine):
    tap = FrameTap(engine.output_fbo, width=16, max_fps=10)
    try:
        assert tap.size == (16, 8)
        engine.tick()
        assert not tap.update(0.0)  # nobody subscribed: no work
        sub = tap.subscribe()
        assert tap.update(0.0)
        frame = sub.get(timeout=5)
        assert frame.rgba.shape == (8, 16, 4) and not frame.rgba.flags.writeable
        np.testing.assert_allclose(frame.rgba[..., :3], round(GREY * 255), atol=1)
        assert sub.get(timeout=0.05) is None  # nothing newer yet
        assert not tap.update(0.05)  # 10 fps at most
        engine.scene.layers[0].set_param("color", [1.0, 0.0, 0.0, 1.0])
        engine.tick()
        assert tap.update(0.1)
        newer = sub.get(timeout=5)
        assert newer.index == frame.index + 1 and tap.latest() is newer
        np.testing.assert_allclose(newer.rgba[0, 0, :3], [255, 0, 0], atol=1)
        sub.close()
        assert not tap.update(1.0)
    finally:
        tap.release()


def test_frame_tap_box_filter_averages_the_pixels_it_covers(ctx):
    tex = ctx.texture((64, 32), 4)
    fbo = ctx.framebuffer(color_attachments=[tex])
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (32, 64, 4), dtype=np.uint8)
    tex.write(img.tobytes())
    tap = FrameTap(fbo, width=16)
    try:
        sub = tap.subscribe()
        tap.update()
        got = sub.get(timeout=5).rgba.astype(float)
        want = img[::-1].reshape(8, 4, 16, 4, 4).astype(float).mean(axis=(1, 3))  # 4x4 blocks
        assert np.abs(got - want).max() <= 1.5
    finally:
        tap.release()
        fbo.release()
        tex.release()


def test_a_slow_reader_never_holds_up_the_render_thread(engine):
    tap = FrameTap(engine.output_fbo, width=16, max_fps=0)
    received: list[int] = []
    sub = tap.subscribe()

    def reader():
        while not sub.closed:
            frame = sub.get(timeout=0.5)
            if frame is not None:
                received.append(frame.index)
                time.sleep(0.05)  # a slow preview

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        started = time.monotonic()
        for i in range(40):
            engine.clock.set(i / 60)
            engine.tick()
            tap.update(i / 60)
        elapsed = time.monotonic() - started
        time.sleep(0.1)
    finally:
        sub.close()
        thread.join(5)
        tap.release()
    assert tap.taps == 40
    assert 1 <= len(received) < 40  # the reader skipped pictures instead of queueing them
    assert received == sorted(received)
    assert elapsed < 20

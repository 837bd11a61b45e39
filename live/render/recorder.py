"""Recording the program output to mp4 (with the live audio), and PNG snapshots of it.

`Recorder` keeps the render thread's share small: each recorded frame costs one asynchronous
readback into a GL pixel buffer (`fbo.read_into(buffer)`), and the buffer filled on the previous
frame is mapped and queued; on a GPU the copy overlaps rendering, on llvmpipe it is a plain copy.
A writer thread flips, converts and encodes (H.264 through PyAV, `Mp4Writer`) and muxes the audio
that the audio side hands in with `add_audio`. Frames and audio are stamped with the recorder's
clock, so the two stay in sync however irregular the frame rate is: a frame lands in the 1/fps
slot its capture time falls in (a render faster than the recording's fps records every other frame; a
slower one holds pictures longer) and audio blocks land at their capture time, with silence for
gaps.

Nothing here ever blocks the render thread or the audio callback: the queues to the writer are
bounded and drop their oldest item when the encoder falls behind (counted in `frames_dropped`).
When the disk fills up (or anything else breaks the writer), recording stops, the part "recorder"
is reported failed with the reason, one error is logged, and the show goes on.

`Snapshotter` reads the program picture back once and writes it as a timestamped PNG on its own
thread (zlib compression of a 720p frame takes tens of milliseconds).
"""

from __future__ import annotations

import collections
import datetime as _dt
import errno
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import moderngl
import numpy as np

from live.clock import Clock
from live.health.registry import PartRegistry
from live.render.video import Mp4Writer, OutputError, check_writable, write_png

log = logging.getLogger(__name__)

#: Recorded frames waiting for the encoder before the oldest is dropped (about 0.3 s at 30 fps).
QUEUE_FRAMES = 8
#: Audio blocks waiting for the encoder before the oldest is dropped (5 s of 256-sample blocks).
QUEUE_AUDIO_BLOCKS = 1024
#: x264 preset: the live encoder shares two cores with llvmpipe, so it takes the cheapest one.
LIVE_PRESET = "ultrafast"
#: A hole in the audio longer than this (seconds) is filled with silence; shorter differences
#: between block timestamps and the sample count are clock jitter and are ignored.
AUDIO_GAP_S = 0.05
#: Pixel buffers cycled for asynchronous readback.
PBO_COUNT = 2
#: The part name in the registry.
PART = "recorder"


def default_data_dir() -> Path:
    """~/.local/share/echoel (the config key paths.data overrides it where a config is loaded)."""
    return Path.home() / ".local" / "share" / "echoel"


@dataclass(frozen=True)
class RecordingReport:
    """What a recording produced."""

    path: Path
    frames_written: int
    frames_dropped: int      # lost because the encoder fell behind
    frames_skipped: int      # rendered faster than the recording's fps: not needed
    audio_blocks_dropped: int
    duration: float          # seconds of video
    error: str | None        # why recording stopped early, or None


class Recorder:
    """Records a framebuffer (the program output) to an H.264 mp4, with audio when given.

    Args:
        source: the framebuffer to record, normally `engine.output_fbo` (RGBA8, opaque).
        path: the mp4 to write; checked at once (OutputError names the path and the reason).
        clock: the show's clock; frame and audio times are read from it.
        fps: the recording's frame rate (its time base; slots without a new frame hold the last).
        audio_rate: sample rate of the audio that `add_audio` will bring, or None for no audio.
        audio_channels: 1 or 2.
        parts: the part registry to report "recorder" to (ok, degraded, failed).
        writer_factory: builds the writer on the writer thread (tests inject failures here);
            called like `Mp4Writer(path, size, fps, audio_rate=, audio_channels=, preset=, crf=)`.

    Threads: construct, `capture` and `stop` on the render thread (they touch GL); `add_audio` on
    any thread (the audio callback); `join` and the counters on any thread.
    """

    def __init__(self, source: moderngl.Framebuffer, path: Path | str, *, clock: Clock, fps: int = 30,
                 audio_rate: int | None = None, audio_channels: int = 2,
                 parts: PartRegistry | None = None, queue_frames: int = QUEUE_FRAMES,
                 queue_audio_blocks: int = QUEUE_AUDIO_BLOCKS, preset: str = LIVE_PRESET, crf: int = 23,
                 writer_factory: Callable[..., Mp4Writer] = Mp4Writer) -> None:
        self.path = Path(path)
        self.size = tuple(source.size)
        if self.size[0] % 2 or self.size[1] % 2:
            raise OutputError(f"{self.path}: H.264 needs an even width and height, the output is "
                              f"{self.size[0]}x{self.size[1]}")
        if not 1 <= int(fps) <= 240:
            raise ValueError(f"recording fps {fps} is out of range 1..240")
        check_writable(self.path)
        self.fps = int(fps)
        self.audio_rate = int(audio_rate) if audio_rate else None
        self.audio_channels = 2 if audio_channels >= 2 else 1
        self.clock = clock
        self.parts = parts
        self._source = source
        self._ctx = source.ctx
        self._t0 = clock.now()
        frame_bytes = self.size[0] * self.size[1] * 4
        self._pbos = [self._ctx.buffer(reserve=frame_bytes) for _ in range(PBO_COUNT)]
        self._pbo_next = 0
        self._pending: tuple[int, moderngl.Buffer] | None = None  # (pts, buffer being filled)
        self._last_pts = -1
        # (pts, bottom-up RGBA pixels) and (time of the first sample, samples): bounded, oldest out.
        self._video: collections.deque[tuple[int, np.ndarray]] = collections.deque(maxlen=max(1, queue_frames))
        self._audio: collections.deque[tuple[float, np.ndarray]] = collections.deque(
            maxlen=max(1, queue_audio_blocks))
        self._wake = threading.Event()
        self._stopping = False
        self._closed_gl = False
        self.frames_written = 0
        self.frames_dropped = 0
        self.frames_skipped = 0
        self.audio_blocks_dropped = 0
        self._written_last_pts = -1
        self._audio_warned = False
        self.error: str | None = None
        self._writer_args = {"audio_rate": self.audio_rate, "audio_channels": self.audio_channels,
                             "preset": preset, "crf": crf}
        self._writer_factory = writer_factory
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._report(("ok", f"recording to {self.path}"))
        self._thread.start()

    # -- render thread --------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """True until `stop` is called or the writer fails."""
        return not self._stopping and self.error is None

    def capture(self) -> bool:
        """Record the source's current picture (render thread, after the frame is rendered).

        Costs one readback into a pixel buffer; the previous frame's buffer is queued for the
        writer. Returns False when the frame is not recorded (not recording, or its 1/fps slot
        already has a frame).
        """
        if not self.recording:
            return False
        # The 1/fps slot the frame's time falls in (the epsilon absorbs float sums of 1/fps).
        pts = math.floor((self.clock.now() - self._t0) * self.fps + 1e-6)
        if pts <= self._last_pts:
            self.frames_skipped += 1
            return False
        self._last_pts = pts
        self._collect()
        pbo = self._pbos[self._pbo_next]
        self._pbo_next = (self._pbo_next + 1) % len(self._pbos)
        self._source.read_into(pbo, components=4, alignment=1)
        self._pending = (pts, pbo)
        return True

    def _collect(self) -> None:
        """Queue the frame read back on an earlier call (its copy has finished by now)."""
        if self._pending is None:
            return
        pts, pbo = self._pending
        self._pending = None
        pixels = np.frombuffer(pbo.read(), dtype=np.uint8)
        video = self._video
        if len(video) == video.maxlen:
            # The encoder is behind: the deque drops its oldest frame to take this one.
            self.frames_dropped += 1
            if self.frames_dropped == 1:
                self._report(("degraded", "encoder falling behind: dropping frames"))
        video.append((pts, pixels))
        self._wake.set()

    def stop(self) -> None:
        """Stop recording: queue the last frame and let the writer finish the file.

        Render thread; does not wait for the encoder (use `join`). Safe to call twice.
        """
        if not self._closed_gl:
            if self.error is None and not self._stopping:
                self._collect()
            self._pending = None
            for pbo in self._pbos:
                pbo.release()
            self._pbos = []
            self._closed_gl = True
        self._stopping = True
        self._wake.set()

    # -- any thread -----------------------------------------------------------------------------
    def add_audio(self, samples: np.ndarray, sr: int, t: float | None = None) -> None:
        """Hand the recorder a block of the live audio (float32, (n,) or (n, channels)).

        `t` is the time of the block's first sample on the recorder's clock (default: now minus
        the block's length, i.e. a block that was just captured). Any thread, never blocks: the
        block is copied into a bounded queue (the oldest block is dropped when it is full).
        """
        if not self.recording or self.audio_rate is None:
            return
        if int(sr) != self.audio_rate:
            if not self._audio_warned:
                self._audio_warned = True
                log.warning("recorder: audio at %s Hz ignored; the recording was started for %s Hz",
                            sr, self.audio_rate)
            return
        block = np.array(samples, dtype=np.float32, copy=True)
        if block.ndim == 1:
            block = block[:, None]
        if len(block) == 0:
            return
        start = (self.clock.now() - len(block) / self.audio_rate) if t is None else float(t)
        if len(self._audio) == self._audio.maxlen:
            self.audio_blocks_dropped += 1
        self._audio.append((start, block))
        self._wake.set()

    def join(self, timeout: float | None = None) -> RecordingReport:
        """Wait for the writer to finish the file (after `stop`) and say what was recorded."""
        self._thread.join(timeout)
        return self.report()

    def report(self) -> RecordingReport:
        """The counters so far. Any thread."""
        return RecordingReport(self.path, self.frames_written, self.frames_dropped, self.frames_skipped,
                               self.audio_blocks_dropped, self._duration, self.error)

    @property
    def _duration(self) -> float:
        return (self._written_last_pts + 1) / self.fps if self.frames_written else 0.0

    # -- writer thread --------------------------------------------------------------------------
    def _run(self) -> None:
        writer = None
        next_audio: int | None = None  # sample position the next audio block continues from
        try:
            writer = self._writer_factory(self.path, self.size, self.fps, **self._writer_args)
            while True:
                self._wake.wait(0.2)
                self._wake.clear()
                stopping = self._stopping
                while self._audio:
                    start, block = self._audio.popleft()
                    next_audio = self._write_audio(writer, start, block, next_audio)
                while self._video:
                    pts, pixels = self._video.popleft()
                    # GL rows come bottom first; the encoder wants the top row first.
                    image = pixels.reshape(self.size[1], self.size[0], 4)[::-1]
                    writer.write_frame(image, pts=pts)
                    self.frames_written += 1
                    self._written_last_pts = pts
                if stopping and not self._video and not self._audio:
                    break
            writer.close()
            writer = None
            done = f"recorded {self.path.name}: {self.frames_written} frames"
            if self.frames_dropped:
                self._report(("degraded", f"{done}, {self.frames_dropped} dropped (the encoder fell behind)"))
            else:
                self._report(("ok", done))
        except Exception as exc:  # noqa: BLE001 - disk full, encoder failure: stop, show goes on
            self._fail(exc)
            if writer is not None:
                try:
                    writer.close()
                except Exception:  # noqa: BLE001 - the file is already broken; nothing to save
                    pass

    def _write_audio(self, writer: Mp4Writer, start: float, block: np.ndarray,
                     next_audio: int | None) -> int:
        """Write one block at its time, keeping the audio contiguous; returns the next position."""
        rate = self.audio_rate
        want = round((start - self._t0) * rate)
        if next_audio is None:
            if want < 0:  # captured before the recording started: keep only the part after
                block = block[-want:]
                want = 0
            next_audio = want
            if len(block):
                writer.write_audio(block, pts=next_audio)
                next_audio += len(block)
            return next_audio
        gap = want - next_audio
        if gap > AUDIO_GAP_S * rate:
            # Blocks went missing (dropped, or the input stalled): silence keeps the sync.
            silence = np.zeros((gap, block.shape[1]), dtype=np.float32)
            writer.write_audio(silence, pts=next_audio)
            next_audio += gap
        writer.write_audio(block, pts=next_audio)
        return next_audio + len(block)

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            why = "the disk is full"
        elif isinstance(exc, OSError) and exc.strerror:
            why = exc.strerror
        else:
            why = str(exc) or type(exc).__name__
        self.error = f"recording stopped: {why} ({self.path}); the show goes on"
        log.error("%s", self.error)
        self._video.clear()
        self._audio.clear()
        self._report(("failed", self.error))

    def _report(self, state: tuple[str, str]) -> None:
        if self.parts is not None:
            self.parts.report(PART, state[0], state[1])


class Snapshotter:
    """PNG snapshots of a framebuffer (the program output), written on a worker thread.

    Args:
        source: the framebuffer to snapshot, normally `engine.output_fbo`.
        folder: where unnamed snapshots go (default ~/.local/share/echoel/snapshots/).
        parts: registry to report "snapshot" failures to.
        now: the wall-clock time for file names (injected for tests).

    Threads: `snapshot` on the render thread (one readback); PNG encoding and writing on the
    snapshot thread; `wait` on any thread.
    """

    def __init__(self, source: moderngl.Framebuffer, folder: Path | str | None = None, *,
                 parts: PartRegistry | None = None,
                 now: Callable[[], _dt.datetime] = _dt.datetime.now) -> None:
        self.source = source
        self.folder = Path(folder) if folder is not None else default_data_dir() / "snapshots"
        self.parts = parts
        self._now = now
        self._jobs: collections.deque[tuple[Path, np.ndarray]] = collections.deque()
        self._cond = threading.Condition()
        self._busy = 0
        self._worker_running = False
        self._names: set[Path] = set()
        self.written: list[Path] = []
        self.errors: list[str] = []
        self._thread: threading.Thread | None = None

    def snapshot(self, path: Path | str | None = None) -> Path:
        """Snapshot the current picture; returns the PNG's path (written shortly after).

        Without `path`, the file is `<folder>/echoel-YYYYmmdd-HHMMSS-mmm.png`. Render thread.
        """
        w, h = self.source.size
        data = self.source.read(components=4, alignment=1)
        image = np.frombuffer(data, dtype=np.uint8).reshape(h, w, 4)[::-1, :, :3]
        target = Path(path) if path is not None else self._unique_name()
        with self._cond:
            self._jobs.append((target, image))
            self._busy += 1
            if not self._worker_running:
                self._worker_running = True
                self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return target

    def _unique_name(self) -> Path:
        stamp = self._now()
        base = f"echoel-{stamp:%Y%m%d-%H%M%S}-{stamp.microsecond // 1000:03d}"
        name = self.folder / f"{base}.png"
        k = 1
        while name in self._names or name.exists():
            name = self.folder / f"{base}-{k}.png"
            k += 1
        self._names.add(name)
        return name

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every snapshot asked for is written (or failed). Any thread."""
        with self._cond:
            return self._cond.wait_for(lambda: self._busy == 0, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._jobs:
                    self._worker_running = False  # under the lock: the next snapshot starts a worker
                    return
                path, image = self._jobs.popleft()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_png(path, image)
                self.written.append(path)
            except OSError as exc:
                why = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
                message = f"snapshot {path} not written: {why}"
                self.errors.append(message)
                log.error("%s", message)
                if self.parts is not None:
                    self.parts.degraded("snapshot", message)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()


__all__ = ["PART", "Recorder", "RecordingReport", "Snapshotter", "default_data_dir"]

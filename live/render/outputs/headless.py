"""Headless live output: the show running in real time with no display.

Without a window the program picture still has to go somewhere: `HeadlessOutput` reads each
frame back (RGBA, about 0.1 ms at 640x360), hands it to `Mp4Sink`, which encodes H.264 with the
show's audio on its own thread, and keeps evenly spaced thumbnails for a contact sheet PNG.
Real-time pacing is `live.render.outputs.timing.FramePacer`'s job.

The video is constant frame rate on the show's timeline: when the render loop misses frame slots
(a frame took longer than 1/fps) the last picture is repeated for those slots, so the video stays
in sync with the audio and with wall time, and the repeats are counted as dropped frames.

Threads: `present`, `finish` run on the render thread; encoding runs on the sink's writer
thread. The queue between them is bounded and drops the newest frame (counted) when the encoder
falls behind, so the render thread never waits for the disk.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from live.render.video import Mp4Writer, OutputError, check_writable, write_png

log = logging.getLogger(__name__)

#: Frames waiting for the encoder before new ones are dropped (about a second at 30 fps).
QUEUE_FRAMES = 30
#: x264 preset for live encoding: the encoder shares the CPU with the renderer.
LIVE_PRESET = "ultrafast"


class Mp4Sink:
    """Encodes frames to an mp4 on a writer thread, with the matching slices of `audio`.

    Args:
        path: the mp4 to write (checked writable at once: OutputError names the path).
        size: frame size (even width and height).
        fps: frame rate of the video timeline.
        audio: float32 (n, channels) at `audio_rate` that plays from time 0 (looped if shorter
            than the video), or None for a silent video.
        audio_rate: its sample rate.

    `submit` is called on the render thread; everything else of the encoder runs on the thread.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: int, audio: np.ndarray | None = None,
                 audio_rate: int = 48000) -> None:
        self.path = Path(path)
        check_writable(self.path)
        self.fps = int(fps)
        self._audio = None if audio is None or len(audio) == 0 else np.asarray(audio, np.float32)
        self._audio_rate = int(audio_rate)
        channels = 2 if self._audio is None or self._audio.ndim == 1 else self._audio.shape[1]
        self._writer = Mp4Writer(self.path, size, self.fps, preset=LIVE_PRESET,
                                 audio_rate=self._audio_rate if self._audio is not None else None,
                                 audio_channels=channels)
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self.frames_written = 0
        self.dropped = 0
        self._carry = 0  # frame slots of dropped frames, filled by the next frame queued
        self._last: np.ndarray | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="mp4-sink", daemon=True)
        self._thread.start()

    def submit(self, rgb: np.ndarray, repeat: int = 1) -> bool:
        """Queue a frame (uint8 height x width x 3, top row first) to fill `repeat` frame slots.

        Never blocks. When the queue is full the frame is dropped (counted) and its slots are
        carried over to the next frame that gets through, so the video keeps its length and its
        sync with the audio. Returns whether the frame was queued.
        """
        if self.error is not None:
            self.dropped += repeat
            return False
        self._last = rgb
        try:
            self._queue.put_nowait((rgb, repeat + self._carry))
            self._carry = 0
            return True
        except queue.Full:
            self.dropped += 1
            self._carry += repeat
            return False

    def _audio_slice(self, index: int) -> np.ndarray | None:
        a = self._audio
        if a is None:
            return None
        start = index * self._audio_rate // self.fps
        stop = (index + 1) * self._audio_rate // self.fps
        idx = np.arange(start, stop) % len(a)
        return a[idx]

    def _run(self) -> None:
        # Writer thread: encode until the None sentinel; a failure stops recording, not the show.
        while True:
            item = self._queue.get()
            if item is None:
                break
            if self.error is not None:
                continue
            rgb, repeat = item
            try:
                for _ in range(repeat):
                    self._writer.write_frame(rgb)
                    chunk = self._audio_slice(self.frames_written)
                    if chunk is not None:
                        self._writer.write_audio(chunk)
                    self.frames_written += 1
            except Exception as exc:  # noqa: BLE001 - disk full, encoder error: stop writing, keep the show going
                self.error = f"{self.path}: recording stopped: {exc}"
                log.error("%s", self.error)

    def close(self, timeout: float = 60.0) -> None:
        """Finish encoding what is queued and close the file (render thread, at the end)."""
        if self._carry and self._last is not None and self.error is None:
            # Slots still owed by dropped frames: the newest picture fills them, so the video
            # is exactly as long as the show ran. Waiting is fine here: the show is over.
            self._queue.put((self._last, self._carry))
            self._carry = 0
        self._queue.put(None)
        self._thread.join(timeout)
        try:
            self._writer.close()
        except Exception as exc:  # noqa: BLE001 - closing a failed file may raise anything
            if self.error is None:
                self.error = f"{self.path}: closing failed: {exc}"
                log.error("%s", self.error)


def contact_sheet(thumbs: list[np.ndarray], columns: int = 4, gap: int = 4) -> np.ndarray:
    """Thumbnails (same size, uint8 h x w x 3) in a grid on black, `gap` pixels apart. Any thread."""
    if not thumbs:
        raise ValueError("contact_sheet needs at least one thumbnail")
    h, w = thumbs[0].shape[:2]
    columns = max(1, min(columns, len(thumbs)))
    rows = (len(thumbs) + columns - 1) // columns
    sheet = np.zeros((rows * h + (rows + 1) * gap, columns * w + (columns + 1) * gap, 3), np.uint8)
    for i, thumb in enumerate(thumbs):
        r, c = divmod(i, columns)
        y, x = gap + r * (h + gap), gap + c * (w + gap)
        sheet[y:y + h, x:x + w] = thumb[..., :3]
    return sheet


def thumbnail(rgb: np.ndarray, width: int) -> np.ndarray:
    """Downscale by averaging whole blocks (no resampling library needed). Any thread."""
    h, w = rgb.shape[:2]
    k = max(1, w // max(1, width))
    hh, ww = (h // k) * k, (w // k) * k
    blocks = rgb[:hh, :ww, :3].reshape(hh // k, k, ww // k, k, 3).astype(np.float32)
    return np.round(blocks.mean(axis=(1, 3))).astype(np.uint8)


@dataclass
class HeadlessResult:
    """What a headless run wrote."""

    video: Path | None = None
    contact_sheet: Path | None = None
    frames_encoded: int = 0
    encoder_dropped: int = 0
    errors: list[str] = field(default_factory=list)


class HeadlessOutput:
    """The program output with no display: an mp4 and a contact sheet, fed in real time.

    Args:
        size: the engine's render size.
        fps: the show's frame rate (the video's timeline).
        video: mp4 path, or None for no video.
        sheet: contact sheet PNG path, or None.
        duration: expected run length in seconds, to space the thumbnails (None: one per 5 s).
        audio: audio to mux (float32 n x channels at `audio_rate`), or None.
        thumbs: thumbnails on the sheet.

    Render thread (except the sink's writer thread).
    """

    name = "headless"

    def __init__(self, size: tuple[int, int], fps: int, *, video: Path | None = None,
                 sheet: Path | None = None, duration: float | None = None,
                 audio: np.ndarray | None = None, audio_rate: int = 48000, thumbs: int = 12) -> None:
        self.size, self.fps = size, fps
        self.sheet_path = Path(sheet) if sheet else None
        if self.sheet_path is not None:
            check_writable(self.sheet_path)
        self._sink = Mp4Sink(Path(video), size, fps, audio, audio_rate) if video else None
        self._interval = (duration / thumbs) if duration else 5.0
        self._next_thumb = self._interval / 2.0
        self._max_thumbs = thumbs
        self._thumbs: list[np.ndarray] = []
        self._thumb_width = min(320, size[0])

    def present_frame(self, rgba: np.ndarray, t: float, missed: int = 0) -> None:
        """Hand over the frame shown at show time `t`, which also covers `missed` earlier slots."""
        if self._sink is not None:
            self._sink.submit(np.ascontiguousarray(rgba[..., :3]), repeat=1 + missed)
        if self.sheet_path is not None and t >= self._next_thumb and len(self._thumbs) < self._max_thumbs:
            self._thumbs.append(thumbnail(rgba, self._thumb_width))
            self._next_thumb += self._interval

    def finish(self) -> HeadlessResult:
        """Flush the video, write the contact sheet and say what was written."""
        result = HeadlessResult()
        if self._sink is not None:
            self._sink.close()
            result.video = self._sink.path
            result.frames_encoded = self._sink.frames_written
            result.encoder_dropped = self._sink.dropped
            if self._sink.error:
                result.errors.append(self._sink.error)
        if self.sheet_path is not None and self._thumbs:
            try:
                write_png(self.sheet_path, contact_sheet(self._thumbs))
                result.contact_sheet = self.sheet_path
            except OSError as exc:
                result.errors.append(str(OutputError(f"{self.sheet_path}: {exc}")))
        return result

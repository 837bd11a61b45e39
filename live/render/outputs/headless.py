"""Headless live output: what the show leaves behind when there is no display to watch it on.

The program picture goes to the project's `Recorder` (an mp4 with the show's audio, encoded on
its own thread; see live/render/recorder.py), and `ContactSheet` keeps a dozen evenly spaced
thumbnails for a one-glance PNG of the run. Real-time pacing is
`live.render.outputs.timing.FramePacer`'s job: this module never waits.

`RecordingOutput` and `ContactSheetOutput` plug both into a `Show` as outputs; they also serve a
windowed show that records (`echoel run --record`).

Render thread, except `contact_sheet` and `thumbnail` (any thread).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from live.render.video import OutputError, check_writable, write_png

if TYPE_CHECKING:
    from live.render.recorder import Recorder, RecordingReport
    from live.show import FilePlayback, Show

log = logging.getLogger(__name__)

#: Thumbnails on a contact sheet, and their width in pixels.
SHEET_THUMBS = 12
SHEET_THUMB_WIDTH = 320


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


class ContactSheet:
    """Collects evenly spaced thumbnails of a run and writes them as one PNG.

    Args:
        path: the PNG to write (checked writable at once: OutputError names it).
        duration: expected run length in seconds, to space the thumbnails (None: one per 5 s).
        thumbs: how many thumbnails at most.
        width: thumbnail width in pixels.

    Render thread (`due`, `add`, `write`).
    """

    def __init__(self, path: Path, duration: float | None = None, thumbs: int = SHEET_THUMBS,
                 width: int = SHEET_THUMB_WIDTH) -> None:
        self.path = Path(path)
        check_writable(self.path)
        self._interval = (duration / thumbs) if duration else 5.0
        self._next = self._interval / 2.0
        self._max = thumbs
        self._width = width
        self.thumbs: list[np.ndarray] = []

    def due(self, t: float) -> bool:
        """Whether a thumbnail is wanted at show time `t` (so the frame is read back only then)."""
        return t >= self._next and len(self.thumbs) < self._max

    def add(self, rgba: np.ndarray) -> None:
        """Keep a thumbnail of this frame (uint8 h x w x 3|4, top row first)."""
        self.thumbs.append(thumbnail(rgba, min(self._width, rgba.shape[1])))
        self._next += self._interval

    def write(self) -> Path | None:
        """Write the sheet; returns its path, or None when no thumbnail was taken."""
        if not self.thumbs:
            return None
        try:
            write_png(self.path, contact_sheet(self.thumbs))
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write the contact sheet ({exc.strerror or exc})") from exc
        return self.path


class ContactSheetOutput:
    """A `ContactSheet` as a show output: reads the program back only when a thumbnail is due."""

    name = "contact-sheet"

    def __init__(self, sheet: ContactSheet) -> None:
        self.sheet = sheet

    def present(self, show: Show) -> None:
        """Take a thumbnail when one is due (render thread)."""
        if self.sheet.due(show.elapsed):
            self.sheet.add(show.engine.read_rgba())

    def close(self) -> None:
        """Nothing: the session writes the sheet and reports it."""


class RecordingOutput:
    """The project's `Recorder` as a show output, fed the show's file audio as it plays.

    Args:
        recorder: records `engine.output_fbo` on the show's clock.
        playback: the `FilePlayback` whose samples go into the recording, or None.

    Render thread: `present` captures the frame (one asynchronous readback) and hands over the
    audio that played since the previous frame, stamped with its show time.
    """

    name = "recorder"

    def __init__(self, recorder: Recorder, playback: FilePlayback | None = None) -> None:
        self.recorder = recorder
        self.playback = playback
        self._sent = 0  # samples of the playback already handed to the recorder
        self.report: RecordingReport | None = None

    def present(self, show: Show) -> None:
        """Hand over new audio, then capture this frame."""
        playback = self.playback
        if playback is not None and self.recorder.audio_rate is not None:
            upto = playback.fed
            if upto > self._sent:
                block = playback.block(self._sent, upto)
                self.recorder.add_audio(block, playback.sr, t=show.start_time + self._sent / playback.sr)
                self._sent = upto
        self.recorder.capture()

    def close(self) -> None:
        """Stop recording and wait for the file to be finished (the show is over)."""
        if self.report is None:
            self.recorder.stop()
            self.report = self.recorder.join(timeout=120.0)

"""Writing rendered frames: H.264 mp4 with the audio muxed in (PyAV), and PNG files.

Runs on whichever thread owns the writer (the offline renderer's thread, the live recorder's and
the headless sink's writer threads). No GL here: it takes numpy arrays.
"""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


class OutputError(OSError):
    """An output file cannot be written; the message names the path and the reason."""


def check_writable(path: Path) -> None:
    """Fail early, before rendering, if `path` cannot be created."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name such as {path / 'out.mp4'}")
    if not parent.exists():
        raise OutputError(f"{path}: folder {parent} does not exist")
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})") from exc


class Mp4Writer:
    """H.264 video (yuv420p) plus optional AAC audio in an mp4 container."""

    def __init__(self, path: Path, size: tuple[int, int], fps: int, *, audio_rate: int | None = None,
                 audio_channels: int = 2, preset: str = "veryfast", crf: int = 20) -> None:
        if size[0] % 2 or size[1] % 2:
            raise OutputError(f"{path}: H.264 needs an even width and height, got {size[0]}x{size[1]}")
        self.path = Path(path)
        try:
            self._container = av.open(str(self.path), mode="w")
        except (OSError, av.FFmpegError) as exc:
            raise OutputError(f"{self.path}: cannot open for writing ({exc})") from exc
        self._video = self._container.add_stream("libx264", rate=fps)
        self._video.width, self._video.height = size
        self._video.pix_fmt = "yuv420p"
        self._video.options = {"preset": preset, "crf": str(crf)}
        self._video.codec_context.time_base = Fraction(1, fps)
        self._audio = None
        if audio_rate is not None:
            self._audio = self._container.add_stream("aac", rate=audio_rate)
            self._audio.layout = "stereo" if audio_channels >= 2 else "mono"
            self._audio_channels = 2 if audio_channels >= 2 else 1
            self._audio_pts = 0
            self._audio_rate = audio_rate
        self._pts = 0

    def write_frame(self, rgb: np.ndarray, pts: int | None = None) -> None:
        """Encode one frame, uint8 (height, width, 3 or 4), top row first.

        `pts` is the frame's slot in 1/fps units (default: the slot after the previous frame);
        skipping slots holds the previous picture there (variable frame rate). An RGBA frame's
        alpha is ignored (converted to yuv420p inside the encoder's scaler, which saves a copy).
        """
        image = np.ascontiguousarray(rgb)
        fmt = "rgba" if image.ndim == 3 and image.shape[2] == 4 else "rgb24"
        frame = av.VideoFrame.from_ndarray(image, format=fmt)
        frame.pts = self._pts if pts is None else int(pts)
        self._pts = frame.pts + 1
        for packet in self._video.encode(frame):
            self._container.mux(packet)

    def write_audio(self, samples: np.ndarray, pts: int | None = None) -> None:
        """Encode audio, float32 (n, channels) at the rate given to the constructor.

        `pts` is the first sample's position in samples (default: right after the previous
        block); audio must stay contiguous, so fill gaps with silence rather than skipping.
        """
        if self._audio is None or len(samples) == 0:
            return
        if pts is not None:
            self._audio_pts = int(pts)
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] < self._audio_channels:
            x = np.repeat(x[:, :1], self._audio_channels, axis=1)
        x = np.clip(x[:, : self._audio_channels], -1.0, 1.0)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x.T), format="fltp",
                                           layout=self._audio.layout.name)
        frame.sample_rate = self._audio_rate
        frame.pts = self._audio_pts
        self._audio_pts += x.shape[0]
        for packet in self._audio.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        for stream in (self._video, self._audio):
            if stream is not None:
                for packet in stream.encode(None):
                    self._container.mux(packet)
        self._container.close()


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Write uint8 (height, width, 3|4) as an 8-bit PNG (zlib, no extra dependency)."""
    img = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, c = img.shape
    color_type = {3: 2, 4: 6}[c]
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * c)], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def read_png(path: Path) -> np.ndarray:
    """Read a PNG written by `write_png` (or any 8-bit RGB/RGBA PNG) into uint8 (h, w, c)."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        fmt = "rgba" if frame.format.name in ("rgba", "rgb48be", "ya8") or "a" in frame.format.name else "rgb24"
        return frame.to_ndarray(format=fmt)

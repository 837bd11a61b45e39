"""Video layers: a file decoded by PyAV on its own thread, shown at the layer's playback time.

Threads:
- The decoder thread (`VideoDecoder`, a daemon) demuxes, decodes and converts frames to RGBA
  (scaled down to what the layer can show) and puts them, stamped with their time on the
  playback timeline, into a bounded `FrameQueue`. When the queue is full it waits: no frame that
  will be needed is dropped, and memory stays bounded.
- The render thread (`VideoLayer`) never waits on the decoder during a show: each frame it
  takes the newest decoded frame that is due at the layer's playback position and uploads it
  (RGBA texture write), or keeps showing the frame it has. Offline renders and tests may set
  `VideoLayer.frame_wait` so the render thread waits for the exact frame (deterministic output).

The playback timeline runs from ``start`` (seconds into the file) and never goes back: when the
decoder loops, it seeks to ``start`` (seeking lands on the keyframe before it, so it decodes
forward and holds the frame showing at ``start``) and stamps the next pass one loop length
later. The render thread only compares times, so looping, playback rate and rate changes from
mappings need no coordination. Alpha is kept (yuva420p, VP9 alpha through libvpx, ProRes 4444,
PNG/QuickTime RLE in mov, HAP Alpha): frames arrive as straight-alpha RGBA.

A file that cannot be opened or decoded is a load error (LayerBuildError -> SceneError with the
file and the reason). A file that breaks during the show: undecodable packets are skipped and
reported "degraded"; a fatal error stops the decoder and the layer keeps its last good frame,
reported "failed" to the part registry as ``layer.<id>`` (when the engine has attached one to
`VideoLayer.parts`; without one, the layer raises so the engine reports it and skips the layer).
"""

from __future__ import annotations

import collections
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import av
import moderngl
import numpy as np

from live.render.layers.base import FrameInputs, LayerBuildError, build_fx_chain
from live.render.layers.image import (
    MediaFileError,
    PictureLayer,
    _av_reason,
    media_path,
    open_media,
    picture_texture,
    to_rgba,
    upload_size,
)
from live.scene import VIDEO_RATE_RANGE, LayerSpec

if TYPE_CHECKING:
    from live.engine import ShaderLibrary
    from live.health.registry import PartRegistry

log = logging.getLogger(__name__)

#: Decoded frames kept ahead of playback: up to this many bytes, and 3 to 16 frames.
QUEUE_BYTES = 64 << 20
QUEUE_FRAMES = (3, 16)
#: Undecodable packets in a row after which a file counts as broken (the decoder stops).
MAX_BAD_PACKETS_IN_A_ROW = 25
#: A gap between two renders longer than this (seconds) pauses the video instead of jumping
#: ahead: a layer that was hidden resumes where it was, without a burst of catch-up decoding.
MAX_RENDER_GAP = 1.0
#: Tolerance when comparing frame times with the playback position (float sums of 1/fps).
TIME_EPS = 1e-4


class MediaDecodeError(RuntimeError):
    """A video broke during the show (the message names the file and FFmpeg's reason)."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, found by `probe_video`."""

    path: Path
    width: int
    height: int
    fps: float           # average frame rate (30.0 when the file does not say)
    duration: float | None  # seconds, None when unknown
    codec: str
    pix_fmt: str
    decoder: str         # the FFmpeg decoder used (libvpx-vp9 for VP9 with alpha)

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


def _decoder_for(stream: av.video.stream.VideoStream) -> av.CodecContext:
    """The codec context to decode `stream` with.

    FFmpeg's own VP9 decoder ignores the alpha plane that WebM stores beside the picture
    (stream tag alpha_mode=1); libvpx's decoder reads it, so such streams use libvpx-vp9.
    """
    if stream.codec_context.name == "vp9" and str(stream.metadata.get("alpha_mode", "0")) == "1":
        try:
            ctx = av.CodecContext.create("libvpx-vp9", "r")
        except (av.FFmpegError, ValueError):
            return stream.codec_context  # no libvpx in this FFmpeg: the picture without alpha
        ctx.width, ctx.height = stream.codec_context.width, stream.codec_context.height
        return ctx
    return stream.codec_context


def probe_video(path: Path) -> VideoInfo:
    """Open `path`, check that its first frame decodes, and describe it. Any thread.

    Raises MediaFileError (file and reason) when the file is missing, not media, has no picture
    stream, or its first frame cannot be decoded.
    """
    container, stream = open_media(path)
    with container:
        decoder = _decoder_for(stream)
        frame = None
        try:
            for packet in container.demux(stream):
                frames = decoder.decode(packet)
                if frames:
                    frame = frames[0]
                    break
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaFileError(path, f"cannot decode its {stream.codec_context.name} video "
                                 f"({_av_reason(exc)})") from None
        if frame is None:
            raise MediaFileError(path, f"holds no decodable frame (codec "
                                 f"{stream.codec_context.name})")
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 30.0
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        return VideoInfo(Path(path), frame.width, frame.height, fps, duration,
                         stream.codec_context.name, frame.format.name, decoder.name)


class DecodedFrame(NamedTuple):
    """One decoded frame: its time on the playback timeline and its RGBA pixels (top row first)."""

    time: float
    rgba: np.ndarray


class FrameQueue:
    """Bounded, time-ordered frames from the decoder thread to the render thread.

    `put` (decoder thread) waits while the queue is full; `take_due` (render thread) never
    waits; `wait_due` waits at most a given time (offline renders only). The lock is held only
    to move references, never while decoding or uploading.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, int(capacity))
        self._items: collections.deque[DecodedFrame] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False  # the producer is done (end of file, error or stop)

    def put(self, item: DecodedFrame, stop: threading.Event) -> bool:
        """Append `item`, waiting while full. False when `stop` was set first. Decoder thread."""
        with self._cond:
            while len(self._items) >= self.capacity:
                if stop.is_set():
                    return False
                self._cond.wait(0.05)
            self._items.append(item)
            self._cond.notify_all()
            return True

    def close(self) -> None:
        """Say that no more frames will come. Decoder thread (or whoever stops it)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take_due(self, position: float) -> tuple[DecodedFrame | None, bool]:
        """Remove every frame due at `position`; return the newest of them (or None) and
        whether the answer is final (a later frame is queued, or no more frames will come).
        Never waits. Render thread."""
        newest = None
        with self._cond:
            items = self._items
            while items and items[0].time <= position + TIME_EPS:
                newest = items.popleft()
            if newest is not None:
                self._cond.notify_all()  # room for the decoder
            return newest, bool(items) or self._closed

    def wait_more(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a frame or for the end; False if the time ran out.
        Render thread, offline renders only."""
        with self._cond:
            return self._cond.wait_for(lambda: self._items or self._closed, timeout)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)


class VideoDecoder:
    """Decodes a video file on a daemon thread into a FrameQueue, looping when asked.

    Created and controlled from the render thread (`start`, `stop`, and the `loop`, `start_time`
    and `out_size` attributes, read by the decoder between frames); everything else runs on the
    decoder thread. Status (`error`, `bad_packets`, `ended`) is written by the decoder thread
    and read by the render thread: single attribute writes, no lock needed.
    """

    def __init__(self, info: VideoInfo, queue: FrameQueue, *, start_time: float = 0.0,
                 loop: bool = True, out_size: tuple[int, int] | None = None) -> None:
        self.info = info
        self.queue = queue
        self.start_time = float(start_time)
        self.loop = bool(loop)
        self.out_size = out_size or info.size
        self.error: str | None = None
        self.bad_packets = 0
        self.frames_decoded = 0
        self.ended = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"video-decode:{info.path.name}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the thread to end and wait up to `timeout` seconds for it (0: do not wait)."""
        self._stop.set()
        self.queue.clear()  # wakes a decoder waiting for room
        if timeout > 0 and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- decoder thread -------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._play()
        except MediaFileError as exc:  # reopening for a loop failed (the file is gone...)
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure becomes the layer's reported state
            self.error = f"{self.info.path}: {_av_reason(exc)}"
        finally:
            self.ended = True
            self.queue.close()

    def _play(self) -> None:
        container, stream = open_media(self.info.path)
        decoder = _decoder_for(stream)
        try:
            base = float(stream.start_time * stream.time_base) if stream.start_time is not None \
                and stream.time_base is not None else None
            frame_dur = 1.0 / self.info.fps
            offset = 0.0  # timeline time of the file's second 0 in the current pass
            passes = 0
            seek_ok = True  # False once seeking proved imprecise in this file: reopen instead
            first_in_file: float | None = None  # time of the first frame, from a pass from 0
            while not self._stop.is_set():
                start = self.start_time
                seeked = False
                if passes or start > 0.0:
                    container, stream, decoder, seeked = self._rewind(container, stream, decoder, start,
                                                                      base, seek_ok)
                expect_by = max(start, first_in_file or 0.0) if seeked else None
                try:
                    last_t, step, base, first_t = self._pass(container, stream, decoder, offset, start,
                                                             base, frame_dur, expect_by)
                except _SeekMissed:
                    # The seek landed after `start` (MPEG-TS seeks by byte position, for one):
                    # decode this file from its beginning from now on.
                    seek_ok, seeked = False, False
                    container, stream, decoder = self._reopen(container)
                    last_t, step, base, first_t = self._pass(container, stream, decoder, offset, start,
                                                             base, frame_dur, None)
                if first_in_file is None and not seeked:
                    first_in_file = first_t
                if self._stop.is_set():
                    return
                if last_t is None:
                    raise MediaDecodeError(f"no frame decoded from {start:g} s on"
                                           + (" after looping back" if passes else ""))
                passes += 1
                if not self.loop:
                    return
                # One pass lasts from `start` to the end of the last frame.
                offset += max(last_t + (step or frame_dur) - start, frame_dur)
        finally:
            container.close()

    def _pass(self, container, stream, decoder, offset: float, start: float, base: float | None,
              frame_dur: float, expect_by: float | None
              ) -> tuple[float | None, float | None, float | None, float | None]:
        """Decode from the current read position to the end, putting frames from `start` on.

        `expect_by`: after a seek, the first frame must come at or before this time, or the
        seek missed frames and `_SeekMissed` is raised before anything is queued.
        Returns (time of the last frame in the file, the last frame step, the stream's base
        time, time of the first frame decoded).
        """
        held: av.VideoFrame | None = None  # the frame showing at `start`, until a later one comes
        last_t = prev_t = first_t = None
        bad_in_a_row = 0
        for packet in container.demux(stream):
            if self._stop.is_set():
                return last_t, None, base, first_t
            try:
                frames = decoder.decode(packet)
                bad_in_a_row = 0
            except (av.InvalidDataError, av.error.UndefinedError, av.error.BugError) as exc:
                # A damaged packet: skip it; the next keyframe recovers the picture.
                self.bad_packets += 1
                bad_in_a_row += 1
                if bad_in_a_row >= MAX_BAD_PACKETS_IN_A_ROW:
                    raise MediaDecodeError(f"{bad_in_a_row} undecodable packets in a row "
                                           f"({_av_reason(exc)})") from exc
                continue
            for frame in frames:
                if frame.time is not None:
                    if base is None:
                        base = frame.time
                    t = frame.time - base
                else:  # no timestamps: count frames
                    t = 0.0 if last_t is None else last_t + frame_dur
                if first_t is None:
                    first_t = t
                    if expect_by is not None and t > expect_by + TIME_EPS:
                        raise _SeekMissed
                if last_t is not None:
                    prev_t = last_t
                last_t = t
                if t + TIME_EPS < start:
                    held = frame
                    continue
                if held is not None and t > start + TIME_EPS and not self._put(offset + start, held):
                    return last_t, None, base, first_t
                held = None
                if not self._put(offset + max(t, start), frame):
                    return last_t, None, base, first_t
        if held is not None:  # start lies within the last frame
            self._put(offset + start, held)
        step = (last_t - prev_t) if last_t is not None and prev_t is not None else None
        return last_t, step, base, first_t

    def _put(self, t: float, frame: av.VideoFrame) -> bool:
        rgba = to_rgba(frame, self.out_size)
        self.frames_decoded += 1
        return self.queue.put(DecodedFrame(t, rgba), self._stop)

    def _rewind(self, container, stream, decoder, start: float, base: float | None, seek: bool):
        """Go back to `start` for the next pass; returns (container, stream, decoder, seeked).

        Seeking lands on the keyframe at or before `start` (`_pass` decodes forward from there).
        A file that cannot seek (a raw stream), or whose seeks proved imprecise (`seek` False),
        is opened again and decoded from its beginning instead (seeked is then False).
        """
        if seek:
            target = (base or 0.0) + start
            try:
                decoder.flush_buffers()
                if stream.time_base is not None:
                    container.seek(math.floor(target / stream.time_base), stream=stream,
                                   backward=True, any_frame=False)
                else:
                    container.seek(int(target * av.time_base), backward=True, any_frame=False)
                return container, stream, decoder, True
            except (av.FFmpegError, OSError, ValueError):
                pass
        return (*self._reopen(container), False)

    def _reopen(self, container):
        """Close `container` and open the file again at its beginning."""
        container.close()
        container, stream = open_media(self.info.path)
        return container, stream, _decoder_for(stream)


class _SeekMissed(Exception):
    """A seek landed after the frame wanted (raised before any frame of the pass is queued)."""


class VideoLayer(PictureLayer):
    """A video file, looping or not, at a playback rate, with its alpha. Render thread.

    Parameters: ``rate`` (0.25..4, mappable), ``loop`` (default true), ``start`` (seconds into
    the file where playback starts and loops back to), ``fit`` (cover, contain, stretch).

    Attributes:
        frame_wait: seconds the render thread may wait for the frame due (default 0: never wait,
            keep the previous frame; offline renders and tests set it for exact frames).
        parts: the part registry to report this layer's state to as ``layer.<id>`` (set by
            whoever owns the registry, normally the engine).
    """

    PARAMS = ("rate", "loop", "start", "fit")
    MAPPABLE = ("rate",)

    def __init__(self, spec: LayerSpec, fx, path: Path, info: VideoInfo) -> None:
        super().__init__(spec, fx, path)
        self.info = info
        self.rate = float(spec.params.get("rate", 1.0))
        self.loop = bool(spec.params.get("loop", True))
        self.start = float(spec.params.get("start", 0.0))
        self.frame_wait = 0.0
        self.parts: PartRegistry | None = None
        self.frames_shown = 0
        self._decoder: VideoDecoder | None = None
        self._queue: FrameQueue | None = None
        self._texture: moderngl.Texture | None = None
        self._has_frame = False
        self._anchor: tuple[float, float] | None = None  # (engine time, playback position)
        self._last_time: float | None = None
        self._reported_bad = 0
        self._failure_reported = False

    @classmethod
    def build(cls, spec: LayerSpec, shaders: ShaderLibrary) -> VideoLayer:
        path = media_path(spec)
        try:
            info = probe_video(path)
        except MediaFileError as exc:
            raise LayerBuildError("source", str(exc)) from exc
        start = float(spec.params.get("start", 0.0))
        if info.duration is not None and start >= info.duration:
            raise LayerBuildError("params.start", f"start {start:g} s is at or after the end of "
                                  f"{path} ({info.duration:.3g} s long)")
        return cls(spec, build_fx_chain(spec, shaders), path, info)

    # -- playback position ----------------------------------------------------------------------
    @property
    def position(self) -> float:
        """Seconds on the playback timeline at the last render (keeps growing across loops)."""
        if self._anchor is None or self._last_time is None:
            return self.start
        return self._position_at(self._last_time)

    def _advance(self, t: float) -> float:
        """The playback position at engine time `t` (anchored, so no float drift accumulates)."""
        if self._anchor is None:
            # Playback starts with the scene (scene time 0), like every other layer's TIME; a
            # layer first shown later starts from its beginning then.
            self._anchor = (0.0 if 0.0 <= t <= MAX_RENDER_GAP else t, self.start)
        elif self._last_time is not None and not 0.0 <= t - self._last_time <= MAX_RENDER_GAP:
            # Time jumped back (new scene clock) or the layer was hidden: continue from here.
            self._anchor = (t, self._position_at(self._last_time))
        self._last_time = t
        return self._position_at(t)

    def _position_at(self, t: float) -> float:
        t0, p0 = self._anchor
        return p0 + (t - t0) * self.rate

    def _set_rate(self, rate: float) -> None:
        if rate == self.rate:
            return  # mappings set the rate every frame: keep the anchor when nothing changed
        if self._last_time is not None and self._anchor is not None:
            self._anchor = (self._last_time, self._position_at(self._last_time))
        self.rate = rate

    # -- PictureLayer ---------------------------------------------------------------------------
    def setup_picture(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        out_size = upload_size(self.info.size, size)
        if self._decoder is not None:
            self._decoder.out_size = out_size  # a resize: new frames come at the new size
            return
        frame_bytes = out_size[0] * out_size[1] * 4
        lo, hi = QUEUE_FRAMES
        self._queue = FrameQueue(min(hi, max(lo, QUEUE_BYTES // max(1, frame_bytes))))
        self._decoder = VideoDecoder(self.info, self._queue, start_time=self.start, loop=self.loop,
                                     out_size=out_size)
        self._decoder.start()

    def picture(self, inputs: FrameInputs) -> tuple[moderngl.Texture, tuple[int, int]] | None:
        position = self._advance(inputs.engine.time)
        queue, decoder = self._queue, self._decoder
        due, final = queue.take_due(position)
        if not final and self.frame_wait > 0.0:
            # Offline: wait until the frame due is known, giving up after frame_wait seconds
            # without progress from the decoder.
            while not final and queue.wait_more(self.frame_wait):
                more, final = queue.take_due(position)
                due = more or due
        if due is not None:
            self._upload(due.rgba)
        self._check_decoder(decoder)
        return (self._texture, self.info.size) if self._has_frame else None

    def _upload(self, rgba: np.ndarray) -> None:
        h, w = rgba.shape[:2]
        if self._texture is None or self._texture.size != (w, h):
            if self._texture is not None:
                self._texture.release()
            self._texture = picture_texture(self.ctx, rgba)
        else:
            self._texture.write(rgba)
        self._has_frame = True
        self.frames_shown += 1

    def _check_decoder(self, decoder: VideoDecoder) -> None:
        """Report what the decoder thread found: skipped packets (degraded) or a fatal error."""
        part = f"layer.{self.id}"
        if decoder.error is not None and not self._failure_reported and len(self._queue) == 0:
            self._failure_reported = True
            reason = f"video stopped: {decoder.error}"
            log.error("layer %s: %s; %s", self.id, reason,
                      "showing its last good frame" if self._has_frame else "showing nothing")
            if self.parts is None:
                raise MediaDecodeError(reason)
            self.parts.failed(part, reason + (" (showing the last good frame)" if self._has_frame else ""))
        elif decoder.bad_packets > self._reported_bad and decoder.error is None:
            if self._reported_bad == 0:
                log.warning("layer %s: %s has undecodable packets; skipping them", self.id, self.path)
            self._reported_bad = decoder.bad_packets
            if self.parts is not None:
                self.parts.degraded(part, f"{self.path.name}: skipped undecodable packets")

    def release_picture(self) -> None:
        if self._decoder is not None:
            # Do not wait: the thread touches no GL and ends by itself within one frame's decode.
            self._decoder.stop(timeout=0.0)
            self._decoder = None
        self._queue = None
        if self._texture is not None:
            self._texture.release()
            self._texture = None
        self._has_frame = False

    # -- parameters -----------------------------------------------------------------------------
    def apply_param(self, name: str, value: Any) -> None:
        if name == "rate":
            self._set_rate(float(value))
        elif name == "loop":
            self.loop = bool(value)
            if self._decoder is not None:
                self._decoder.loop = self.loop
        elif name == "start":
            self.start = float(value)
            if self._decoder is not None:
                self._decoder.start_time = self.start  # takes effect at the next loop
        else:
            super().apply_param(name, value)

    def apply_mapped(self, name: str, value: float) -> None:
        lo, hi = VIDEO_RATE_RANGE
        if name == "rate":
            self._set_rate(min(max(value, lo), hi) if math.isfinite(value) else 1.0)

    @property
    def decoder(self) -> VideoDecoder | None:
        """The decoder thread's handle (status: error, bad_packets, frames_decoded)."""
        return self._decoder


__all__ = ["FrameQueue", "MediaDecodeError", "VideoDecoder", "VideoInfo", "VideoLayer", "probe_video"]

"""Offline render: a scene plus an audio file to an mp4, frame-exact and deterministic.

The audio is decoded, resampled to the analysis rate and fed through the same AudioAnalysis
the live show uses; a ManualClock steps 1/fps per frame, so the same inputs give the same
pixels (checked per frame with SHA-256). Runs on the calling thread, which owns the GL context.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from live.audio.analysis import AudioAnalysis
from live.audio.decode import ANALYSIS_RATE, load_audio
from live.audio.sources import OfflineFileSource
from live.clock import ManualClock
from live.engine import Engine
from live.render.context import check_gl_error, create_headless_context
from live.render.video import Mp4Writer, OutputError, check_writable, write_png
from live.scene import SceneSpec

#: Length of a render with no audio and no --duration.
DEFAULT_SILENT_DURATION = 10.0
#: Seconds a video layer may wait for its decoder per frame offline (renders must be exact).
OFFLINE_FRAME_WAIT = 10.0


@dataclass
class RenderReport:
    """What an offline render produced and how fast it ran."""

    frames: int
    duration: float              # seconds of video
    wall_seconds: float
    out: Path | None
    hashes: Path | None
    frame_hashes: list[str] = field(default_factory=list)

    @property
    def speed(self) -> float:
        """Rendered seconds per wall-clock second (above 1 is faster than real time)."""
        return self.duration / self.wall_seconds if self.wall_seconds > 0 else float("inf")


def parse_size(text: str, what: str = "size", largest: tuple[int, int] = (7680, 4320),
               error: type[ValueError] = ValueError) -> tuple[int, int]:
    """'640x360' -> (640, 360); `error` naming `what` and the expected form otherwise."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise error(f"{what} '{text}' must look like 640x360") from None
    if not (16 <= w <= largest[0] and 16 <= h <= largest[1]):
        raise error(f"{what} '{text}' is out of range: 16x16 to {largest[0]}x{largest[1]}")
    return w, h


class OfflineSession:
    """A scene, its audio and a headless engine stepping a ManualClock 1/fps per frame.

    Used by `render_offline` and by tests that want frames in memory. Render thread (the caller).
    """

    def __init__(self, scene: SceneSpec, audio: np.ndarray | None, *, fps: int = 30,
                 size: tuple[int, int] = (640, 360), engine_factory=None) -> None:
        self.fps = fps
        self.size = size
        self.audio = audio
        # The same conditioning chain as live input (sanitise, downmix, DC block), sample-accurate.
        self._source = OfflineFileSource.from_array(audio, ANALYSIS_RATE) if audio is not None else None
        self.clock = ManualClock()
        self.ctx = create_headless_context()
        try:
            self.engine = (engine_factory or Engine)(self.ctx, size, self.clock)
            self.engine.frame_wait = OFFLINE_FRAME_WAIT
            self.engine.load_scene(scene)
        except BaseException:
            self.ctx.release()
            raise
        # Features, drum onsets and the causal beat tracker, which steers the engine's beat clock.
        self.analyzer = AudioAnalysis(ANALYSIS_RATE, seed_bpm=scene.bpm, beats_per_bar=scene.beats_per_bar)
        self.index = 0

    def step(self) -> np.ndarray:
        """Render the next frame and return it as uint8 RGBA (height, width, 4), top row first."""
        t = self.index / self.fps
        self.clock.set(t)
        if self._source is not None:
            chunk = self._source.read_until_time(t)
            if len(chunk.samples):
                self.analyzer.feed(chunk.mono())
        self.engine.set_audio_frame(self.analyzer.frame(1.0 / self.fps))
        if self._source is not None:
            self.analyzer.drive(self.engine.beat, t)
        self.engine.tick()
        self.index += 1
        return self.engine.read_rgba()

    def audio_for_frame(self, i: int) -> np.ndarray | None:
        """The slice of the (multichannel) audio that plays during frame i."""
        if self.audio is None:
            return None
        a0 = int(round(i / self.fps * ANALYSIS_RATE))
        a1 = int(round((i + 1) / self.fps * ANALYSIS_RATE))
        return self.audio[a0:a1]

    def close(self) -> None:
        check_gl_error(self.ctx, "offline render")
        self.engine.release()
        self.ctx.release()

    def __enter__(self) -> "OfflineSession":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.engine.release()
            self.ctx.release()


def render_offline(scene: SceneSpec, audio_path: Path | None, out: Path | None, *, fps: int = 30,
                   size: tuple[int, int] = (640, 360), duration: float | None = None,
                   frames_dir: Path | None = None, hashes: Path | None = None,
                   progress: bool = True, engine_factory=None) -> RenderReport:
    """Render `scene` reacting to `audio_path` and write the outputs that were asked for.

    Raises AudioFileError, SceneError or OutputError (all with file names) before any frame is
    rendered when an input is bad or an output cannot be written.
    """
    if not 1 <= fps <= 240:
        raise ValueError(f"fps {fps} is out of range 1..240")
    audio = None
    if audio_path is not None:
        audio, _ = load_audio(audio_path, ANALYSIS_RATE)
    if duration is None:
        duration = len(audio) / ANALYSIS_RATE if audio is not None else DEFAULT_SILENT_DURATION
    if not duration > 0:
        raise ValueError(f"duration {duration} must be positive")
    for path in (out, hashes):
        if path is not None:
            check_writable(Path(path))
    if frames_dir is not None:
        frames_dir = Path(frames_dir)
        try:
            frames_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{frames_dir}: cannot create the frames folder ({exc.strerror})") from exc

    n_frames = max(1, int(round(duration * fps)))
    frame_hashes: list[str] = []
    writer = None
    with OfflineSession(scene, audio, fps=fps, size=size, engine_factory=engine_factory) as session:
        try:
            if out is not None:
                writer = Mp4Writer(Path(out), size, fps,
                                   audio_rate=ANALYSIS_RATE if audio is not None else None,
                                   audio_channels=audio.shape[1] if audio is not None else 2)
            start = time.perf_counter()
            bar = tqdm(total=n_frames, unit="frame", disable=not progress, desc="render", leave=False)
            for i in range(n_frames):
                rgba = session.step()
                frame_hashes.append(hashlib.sha256(rgba.tobytes()).hexdigest())
                if writer is not None:
                    writer.write_frame(rgba)
                    chunk = session.audio_for_frame(i)
                    if chunk is not None:
                        writer.write_audio(chunk)
                if frames_dir is not None:
                    write_png(frames_dir / f"frame_{i:06d}.png", rgba[:, :, :3])
                bar.update(1)
            bar.close()
            wall = time.perf_counter() - start
        finally:
            if writer is not None:
                writer.close()
    if hashes is not None:
        Path(hashes).write_text("".join(f"{i}\t{h}\n" for i, h in enumerate(frame_hashes)))
    return RenderReport(n_frames, n_frames / fps, wall, Path(out) if out else None,
                        Path(hashes) if hashes else None, frame_hashes)

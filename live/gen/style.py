"""Style morphs: slerp between the text-encoder outputs of two or more style prompts.

A style is a text. For Wan the morph acts on what the pipeline consumes, the UMT5 encoder's
per-token output (batch, tokens, channels): for each token the direction is interpolated along the
great circle (spherical linear interpolation) and the norm linearly, so a half-way morph is neither
shrunk towards the origin (as a plain lerp is) nor dominated by the longer vector. Tokens that are
zero padding in one style (Wan pads each prompt with zeros to 512 tokens) take the other style's
direction and fade in or out by norm.

With N styles the morph position 0..1 walks the chain style 1 -> style 2 -> ... -> style N; it is
a mappable target (`generator.morph`), so a fader or `bio.coherence` can drive it. Runs on the
generation worker's thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from live.gen.deps import require_gen_extra

require_gen_extra("style morphs", ("torch",))

import torch  # noqa: E402

_EPS = 1e-8


def slerp_tokens(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Per-token slerp of direction and lerp of norm between `a` and `b` (same shape, last dim = channels).

    t = 0 returns `a`, t = 1 returns `b` (exact copies). Computed in float64, returned in a's dtype.
    """
    if a.shape != b.shape:
        raise ValueError(f"style embeddings differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"morph fraction {t} must be in 0..1")
    if t == 0.0:
        return a.clone()
    if t == 1.0:
        return b.clone()
    a64, b64 = a.double(), b.double()
    norm_a = a64.norm(dim=-1, keepdim=True)
    norm_b = b64.norm(dim=-1, keepdim=True)
    zero_a, zero_b = norm_a < _EPS, norm_b < _EPS
    unit_a = torch.where(zero_a, b64 / norm_b.clamp_min(_EPS), a64 / norm_a.clamp_min(_EPS))
    unit_b = torch.where(zero_b, unit_a, b64 / norm_b.clamp_min(_EPS))
    cos = (unit_a * unit_b).sum(dim=-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin_omega = torch.sin(omega)
    # Nearly parallel directions: slerp degenerates to lerp (sin(omega) -> 0).
    parallel = sin_omega < 1e-6
    safe = torch.where(parallel, torch.ones_like(sin_omega), sin_omega)
    weight_a = torch.where(parallel, torch.full_like(omega, 1.0 - t), torch.sin((1.0 - t) * omega) / safe)
    weight_b = torch.where(parallel, torch.full_like(omega, t), torch.sin(t * omega) / safe)
    direction = weight_a * unit_a + weight_b * unit_b
    direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    norm = (1.0 - t) * norm_a + t * norm_b
    return (direction * norm).to(a.dtype)


def morph_segment(position: float, count: int) -> tuple[int, float]:
    """Which pair of a chain of `count` styles a position 0..1 falls in: (index of the first, fraction)."""
    if count < 1:
        raise ValueError("a morph needs at least one style")
    if not (math.isfinite(position) and 0.0 <= position <= 1.0):
        raise ValueError(f"morph position {position!r} must be in 0..1")
    if count == 1:
        return 0, 0.0
    scaled = position * (count - 1)
    index = min(int(math.floor(scaled)), count - 2)
    return index, scaled - index


def morph_weights(position: float, count: int) -> list[float]:
    """Weight of each style at `position` (two neighbours share 1.0; the rest are 0)."""
    index, frac = morph_segment(position, count)
    weights = [0.0] * count
    weights[index] = 1.0 - frac
    if count > 1:
        weights[index + 1] = frac
    return weights


@dataclass
class StyleMorph:
    """A chain of styles and their text-encoder outputs, morphable by a position 0..1.

    Attributes:
        styles: the style texts, in chain order.
        embeddings: the encoder output of each style prompt, all of one shape.
    """

    styles: Sequence[str]
    embeddings: Sequence[torch.Tensor]

    def __post_init__(self) -> None:
        if len(self.styles) != len(self.embeddings) or not self.styles:
            raise ValueError("a StyleMorph needs one embedding per style and at least one style")
        shape = self.embeddings[0].shape
        for style, emb in zip(self.styles, self.embeddings):
            if emb.shape != shape:
                raise ValueError(f"embedding of style {style!r} has shape {tuple(emb.shape)}, expected {tuple(shape)}")

    def at(self, position: float) -> torch.Tensor:
        """The morphed embedding at `position` (0 = first style, 1 = last)."""
        index, frac = morph_segment(position, len(self.styles))
        if len(self.styles) == 1:
            return self.embeddings[0].clone()
        return slerp_tokens(self.embeddings[index], self.embeddings[index + 1], frac)

    def weights(self, position: float) -> list[tuple[str, float]]:
        """(style, weight) pairs at `position`, for meta.json and the HUD."""
        return list(zip(self.styles, morph_weights(position, len(self.styles))))


def token_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle in radians between matching tokens of `a` and `b` (tokens zero in either are NaN)."""
    a64, b64 = a.double(), b.double()
    na, nb = a64.norm(dim=-1), b64.norm(dim=-1)
    cos = (a64 * b64).sum(dim=-1) / (na * nb).clamp_min(_EPS)
    angles = torch.arccos(cos.clamp(-1.0, 1.0))
    return torch.where((na < _EPS) | (nb < _EPS), torch.full_like(angles, float("nan")), angles)


def mean_token_angle(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean angle over tokens that are non-zero in both (how far apart two embeddings point)."""
    angles = token_angles(a, b)
    valid = ~torch.isnan(angles)
    return float(angles[valid].mean()) if bool(valid.any()) else 0.0

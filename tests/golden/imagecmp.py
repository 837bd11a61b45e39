"""Image comparison with several tolerances, for golden-image tests.

A render passes when it correlates with the reference, few pixels differ by more than a
threshold, and no pixel differs wildly. On failure the render and a diff image are saved under
tests/golden/_failures/ so a person can look. Set ECHOEL_REGEN_GOLDEN=1 to rewrite references.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live.render.video import read_png, write_png

FAILURES = Path(__file__).resolve().parent / "_failures"


@dataclass(frozen=True)
class Tolerance:
    min_corr: float = 0.97          # Pearson correlation of the two images' values
    px_threshold: int = 24          # a pixel "differs" when a channel differs by more than this (0..255)
    max_px_fraction: float = 0.02   # ...and at most this share of pixels may differ
    max_diff: int = 160             # no channel of any pixel may differ by more than this


def regenerating() -> bool:
    return os.environ.get("ECHOEL_REGEN_GOLDEN", "") not in ("", "0")


def compare(got: np.ndarray, want: np.ndarray, tol: Tolerance) -> list[str]:
    """Reasons the images do not match (empty when they match)."""
    if got.shape != want.shape:
        return [f"shape {got.shape} != reference {want.shape}"]
    a, b = got.astype(np.float64), want.astype(np.float64)
    problems = []
    if a.std() > 0 and b.std() > 0:
        corr = float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    else:
        corr = 1.0 if np.array_equal(got, want) else 0.0
    if corr < tol.min_corr:
        problems.append(f"correlation {corr:.4f} < {tol.min_corr}")
    diff = np.abs(a - b).max(axis=-1)
    frac = float((diff > tol.px_threshold).mean())
    if frac > tol.max_px_fraction:
        problems.append(f"{frac:.2%} of pixels differ by more than {tol.px_threshold} (allowed "
                        f"{tol.max_px_fraction:.2%})")
    if diff.max() > tol.max_diff:
        problems.append(f"max difference {int(diff.max())} > {tol.max_diff}")
    return problems


def assert_image_matches(got_rgb: np.ndarray, reference: Path, tol: Tolerance = Tolerance()) -> None:
    """Compare uint8 RGB `got_rgb` with the PNG `reference` (or write it when regenerating)."""
    reference = Path(reference)
    if regenerating() or not reference.exists():
        if not regenerating():
            raise AssertionError(f"no reference image {reference}; run with ECHOEL_REGEN_GOLDEN=1 "
                                 "to create it, then look at it before committing")
        reference.parent.mkdir(parents=True, exist_ok=True)
        write_png(reference, got_rgb)
        return
    want = read_png(reference)[..., :3]
    problems = compare(got_rgb, want, tol)
    if problems:
        FAILURES.mkdir(exist_ok=True)
        stem = reference.stem
        write_png(FAILURES / f"{stem}.got.png", got_rgb)
        diff = np.abs(got_rgb.astype(np.int16) - want.astype(np.int16)).astype(np.uint8)
        write_png(FAILURES / f"{stem}.diff.png", np.clip(diff.astype(np.int32) * 4, 0, 255).astype(np.uint8))
        raise AssertionError(f"{reference.name}: " + "; ".join(problems)
                             + f" (render and diff saved in {FAILURES})")

"""The golden-image comparison itself: it must pass equal images and catch real changes."""

from __future__ import annotations

import numpy as np

from imagecmp import Tolerance, compare


def _image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, 64)[None, :, None] * np.ones((36, 1, 3))
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


def test_equal_and_slightly_noisy_images_match():
    img = _image()
    assert compare(img, img, Tolerance()) == []
    noisy = np.clip(img.astype(int) + np.random.default_rng(1).integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
    assert compare(noisy, img, Tolerance()) == []


def test_a_moved_or_recoloured_picture_is_caught():
    img = _image()
    assert compare(img[:, ::-1], img, Tolerance())               # mirrored: correlation collapses
    patch = img.copy()
    patch[10:20, 10:30] = 255                                    # a white block: pixel count and max diff
    problems = compare(patch, img, Tolerance())
    assert any("pixels differ" in p for p in problems) and any("max difference" in p for p in problems)
    assert compare(img[:-1], img, Tolerance()) == [f"shape {img[:-1].shape} != reference {img.shape}"]

"""Every blend mode against a numpy computation of the W3C Compositing and Blending formulas."""

from __future__ import annotations

import numpy as np
import pytest

from live.render.compositor import Compositor
from live.render.context import release_framebuffers
from live.scene import BLEND_MODES

pytestmark = pytest.mark.gl

SIZE = (32, 16)


def _w3c_blend(mode: str, cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    if mode == "normal":
        return cs
    if mode == "add":
        return np.minimum(cb + cs, 1.0)
    if mode == "screen":
        return cb + cs - cb * cs
    if mode == "multiply":
        return cb * cs
    if mode == "overlay":  # HardLight(Cs, Cb)
        return np.where(cb <= 0.5, cs * 2 * cb, cs + (2 * cb - 1) - cs * (2 * cb - 1))
    if mode == "difference":
        return np.abs(cb - cs)
    if mode == "lighten":
        return np.maximum(cb, cs)
    if mode == "darken":
        return np.minimum(cb, cs)
    if mode == "subtract":
        return np.maximum(cb - cs, 0.0)
    if mode == "soft_light":
        d = np.where(cb <= 0.25, ((16 * cb - 12) * cb + 4) * cb, np.sqrt(cb))
        return np.where(cs <= 0.5, cb - (1 - 2 * cs) * cb * (1 - cb), cb + (2 * cs - 1) * (d - cb))
    raise AssertionError(f"no reference for {mode}")


def _w3c_composite(mode: str, backdrop: np.ndarray, source: np.ndarray, opacity: float) -> np.ndarray:
    cb, ab = backdrop[..., :3], backdrop[..., 3:]
    cs, as_ = source[..., :3], source[..., 3:] * opacity
    mixed = (1 - ab) * cs + ab * _w3c_blend(mode, cb, cs)
    co = as_ * mixed + (1 - as_) * ab * cb
    ao = as_ + ab * (1 - as_)
    return np.concatenate([np.where(ao > 0, co / np.maximum(ao, 1e-12), 0.0), ao], axis=-1)


def _pixels(rng: np.random.Generator) -> np.ndarray:
    img = rng.random((SIZE[1], SIZE[0], 4)).astype(np.float32)
    # Exact edge values every blend function branches on.
    img[0, :8, :3] = np.array([0.0, 0.25, 0.5, 1.0, 0.125, 0.75, 0.5, 0.25])[:, None]
    img[0, :4, 3] = [0.0, 1.0, 1.0, 0.5]
    img[1, :, 3] = 1.0
    return img.astype(np.float16).astype(np.float32)  # what an RGBA16F layer buffer can hold


def _texture(ctx, img: np.ndarray):
    tex = ctx.texture(SIZE, 4, img.tobytes(), dtype="f4")
    return tex


@pytest.mark.parametrize("mode", BLEND_MODES)
@pytest.mark.parametrize("opacity", [1.0, 0.6])
def test_blend_mode_matches_w3c(ctx, mode, opacity):
    rng = np.random.default_rng(abs(hash((mode, opacity))) % 2**32)
    backdrop, source = _pixels(rng), _pixels(rng)
    comp = Compositor(ctx, SIZE)
    tb, ts = _texture(ctx, backdrop), _texture(ctx, source)
    try:
        comp.begin()
        comp.blend(tb, "normal", 1.0)  # onto transparent black: the picture becomes the backdrop
        comp.blend(ts, mode, opacity)
        got = np.frombuffer(comp.picture.read(), dtype=np.float16).astype(np.float32)
        got = got.reshape(SIZE[1], SIZE[0], 4)
    finally:
        tb.release()
        ts.release()
        comp.release()
    want = _w3c_composite(mode, backdrop, source, opacity)
    # RGBA16F holds about 3 decimal digits; where alpha is 0 the colour is undefined (stored as 0).
    visible = want[..., 3] > 1e-3
    np.testing.assert_allclose(got[..., 3], want[..., 3], atol=2e-3)
    np.testing.assert_allclose(got[visible][:, :3], want[visible][:, :3], atol=4e-3, rtol=2e-3)


def test_present_puts_straight_alpha_over_black_with_dimmer(ctx):
    img = np.zeros((SIZE[1], SIZE[0], 4), np.float32)
    img[..., :3] = [1.0, 0.5, 0.25]
    img[..., 3] = 0.5
    comp = Compositor(ctx, SIZE)
    tex = _texture(ctx, img)
    out_tex = ctx.texture(SIZE, 4)
    fbo = ctx.framebuffer(color_attachments=[out_tex])
    try:
        comp.begin()
        comp.blend(tex, "normal", 1.0)
        comp.present(fbo, dimmer=0.5)
        got = np.frombuffer(fbo.read(components=4), np.uint8).reshape(SIZE[1], SIZE[0], 4)
    finally:
        release_framebuffers(ctx, fbo, out_tex, tex)
        comp.release()
    want = np.round(np.array([1.0, 0.5, 0.25]) * 0.5 * 0.5 * 255)
    assert np.all(np.abs(got[..., :3].astype(int) - want) <= 1)
    assert np.all(got[..., 3] == 255)


def test_nan_from_a_layer_does_not_poison_the_picture(ctx):
    img = np.full((SIZE[1], SIZE[0], 4), np.nan, np.float32)
    comp = Compositor(ctx, SIZE)
    tex = _texture(ctx, img)
    try:
        comp.begin()
        comp.blend(tex, "screen", 1.0)
        got = np.frombuffer(comp.picture.read(), dtype=np.float16).astype(np.float32)
    finally:
        tex.release()
        comp.release()
    assert np.all(np.isfinite(got))

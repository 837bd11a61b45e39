"""The photosensitivity flash guard: strobes come out at 3 flashes per second or fewer, the rest
comes out untouched.

Frames are made in numpy, stepped with a fixed dt (no wall clock), and the output is checked
with an independent numpy implementation of the flash definition that works per pixel (the
guard works per tile), with the same WCAG 2.3.1 / BT.1702 thresholds.
"""

from __future__ import annotations

import logging

import moderngl
import numpy as np
import pytest

from live.health.registry import PartRegistry, State
from live.render.context import release_framebuffers
from live.render.safety import (
    PART,
    FlashGuard,
    FlashGuardError,
    FlashLimiter,
    FlashRules,
    tile_areas,
)

pytestmark = pytest.mark.gl

SIZE = (64, 36)


# -- independent reference: the flash definition per pixel ------------------------------------
def to_linear(frames: np.ndarray) -> np.ndarray:
    """uint8 sRGB (..., 3) to linear light (exact IEC 61966-2-1 curve)."""
    c = frames.astype(np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def pixel_signal(frames: np.ndarray, kind: str) -> np.ndarray:
    lin = to_linear(frames[..., :3])
    if kind == "general":
        return lin @ np.array([0.2126, 0.7152, 0.0722])
    r, g, b = lin[..., 0], lin[..., 1], lin[..., 2]
    total = r + g + b
    saturated = (total > 0) & (r >= 0.8 * total)
    return np.where(saturated, np.maximum(r - g - b, 0.0), 0.0)


def screen_transitions(frames: np.ndarray, kind: str = "general", area: float = 0.25,
                       together: int = 1) -> np.ndarray:
    """Screen transitions per frame (0, 1 or 2) of a (N, H, W, 3|4) uint8 sequence.

    Per pixel, frame-to-frame changes of the same sign are summed (a reversal starts a new sum);
    a sum reaching the threshold (general: 0.1 with the darker end below 0.8; red: 20/320) is
    one transition of that pixel. Pixels that made one the same way within `together` frames
    and were not yet counted add up; covering `area` of the screen they make a screen
    transition, which other pixels making the same transition within `together` frames join.
    The screen is black before the first frame, as a projector is before the show.
    """
    sig = pixel_signal(frames, kind)
    sig = np.concatenate([np.zeros_like(sig[:1]), sig])
    delta, dark = (0.1, 0.8) if kind == "general" else (20.0 / 320.0, np.inf)
    shape = sig.shape[1:]
    acc = np.zeros(shape)
    counted = np.zeros(shape, dtype=bool)
    hit_frame = np.full(shape, -10**9)
    hit_dir = np.zeros(shape)
    consumed = np.zeros(shape, dtype=bool)
    open_until = {1: -1, -1: -1}
    joined = {1: np.zeros(shape, dtype=bool), -1: np.zeros(shape, dtype=bool)}
    out = np.zeros(len(frames), dtype=int)
    for i in range(1, len(sig)):
        d = sig[i] - sig[i - 1]
        same = (np.sign(d) == np.sign(acc)) | (d == 0) | (acc == 0)
        acc = np.where(same, acc + d, d)
        counted &= same
        darker = np.minimum(sig[i], sig[i] - acc)
        hit = ~counted & (np.abs(acc) >= delta) & (darker < dark)
        counted |= hit
        hit_frame[hit], hit_dir[hit], consumed[hit] = i, np.sign(acc)[hit], False
        for direction in (1, -1):
            if i <= open_until[direction]:
                join = hit & (hit_dir == direction) & ~joined[direction]
                consumed |= join
                joined[direction] |= join
            members = ~consumed & (hit_dir == direction) & (i - hit_frame < together)
            if members.mean() >= area:
                out[i - 1] += 1
                consumed |= members
                open_until[direction] = i + together - 1
                joined[direction] = members
    return out


def worst_window(per_frame: np.ndarray, fps: int) -> int:
    """Most transitions in any window of 1 s (fps consecutive frames)."""
    csum = np.concatenate([[0], np.cumsum(per_frame)])
    return int(max(csum[i + fps] - csum[i] for i in range(len(per_frame) - fps + 1)))


# -- rig -------------------------------------------------------------------------------------
class Rig:
    """A guard, a source texture and an output framebuffer of one size."""

    def __init__(self, ctx: moderngl.Context, size=SIZE, dtype: str = "f1", **kwargs) -> None:
        self.ctx, self.size, self.dtype = ctx, size, dtype
        self.guard = FlashGuard(ctx, size, **kwargs)
        self.src = ctx.texture(size, 4, dtype=dtype)
        self.out_tex = ctx.texture(size, 4)
        self.dst = ctx.framebuffer(color_attachments=[self.out_tex])
        self.stats = []

    def run(self, frames: np.ndarray, fps: float) -> np.ndarray:
        """Feed RGBA uint8 frames (N, H, W, 4) at `fps`; return the output frames the same way."""
        out = np.empty_like(frames)
        for i, frame in enumerate(frames):
            data = frame if self.dtype == "f1" else (frame.astype(np.float32) / 255.0).astype(np.float16)
            self.src.write(np.ascontiguousarray(data).tobytes())
            self.stats.append(self.guard.process(self.src, self.dst, 1.0 / fps))
            raw = self.dst.read(components=4, alignment=1)
            out[i] = np.frombuffer(raw, np.uint8).reshape(frame.shape)
        return out

    def release(self) -> None:
        self.guard.release()
        release_framebuffers(self.ctx, self.dst, self.out_tex, self.src)


@pytest.fixture
def rig(ctx):
    made = []

    def make(**kwargs) -> Rig:
        made.append(Rig(ctx, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.release()


def rgba(rgb, size=SIZE) -> np.ndarray:
    img = np.empty((size[1], size[0], 4), np.uint8)
    img[..., :3] = np.asarray(rgb, np.uint8)
    img[..., 3] = 255
    return img


def strobe(on: np.ndarray, off: np.ndarray, fps: int, seconds: float, hz: float = 10.0) -> np.ndarray:
    """A square-wave strobe: `on` for the first half of each period, `off` for the second."""
    n = round(fps * seconds)
    halves = (np.arange(n) * int(2 * hz)) // fps  # integer maths: no float ties at edges
    return np.stack([on if h % 2 == 0 else off for h in halves])


def srgb_u8(linear: float) -> int:
    enc = 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055
    return round(enc * 255)


# -- strobes are limited -----------------------------------------------------------------------
def test_full_screen_strobe_is_limited_to_3_flashes_per_second_yet_still_flashes(rig):
    fps = 60
    frames = strobe(rgba((255, 255, 255)), rgba((0, 0, 0)), fps, 3.0)
    assert worst_window(screen_transitions(frames), fps) == 20  # the input: 10 flashes per second

    out = rig().run(frames, fps)
    per_frame = screen_transitions(out)
    assert worst_window(per_frame, fps) <= 6  # at most 3 flashes in every 1 s window
    # Still visibly a strobe: full flashes remain in every second, and the damped frames
    # between them still move visibly (not frozen on one level).
    for second in range(3):
        assert per_frame[second * fps:(second + 1) * fps].sum() >= 4
    mean = out[..., :3].mean(axis=(1, 2, 3))
    late = mean[fps:]
    assert late.max() > 250 and late.min() < 5
    assert len(np.unique(np.round(late))) >= 3


def test_red_strobe_is_limited(rig):
    fps = 60
    red = rgba((255, 0, 0))
    # A grey as bright as the red: only the red rule sees this strobe.
    grey = rgba([srgb_u8(0.2126)] * 3)
    frames = strobe(red, grey, fps, 3.0)
    assert screen_transitions(frames, "general").sum() == 1  # black -> first frame only
    assert worst_window(screen_transitions(frames, "red"), fps) == 20

    r = rig()
    out = r.run(frames, fps)
    red_per_frame = screen_transitions(out, "red")
    assert worst_window(red_per_frame, fps) <= 6
    assert red_per_frame.sum() >= 9  # red flashes still come through, 3 per second at most
    assert worst_window(screen_transitions(out, "general"), fps) <= 6
    assert max(s.red_transitions for s in r.stats) <= 6


@pytest.mark.parametrize("fps", [30, 60])
def test_limit_holds_at_any_frame_rate(rig, fps):
    frames = strobe(rgba((255, 255, 255)), rgba((0, 0, 0)), fps, 3.0)
    out = rig(fps_hint=fps).run(frames, fps)
    per_frame = screen_transitions(out)
    assert worst_window(per_frame, fps) <= 6
    # The same number of flashes gets through per second whatever the frame rate.
    assert 12 <= per_frame.sum() <= 18


@pytest.mark.parametrize("size", [(50, 30), (10, 6)])
def test_sizes_that_do_not_divide_into_tiles(rig, size):
    """Uneven tiles (50x30 on a 16x9 grid) and outputs smaller than the grid (10x6) work too."""
    fps = 60
    frames = strobe(rgba((255, 255, 255), size), rgba((0, 0, 0), size), fps, 2.0)
    out = rig(size=size).run(frames, fps)
    per_frame = screen_transitions(out)
    assert worst_window(per_frame, fps) <= 6
    assert per_frame.sum() >= 8


def test_flicker_on_every_frame_is_limited(rig):
    """A 30 Hz black/white flicker (a new level every frame at 60 fps): the transitions a
    tile repeats within 100 ms are counted one by one, not merged."""
    fps = 60
    frames = np.stack([rgba((255, 255, 255)) if i % 2 == 0 else rgba((0, 0, 0)) for i in range(fps * 2)])
    out = rig().run(frames, fps)
    assert worst_window(screen_transitions(out), fps) <= 6
    assert worst_window(screen_transitions(out, together=6), fps) <= 6


def test_wipe_strobe_spread_over_frames_counts_as_one_flash(rig):
    """Five bands of 19 % each flip on successive frames: each alone is under the area
    threshold, together they are a full-screen flash within 83 ms. At 4 Hz (8 flashes per
    second with the wipe inside each half period) it must be limited."""
    fps = 60
    w, h = SIZE
    n = fps * 3
    frames = np.zeros((n, h, w, 4), np.uint8)
    frames[..., 3] = 255
    band = 12  # 3 of the guard's 16 tile columns
    for i in range(n):
        for b in range(5):
            # Band b follows band b-1 one frame later; each band strobes at 4 Hz.
            on = i >= b and ((i - b) * 8 // fps) % 2 == 0
            frames[i, :, b * band:(b + 1) * band, :3] = 255 if on else 0
    assert worst_window(screen_transitions(frames), fps) == 0  # no single frame is a flash
    assert worst_window(screen_transitions(frames, together=6), fps) == 8
    out = rig().run(frames, fps)
    assert worst_window(screen_transitions(out, together=6), fps) <= 6


# -- what must pass untouched ------------------------------------------------------------------
def test_strobe_smaller_than_the_area_threshold_passes_untouched(rig):
    fps = 60
    base = rgba((40, 60, 80))
    lit = base.copy()
    lit[8:20, 20:36, :3] = 255  # 12x16 px of 64x36: 8 % of the screen (it touches 11 % of tiles)
    frames = strobe(lit, base, fps, 2.0)
    assert worst_window(screen_transitions(frames, area=0.05), fps) == 20  # it does flash
    r = rig()
    out = r.run(frames, fps)
    np.testing.assert_array_equal(out, frames)
    assert not any(s.damped for s in r.stats)


def moving_picture(n: int, size=SIZE, fps: int = 60) -> np.ndarray:
    """A scrolling colour gradient with a bright bar sweeping across: motion, no flashing."""
    w, h = size
    x = np.arange(w)[None, :] / w
    y = np.arange(h)[:, None] / h
    frames = np.empty((n, h, w, 4), np.uint8)
    frames[..., 3] = 255
    for i in range(n):
        t = i / fps
        for c, off in enumerate((0.0, 0.3, 0.6)):
            frames[i, ..., c] = np.uint8(127.5 + 127.5 * np.sin(2 * np.pi * (x + 0.5 * y - 0.3 * t + off)))
        bar = int((0.4 * t * w) % w)
        frames[i, :, bar:bar + 4, :3] = 250
    return frames


def test_steady_moving_picture_is_identical_with_the_guard_on_and_off(rig):
    fps = 60
    frames = moving_picture(120)
    on = rig().run(frames, fps)
    off = rig(enabled=False).run(frames, fps)
    assert np.abs(on.astype(int) - off.astype(int)).max() <= 1
    assert np.abs(on.astype(int) - frames.astype(int)).max() <= 1


def test_half_float_source_is_measured_and_copied_like_rgba8(rig):
    fps = 60
    frames = moving_picture(30)
    out8 = rig().run(frames, fps)
    out16 = rig(dtype="f2").run(frames, fps)
    assert np.abs(out8.astype(int) - out16.astype(int)).max() <= 1
    strobe_frames = strobe(rgba((255, 255, 255)), rgba((0, 0, 0)), fps, 2.0)
    assert worst_window(screen_transitions(rig(dtype="f2").run(strobe_frames, fps)), fps) <= 6


# -- how damping looks -------------------------------------------------------------------------
def test_damped_frames_keep_motion_and_colour(rig):
    """While a coloured strobe is damped, the output shows the current frame dimmed (its
    colours and the position of a moving square), never a held earlier frame."""
    fps = 60
    n = fps * 2
    frames = strobe(rgba((0, 0, 0)), rgba((0, 0, 0)), fps, 2.0).copy()
    halves = (np.arange(n) * 20) // fps
    for i in range(n):
        if halves[i] % 2 == 0:
            frames[i, ..., :3] = (255, 160, 60)
            x = 2 + i // 3  # moving right, 1 px every 3 frames
            frames[i, 10:26, x:x + 12, :3] = (40, 90, 255)
    r = rig()
    out = r.run(frames, fps)
    damped_lit = [i for i in range(n) if r.stats[i].damped and halves[i] % 2 == 0]
    assert len(damped_lit) >= 20
    lin_in, lin_out = to_linear(frames[..., :3]), to_linear(out[..., :3])
    for i in damped_lit:
        # Each tile is dimmed by its own factor, so the picture is not exactly proportional.
        current = np.corrcoef(lin_in[i].ravel(), lin_out[i].ravel())[0, 1]
        # The lit frame one strobe period (6 frames) earlier, with the square elsewhere.
        before = np.corrcoef(lin_in[i - 6].ravel(), lin_out[i].ravel())[0, 1]
        assert current > 0.95 and current > before, f"frame {i} is not the current picture"
        # The square is where the input has it in this frame.
        cols = np.flatnonzero(lin_out[i, 18, :, 2] > lin_out[i, 18, :, 0])
        assert cols.min() == 2 + i // 3
    # Consecutive damped frames differ wherever the input moved: no held frame.
    for i in damped_lit:
        if i - 1 in damped_lit:
            assert not np.array_equal(out[i], out[i - 1])


def test_damping_has_no_seams_at_tile_edges(rig):
    """A strobe of a smooth gradient: the damped picture stays smooth across tile edges
    (the per-tile weights are interpolated), rather than stepping at every edge."""
    fps = 60
    size = (128, 72)  # 8x8 px tiles
    lit = np.empty((72, 128, 4), np.uint8)
    lit[..., :3] = np.linspace(60, 255, 128).astype(np.uint8)[None, :, None]
    lit[..., 3] = 255
    frames = strobe(lit, rgba((0, 0, 0), size), fps, 1.0)
    r = rig(size=size)
    out = r.run(frames, fps)
    damped = [i for i, s in enumerate(r.stats) if s.damped and out[i].max() > 0]
    assert damped
    edges = np.arange(8, 128, 8)
    for i in damped:
        profile = out[i, 36, :, 0].astype(float)
        steps = np.abs(np.diff(profile))
        at_edges = steps[edges - 1]
        inside = np.delete(steps, edges - 1)
        assert at_edges.max() <= 2 * inside.max() + 3, f"frame {i}: seam at a tile edge"


# -- switch, errors --------------------------------------------------------------------------
def test_switching_off_warns_reports_degraded_and_passes_flashes(rig, caplog):
    parts = PartRegistry(time_source=lambda: 0.0)
    r = rig(parts=parts)
    assert parts.get(PART).state == State.OK
    with caplog.at_level(logging.WARNING, logger="live.render.safety"):
        r.guard.enabled = False
    assert any(rec.levelno == logging.WARNING and "flash guard OFF" in rec.getMessage() for rec in caplog.records)
    state = parts.get(PART)
    assert (state.state, state.reason) == (State.DEGRADED, "flash guard off")
    fps = 60
    frames = strobe(rgba((255, 255, 255)), rgba((0, 0, 0)), fps, 1.5)
    np.testing.assert_array_equal(r.run(frames, fps), frames)
    r.guard.enabled = True
    assert parts.get(PART).state == State.OK
    assert worst_window(screen_transitions(r.run(frames, fps)), fps) <= 6


def test_starting_disabled_warns(ctx, caplog):
    parts = PartRegistry(time_source=lambda: 0.0)
    with caplog.at_level(logging.WARNING, logger="live.render.safety"):
        guard = FlashGuard(ctx, SIZE, enabled=False, parts=parts)
    try:
        assert not guard.enabled
        assert "flash guard OFF" in caplog.text
        assert parts.get(PART).state == State.DEGRADED
    finally:
        guard.release()


def test_wrong_sizes_are_clear_errors(rig, ctx):
    r = rig()
    other = ctx.texture((32, 32), 4)
    try:
        with pytest.raises(FlashGuardError, match=r"64x36 .* 32x32"):
            r.guard.process(other, r.dst, 1 / 60)
    finally:
        other.release()
    with pytest.raises(FlashGuardError, match="grid 0x9"):
        FlashGuard(ctx, SIZE, grid=(0, 9))
    with pytest.raises(FlashGuardError, match="area_share"):
        FlashRules(area_share=1.5)


# -- the rules on their own (no GL) ------------------------------------------------------------
def test_rules_count_a_slow_fade_once_and_free_the_budget_after_a_second():
    areas = tile_areas((16, 9), (16, 9))
    lim = FlashLimiter(areas)
    t, dt = 0.0, 1 / 60
    for step in range(61):  # black to white over one second: one transition, never damped
        t += dt
        x = np.full(areas.size, step / 60)
        d = lim.decide(x, np.zeros_like(x), t)
        assert d.weights.min() == 1.0
        lim.commit(x, np.zeros_like(x), t)
    assert lim.counts(t) == (1, 0)
    for _ in range(6):  # five more full-screen jumps fit (6 in the window), the next does not
        t += dt
        x = 1.0 - x
        d = lim.decide(x, np.zeros_like(x), t)
        lim.commit(x if d.weights.min() == 1.0 else lim.shown[0], np.zeros_like(x), t)
    assert d.weights.max() < 0.2 and lim.counts(t) == (6, 0)
    t += 1.0  # a second later the window is empty again
    assert lim.counts(t) == (0, 0)
    assert lim.decide(1.0 - lim.shown[0], np.zeros(areas.size), t).weights.min() == 1.0

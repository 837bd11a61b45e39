"""Photosensitivity flash guard for the program output.

The guard limits general flashes and red flashes to at most three per second over any 1 s window
(WCAG 2.x success criterion 2.3.1 "Three Flashes or Below Threshold"; ITU-R BT.1702 for
broadcast). It measures every frame on the GPU at the resolution of a tile grid, decides on the
CPU which tiles may change how much, and damps only what would break the limit: each damped
tile's change is cut to just under the threshold, in linear light, by blending the new frame with
an anchor as bright as the previous output (the new frame dimmed where it got brighter, the
previous output where it got darker), interpolated smoothly between tiles. See docs/safety.md
for the rules, the chosen thresholds and the limits of the method.

Definitions used (all on relative luminance / linear RGB, sRGB decoded, Rec.709 coefficients):

- A *transition* of a tile is a monotonic change of its mean relative luminance by 0.1 or more
  where the darker end is below 0.8. A *red transition* is a change of 20/320 or more of the
  saturated-red value max(R - G - B, 0) of pixels with R / (R + G + B) >= 0.8, averaged per tile
  (the (R - G - B) x 320 > 20 formulation of the Trace Center / PEAT tools).
- A *flash* is a pair of opposing transitions, so "3 flashes per second" is at most 6
  transitions in any 1 s window. The guard holds every window to 6 transitions, which keeps the
  flash count at 3 or fewer however the transitions pair up.
- Area rule: a screen transition happens only when tiles making the same transition within
  `coincidence_s` of each other together cover at least `area_share` of the screen (default
  25 %, the BT.1702 / Ofcom figure; WCAG's 0.006 sr is about 25 % of the central 10 degree
  field). Smaller flashing areas are never damped.

Everything in this module that touches GL runs on the render thread. `FlashLimiter` is pure numpy
and may run on any thread, but it is not synchronised: one thread owns an instance.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

import moderngl
import numpy as np

from live.health.registry import PartRegistry
from live.render.compositor import FULLSCREEN_VERTEX
from live.render.context import release_framebuffers

log = logging.getLogger(__name__)

#: Name of the guard in the part-state registry (HUD, /health).
PART = "flash_guard"
#: Default tile grid (columns, rows): 16x9 tiles are square on a 16:9 output.
DEFAULT_GRID = (16, 9)
#: Target size in output pixels of one block of the first measuring pass (per axis).
_BLOCK_PX = 4


class FlashGuardError(ValueError):
    """The guard was configured or called with something it cannot work with."""


@dataclass(frozen=True)
class FlashRules:
    """Thresholds of the flash guard. Immutable; any thread.

    Attributes:
        general_delta: relative-luminance change (0..1) that makes a transition.
        dark_limit: a luminance change counts only when its darker end is below this.
        red_delta: change of the saturated-red value max(R - G - B, 0) that makes a red transition.
        max_flashes: flashes allowed in any window of `window_s` seconds (a flash = 2 transitions).
        window_s: length of the sliding window in seconds.
        area_share: share of the screen area (0..1) that must take part in a transition for it
            to count as a screen transition.
        coincidence_s: tile transitions this close in time count as one (concurrent) transition,
            so a wipe across the screen over a few frames is still seen as one flash.
        margin: a damped change stops at (1 - margin) of the threshold, leaving room for
            measuring error and the smooth interpolation between tiles.
    """

    general_delta: float = 0.10
    dark_limit: float = 0.80
    red_delta: float = 20.0 / 320.0
    max_flashes: int = 3
    window_s: float = 1.0
    area_share: float = 0.25
    coincidence_s: float = 0.1
    margin: float = 0.2

    def __post_init__(self) -> None:
        checks = {
            "general_delta": 0.0 < self.general_delta <= 1.0,
            "dark_limit": 0.0 < self.dark_limit <= 1.0,
            "red_delta": 0.0 < self.red_delta <= 1.0,
            "max_flashes": isinstance(self.max_flashes, int) and self.max_flashes >= 1,
            "window_s": 0.0 < self.window_s <= 10.0,
            "area_share": 0.0 < self.area_share <= 1.0,
            "coincidence_s": 0.0 <= self.coincidence_s < self.window_s,
            "margin": 0.0 < self.margin < 1.0,
        }
        allowed = {
            "general_delta": "0 < value <= 1", "dark_limit": "0 < value <= 1",
            "red_delta": "0 < value <= 1", "max_flashes": "an integer >= 1",
            "window_s": "0 < value <= 10", "area_share": "0 < value <= 1",
            "coincidence_s": "0 <= value < window_s", "margin": "0 < value < 1",
        }
        for key, ok in checks.items():
            if not ok:
                raise FlashGuardError(f"flash guard rule {key} = {getattr(self, key)!r} is out of "
                                      f"range; allowed: {allowed[key]}")

    @property
    def max_transitions(self) -> int:
        """Transitions allowed per window: two per flash."""
        return 2 * self.max_flashes


@dataclass(frozen=True)
class GuardStats:
    """What the guard did to one frame (for the HUD and logs). Immutable; any thread.

    Attributes:
        enabled: whether the guard was on for this frame.
        damped_share: share of the screen area (0..1) whose change was limited this frame.
        min_weight: smallest per-tile weight of the new frame (1.0 = passed untouched).
        transitions: general screen transitions on the output in the trailing window.
        red_transitions: red screen transitions on the output in the trailing window.
    """

    enabled: bool
    damped_share: float = 0.0
    min_weight: float = 1.0
    transitions: int = 0
    red_transitions: int = 0

    @property
    def damped(self) -> bool:
        """True when any part of this frame was damped."""
        return self.damped_share > 0.0

    @property
    def flashes(self) -> float:
        """General flashes (pairs of opposing transitions) in the trailing window."""
        return self.transitions / 2.0

    @property
    def red_flashes(self) -> float:
        """Red flashes in the trailing window."""
        return self.red_transitions / 2.0


class _RunTracker:
    """Per-tile monotonic runs of one quantity (luminance or red value) and their transitions.

    A run is a stretch in which the value moves one way; a reversal of more than `hysteresis`
    starts a new run from the extreme reached, so noise never splits a real change into pieces
    too small to count (that would under-count flashes). A run counts as a transition once, when
    its extent reaches `delta` (and, for luminance, its darker end is below `dark_limit`).
    """

    def __init__(self, n: int, delta: float, dark_limit: float, hysteresis: float) -> None:
        self.delta = delta
        self.dark_limit = dark_limit
        self.hysteresis = hysteresis
        self.reset(np.zeros(n))

    def reset(self, baseline: np.ndarray) -> None:
        """Forget all runs; `baseline` is the value every tile shows now."""
        base = np.asarray(baseline, dtype=np.float64).copy()
        self.last = base.copy()
        self.start = base.copy()
        self.ext = base.copy()
        self.dir = np.zeros(base.shape, dtype=np.int8)
        self.done = np.zeros(base.shape, dtype=bool)

    def step(self, y: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
        """The state after value `y`, without changing anything.

        Returns (new state tuple, completed mask, direction of each tile's run).
        """
        start, ext, d, done = self.start.copy(), self.ext.copy(), self.dir.copy(), self.done.copy()
        h = self.hysteresis
        idle = d == 0
        begin = idle & (np.abs(y - start) > h)
        d[begin] = np.sign(y - start)[begin].astype(np.int8)
        ext[begin] = y[begin]
        moving = ~idle
        progress = d * (y - ext)
        further = moving & (progress >= 0.0)
        ext[further] = y[further]
        reverse = moving & (-progress > h)
        start[reverse] = ext[reverse]
        ext[reverse] = y[reverse]
        d[reverse] = -d[reverse]
        done[reverse] = False
        amp = np.abs(ext - start)
        darker = np.minimum(ext, start)
        completed = (d != 0) & ~done & (amp >= self.delta) & (darker < self.dark_limit)
        done |= completed
        return (y.copy(), start, ext, d, done), completed, d.copy()

    def commit(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance with the value actually shown; returns (completed mask, directions)."""
        state, completed, dirs = self.step(np.asarray(y, dtype=np.float64))
        self.last, self.start, self.ext, self.dir, self.done = state
        return completed, dirs

    def allowed(self, limit: float, dark_pad: float) -> tuple[np.ndarray, np.ndarray]:
        """Per tile, the interval (lo, hi) of next values that complete no transition.

        `limit` replaces `delta` (a bit smaller, for a safety margin); `dark_pad` keeps values
        that rely on the "darker end >= dark_limit" exemption away from the edge.
        """
        inf = np.inf
        start, ext, d, done = self.start, self.ext, self.dir, self.done
        # Upward: continuing an upward run keeps its start; reversing a downward run starts a
        # new run at the minimum reached; an idle tile starts from its baseline.
        up_base = np.where(d == -1, ext, start)
        up_counted = (d == 1) & done
        hi = np.where(up_counted | (up_base >= self.dark_limit), inf, up_base + limit)
        down_base = np.where(d == 1, ext, start)
        down_counted = (d == -1) & done
        # Going down completes only if the new (darker) value is below dark_limit, so values at
        # or above dark_limit (plus a pad) are always allowed.
        lo = np.where(down_counted, -inf, np.minimum(down_base - limit, self.dark_limit + dark_pad))
        return lo, hi


class _ScreenTransitions:
    """Applies the area rule to tile transitions and keeps the window of screen transitions.

    Tiles completing a transition the same way within `coincidence_s` of each other add up; once
    they cover `area_share` of the screen they make one screen transition, and tiles that follow
    the same way within `coincidence_s` after it join it (a wipe is one flash, not several).
    """

    def __init__(self, area: np.ndarray, rules: FlashRules) -> None:
        self.area = area
        self.rules = rules
        self.reset()

    def reset(self) -> None:
        n = self.area.shape[0]
        self.events: deque[float] = deque()
        self.t_done = np.full(n, -np.inf)
        self.d_done = np.zeros(n, dtype=np.int8)
        self.consumed = np.zeros(n, dtype=bool)
        # The last screen transition each way stays open for coincidence_s: tiles that were not
        # part of it and complete the same way meanwhile join it.
        self.open_until = {1: -np.inf, -1: -np.inf}
        self.joined = {1: np.zeros(n, dtype=bool), -1: np.zeros(n, dtype=bool)}

    def _evaluate(self, completed: np.ndarray, dirs: np.ndarray, t: float):
        """Per direction: (direction, tiles joining an open transition, tiles of a new one or None)."""
        tol = 1e-9
        out = []
        for direction in (1, -1):
            now = completed & (dirs == direction)
            join = np.zeros_like(now)
            if t <= self.open_until[direction] + tol:
                # A tile that was part of the open transition and completes again the same way
                # has flashed in between: that is a new transition, not a late joiner.
                join = now & ~self.joined[direction]
                now = now & self.joined[direction]
            recent = (~self.consumed) & (self.d_done == direction) & (t - self.t_done <= self.rules.coincidence_s + tol)
            members = now | recent
            new = members if self.area[members].sum() >= self.rules.area_share - tol else None
            out.append((direction, join, new))
        return out

    def firing(self, completed: np.ndarray, dirs: np.ndarray, t: float) -> list[int]:
        """Directions (+1 brighter, -1 darker) that would make a new screen transition at time t."""
        return [d for d, _, new in self._evaluate(completed, dirs, t) if new is not None]

    def in_window(self, t: float) -> int:
        """Screen transitions in the window that ends at time t (inclusive)."""
        # A hair longer than the window, so float error in frame times can only make us stricter.
        horizon = t - self.rules.window_s - 1e-6
        while self.events and self.events[0] <= horizon:
            self.events.popleft()
        return len(self.events)

    def commit(self, completed: np.ndarray, dirs: np.ndarray, t: float) -> None:
        """Record what the output actually did at time t."""
        outcome = self._evaluate(completed, dirs, t)
        self.t_done[completed] = t
        self.d_done[completed] = dirs[completed]
        self.consumed[completed] = False
        for direction, join, new in outcome:
            self.consumed |= join
            self.joined[direction] |= join
            if new is not None:
                self.events.append(t)
                self.consumed |= new
                self.open_until[direction] = t + self.rules.coincidence_s
                self.joined[direction] = new.copy()


@dataclass(frozen=True)
class Damping:
    """The limiter's decision for one frame. Any thread.

    Attributes:
        weights: per tile, the fraction (0..1) of the change toward the new frame that may pass;
            1.0 leaves the tile untouched.
        relight: per tile, True when a damped tile may show the new frame scaled down to the
            allowed brightness (motion and colour stay live) instead of blending with the
            previous output; False where a red limit applies.
    """

    weights: np.ndarray
    relight: np.ndarray


def _fraction_within(tracker: _RunTracker, x: np.ndarray, limit: float, pad: float) -> np.ndarray:
    """Per tile, the largest fraction of the step last -> x that completes no transition."""
    lo, hi = tracker.allowed(limit, pad)
    last = tracker.last
    # The previous value may itself sit outside (lo, hi) after a measured overshoot: never
    # push it back, only hold it.
    target = np.clip(x, np.minimum(lo, last), np.maximum(hi, last))
    change = x - last
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(np.abs(change) > 1e-12, (target - last) / change, 1.0)
    return np.clip(w, 0.0, 1.0)


class FlashLimiter:
    """The flash rules on a tile grid: decides how much of each tile's change may pass.

    Pure numpy, no GL. One thread owns an instance (the render thread in `FlashGuard`). Per
    frame, call `decide` with the new frame's tile values, render the output with the returned
    weights, then `commit` the tile values of what was actually shown.

    Args:
        area: area share of each tile (sums to 1), flattened in the same order as the values.
        rules: thresholds (defaults: WCAG 2.3.1 / BT.1702).
    """

    def __init__(self, area: np.ndarray, rules: FlashRules | None = None) -> None:
        self.rules = rules or FlashRules()
        area = np.asarray(area, dtype=np.float64).ravel()
        if area.size == 0 or not np.all(area >= 0) or not math.isclose(area.sum(), 1.0, rel_tol=1e-6):
            raise FlashGuardError("tile areas must be non-negative and sum to 1")
        self.area = area
        r = self.rules
        self._lum = _RunTracker(area.size, r.general_delta, r.dark_limit, 0.1 * r.general_delta)
        self._red = _RunTracker(area.size, r.red_delta, np.inf, 0.1 * r.red_delta)
        self._lum_events = _ScreenTransitions(area, r)
        self._red_events = _ScreenTransitions(area, r)

    def reset(self) -> None:
        """Forget all history: the screen is taken to have been black, as before a show.

        Counting the first frame as a change from black can only over-count (by one), never
        miss a real transition.
        """
        zeros = np.zeros(self.area.size)
        self._lum.reset(zeros)
        self._red.reset(zeros)
        self._lum_events.reset()
        self._red_events.reset()

    def decide(self, lum: np.ndarray, red: np.ndarray, t: float) -> Damping:
        """How much of each tile's change may pass at time t, given the new frame's tile values.

        A tile is damped only when it takes part in a screen transition that would exceed the
        allowed count in the trailing window; its change is then cut to just under the threshold
        (toward the previous output).
        """
        lum = np.asarray(lum, dtype=np.float64).ravel()
        red = np.asarray(red, dtype=np.float64).ravel()
        n = self.area.size
        weights = np.ones(n)
        relight = np.ones(n, dtype=bool)
        r = self.rules
        for tracker, events, x, delta, pad, is_red in (
                (self._lum, self._lum_events, lum, r.general_delta, r.margin * r.general_delta, False),
                (self._red, self._red_events, red, r.red_delta, 0.0, True)):
            _, completed, dirs = tracker.step(x)
            fired = events.firing(completed, dirs, t)
            if not fired:
                continue
            left = r.max_transitions - events.in_window(t)
            limit_mask = np.zeros(n, dtype=bool)
            for direction in fired:
                if left > 0:
                    left -= 1
                else:
                    limit_mask |= completed & (dirs == direction)
            if not limit_mask.any():
                continue
            w = _fraction_within(tracker, x, delta * (1.0 - r.margin), pad)
            weights = np.where(limit_mask, np.minimum(weights, w), weights)
            if is_red:
                # Re-lighting keeps the new frame's colour, so it cannot limit a red change.
                relight &= ~limit_mask
        # Re-lighting scales the new frame; check that the scaled red value completes no red
        # transition, else anchor that tile on the previous output.
        damped = weights < 1.0
        if damped.any():
            target = self._lum.last + weights * (lum - self._lum.last)
            with np.errstate(divide="ignore", invalid="ignore"):
                gain = np.where(lum > 1e-6, np.clip(target / lum, 0.0, 1.0), 1.0)
            lo, hi = self._red.allowed(r.red_delta * (1.0 - r.margin), 0.0)
            last = self._red.last
            pred = red * gain
            relight &= ~damped | ((pred >= np.minimum(lo, last)) & (pred <= np.maximum(hi, last)))
        return Damping(weights, relight)

    def commit(self, lum: np.ndarray, red: np.ndarray, t: float) -> None:
        """Record the tile values of the frame that was actually shown at time t."""
        lum = np.asarray(lum, dtype=np.float64).ravel()
        red = np.asarray(red, dtype=np.float64).ravel()
        for tracker, events, y in ((self._lum, self._lum_events, lum), (self._red, self._red_events, red)):
            completed, dirs = tracker.commit(y)
            events.commit(completed, dirs, t)

    def exceeds(self, lum: np.ndarray, red: np.ndarray, t: float) -> bool:
        """Whether showing a frame with these tile values at time t would break the limit."""
        for tracker, events, y in ((self._lum, self._lum_events, lum), (self._red, self._red_events, red)):
            _, completed, dirs = tracker.step(np.asarray(y, dtype=np.float64).ravel())
            fired = events.firing(completed, dirs, t)
            if fired and len(fired) > self.rules.max_transitions - events.in_window(t):
                return True
        return False

    @property
    def shown(self) -> tuple[np.ndarray, np.ndarray]:
        """(luminance, red value) per tile of the last committed frame (copies)."""
        return self._lum.last.copy(), self._red.last.copy()

    def counts(self, t: float) -> tuple[int, int]:
        """(general, red) screen transitions in the window ending at time t."""
        return self._lum_events.in_window(t), self._red_events.in_window(t)

    def may_damp_next(self, t: float) -> bool:
        """Whether the next frame could need damping (so the previous output must be kept).

        At most two screen transitions (one per direction) per kind can happen in one frame and
        old ones only leave the window, so with two or more left for both kinds nothing can be
        damped next frame.
        """
        g, red = self.counts(t)
        return self.rules.max_transitions - max(g, red) < 2


def tile_edges(length: int, tiles: int) -> np.ndarray:
    """Pixel edges of `tiles` tiles over `length` pixels (integer division, as the shader does)."""
    return (np.arange(tiles + 1) * length) // tiles


def tile_areas(size: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """Area share of each tile, rows bottom-up (GL order), flattened row-major."""
    wx = np.diff(tile_edges(size[0], grid[0]))
    wy = np.diff(tile_edges(size[1], grid[1]))
    return (np.outer(wy, wx) / float(size[0] * size[1])).ravel()


def erode_weights(weights: np.ndarray) -> np.ndarray:
    """Minimum over each tile's 3x3 neighbourhood (edges repeat). Any thread.

    The blend pass interpolates weights bilinearly between tile centres so no seams show; a
    pixel of tile i then mixes the weights of i and its neighbours. Taking the neighbourhood
    minimum first guarantees no pixel of a damped tile gets more of the new frame than its own
    weight allows. Neighbours get damped a little too, which is harmless: mixing toward the
    previous output only ever shrinks a change.
    """
    padded = np.pad(weights, 1, mode="edge")
    rows, cols = weights.shape
    views = [padded[dy:dy + rows, dx:dx + cols] for dy in range(3) for dx in range(3)]
    return np.minimum.reduce(views)


# Cheap sRGB transfer functions (llvmpipe spends most of a pass on pow()): a cubic for decoding
# (within 0.0017 of the exact curve) and a three-square-root fit for encoding (within 3/255).
# Precise enough to measure flashes against a 0.1 threshold and to draw damped pixels; pixels
# the guard does not damp are copied bit-exactly and never go through them.
_SRGB = """
vec3 srgb_decode(vec3 c) {
    c = clamp(mix(c, vec3(0.0), isnan(c)), 0.0, 1.0);
    return c * (c * (c * 0.305306011 + 0.682171111) + 0.012522878);
}
vec3 srgb_encode(vec3 c) {
    vec3 s1 = sqrt(clamp(c, 0.0, 1.0));
    vec3 s2 = sqrt(s1);
    vec3 s3 = sqrt(s2);
    return clamp(0.585122381 * s1 + 0.783140355 * s2 - 0.368262736 * s3, 0.0, 1.0);
}
"""

# Sums over a block of source texels. DECODE=1: the source is the picture; each pixel adds
# (relative luminance, saturated-red value, 1). DECODE=0: the source holds such sums already.
_MEASURE_FRAGMENT = """
out vec4 f_sum;
uniform sampler2D u_src;
uniform ivec2 u_src_size;
uniform ivec2 u_dst_size;
""" + _SRGB + """
void main() {
    ivec2 cell = ivec2(gl_FragCoord.xy);
    ivec2 lo = cell * u_src_size / u_dst_size;
    ivec2 hi = (cell + 1) * u_src_size / u_dst_size;
    vec3 acc = vec3(0.0);
    for (int y = lo.y; y < hi.y; ++y) {
        for (int x = lo.x; x < hi.x; ++x) {
#if DECODE
            vec3 c = srgb_decode(texelFetch(u_src, ivec2(x, y), 0).rgb);
            float sum = c.r + c.g + c.b;
            // Saturated red: R / (R + G + B) >= 0.8, valued by how much red exceeds G + B.
            float red = (sum > 0.0 && c.r >= 0.8 * sum) ? max(c.r - c.g - c.b, 0.0) : 0.0;
            acc += vec3(dot(c, vec3(0.2126, 0.7152, 0.0722)), red, 1.0);
#else
            acc += texelFetch(u_src, ivec2(x, y), 0).rgb;
#endif
        }
    }
    f_sum = vec4(acc, 0.0);
}
"""

# Damping parameters per block (small pass): r = weight of the new frame (per tile, interpolated
# between tile centres so no seams show), g = previous output's luminance, b = new frame's
# luminance, a = whether the tile may re-light (no red limit applies).
_PARAMS_FRAGMENT = """
#version 330 core
in vec2 v_uv;
out vec4 f_params;
uniform sampler2D u_damp;         // per tile: r = weight, g = may re-light (linear filtering)
uniform sampler2D u_blocks_src;   // block sums (luminance, red, count) of the new frame
uniform sampler2D u_blocks_prev;  // block sums of the previous output
void main() {
    ivec2 b = ivec2(gl_FragCoord.xy);
    vec2 damp = texture(u_damp, v_uv).rg;
    vec4 bs = texelFetch(u_blocks_src, b, 0);
    vec4 bp = texelFetch(u_blocks_prev, b, 0);
    f_params = vec4(damp.r, bp.x / max(bp.z, 1.0), bs.x / max(bs.z, 1.0), damp.g);
}
"""

_BLEND_FRAGMENT = """
#version 330 core
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_src;
uniform sampler2D u_prev;     // the previous output
uniform sampler2D u_params;   // per block, linear filtering (see _PARAMS_FRAGMENT)
uniform float u_relight;      // 0 anchors every damped pixel on the previous output
""" + _SRGB + """
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec3 s = texelFetch(u_src, p, 0).rgb;
    vec4 k = texture(u_params, v_uv);
    if (k.r >= 1.0) {
        // Untouched pixels stay bit-exact copies of the program picture.
        f_color = vec4(clamp(mix(s, vec3(0.0), isnan(s)), 0.0, 1.0), 1.0);
        return;
    }
    vec3 cur = srgb_decode(s);
    // The anchor is as bright as the previous output here. Where the new frame is brighter it
    // is the new frame scaled down to that brightness (motion and colour stay live); where it
    // is darker (scaling up would clip) it is the previous output itself.
    float ratio = k.g / max(k.b, 1e-6);
    float relight = u_relight * k.a * (1.0 - smoothstep(1.0, 1.05, ratio)) * step(1e-4, k.b);
    vec3 anchor = mix(srgb_decode(texelFetch(u_prev, p, 0).rgb), cur * min(ratio, 1.0), relight);
    // Mix in linear light, so the tile's luminance moves by the chosen fraction of its change.
    f_color = vec4(srgb_encode(mix(anchor, cur, clamp(k.r, 0.0, 1.0))), 1.0);
}
"""


class FlashGuard:
    """Limits flashes of the program picture to at most 3 per second. Render thread only.

    `process` copies the program picture into the output framebuffer, damping the tiles that
    would flash too often. Cost per frame: two small measuring passes and a readback of the tile
    grid, plus the full-size copy or blend pass; a damped frame adds a copy into the history
    texture and a second measurement of what was shown.

    Args:
        ctx: the render thread's GL context.
        size: picture size (width, height) in pixels; `process` requires src and dst of this size.
        fps_hint: frame rate assumed when `process` gets a dt that is not a positive number.
        enabled: start on (the default) or off; see `enabled`.
        grid: tiles (columns, rows) for the measurement and the damping.
        rules: thresholds (defaults: WCAG 2.3.1 / BT.1702; see FlashRules).
        parts: registry that gets the guard's state ("ok: on" or "degraded: flash guard off").
    """

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], fps_hint: float = 60, enabled: bool = True,
                 *, grid: tuple[int, int] = DEFAULT_GRID, rules: FlashRules | None = None,
                 parts: PartRegistry | None = None) -> None:
        try:
            w, h = (int(v) for v in size)
            gx, gy = (int(v) for v in grid)
        except (TypeError, ValueError):
            raise FlashGuardError(f"flash guard size {size!r} and grid {grid!r} must be pairs of integers") from None
        if w < 1 or h < 1:
            raise FlashGuardError(f"flash guard size {w}x{h} must be at least 1x1")
        if gx < 1 or gy < 1:
            raise FlashGuardError(f"flash guard grid {gx}x{gy} must be at least 1x1 tiles")
        if not (isinstance(fps_hint, (int, float)) and math.isfinite(fps_hint) and 1 <= fps_hint <= 1000):
            raise FlashGuardError(f"flash guard fps_hint {fps_hint!r} must be a number from 1 to 1000")
        self.ctx = ctx
        self.size = (w, h)
        # More tiles than pixels would leave empty tiles.
        self.grid = (min(gx, w), min(gy, h))
        self.fps_hint = float(fps_hint)
        self.parts = parts
        self.limiter = FlashLimiter(tile_areas(self.size, self.grid), rules)
        self._time = 0.0
        self._history_valid = True  # starts black, like the output before the first frame
        self._build()
        self._enabled = bool(enabled)
        self._report_state()

    # -- GL objects -----------------------------------------------------------------------------
    def _build(self) -> None:
        ctx, (w, h), (gx, gy) = self.ctx, self.size, self.grid
        # First pass: blocks of about _BLOCK_PX x _BLOCK_PX pixels, a whole number per tile so
        # tile edges fall on block edges (both use the same integer division).
        kx = max(1, min(w // gx, round(w / (gx * _BLOCK_PX))))
        ky = max(1, min(h // gy, round(h / (gy * _BLOCK_PX))))
        self._block_size = (gx * kx, gy * ky)
        self._progs = {}
        for name, decode in (("blocks", 1), ("tiles", 0)):
            src = f"#version 330 core\n#define DECODE {decode}\n" + _MEASURE_FRAGMENT
            self._progs[name] = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=src)
        self._progs["params"] = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_PARAMS_FRAGMENT)
        self._progs["blend"] = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_BLEND_FRAGMENT)
        for prog_name, units in (("params", ("u_damp", "u_blocks_src", "u_blocks_prev")),
                                 ("blend", ("u_src", "u_prev", "u_params"))):
            for unit, name in enumerate(units):
                self._progs[prog_name][name].value = unit
        self._vaos = {name: ctx.vertex_array(prog, []) for name, prog in self._progs.items()}
        self._src_fbos: dict[int, tuple[moderngl.Texture, moderngl.Framebuffer]] = {}

        def target(tex_size, components, dtype, filt):
            tex = ctx.texture(tex_size, components, dtype=dtype)
            tex.filter = (filt, filt)
            tex.repeat_x = tex.repeat_y = False
            return tex, ctx.framebuffer(color_attachments=[tex])

        # Two block buffers: the new frame's and the previous output's (they swap every frame).
        self._blocks = [target(self._block_size, 4, "f4", moderngl.NEAREST) for _ in range(2)]
        for _, fbo in self._blocks:
            fbo.clear(0.0, 0.0, 0.0, 0.0)
        self._prev_slot = 0
        self._tiles_tex, self._tiles_fbo = target(self.grid, 4, "f4", moderngl.NEAREST)
        # The previous output and the one being made (they swap when a frame is kept).
        self._history = [target(self.size, 4, "f1", moderngl.NEAREST) for _ in range(2)]
        for _, fbo in self._history:
            fbo.clear(0.0, 0.0, 0.0, 1.0)
        self._hist_slot = 0
        self._params_tex, self._params_fbo = target(self._block_size, 4, "f4", moderngl.LINEAR)
        self._damp_tex = ctx.texture(self.grid, 2, dtype="f4")
        self._damp_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._damp_tex.repeat_x = self._damp_tex.repeat_y = False

    def _measure(self, src: moderngl.Texture, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean relative luminance and saturated-red value per tile of `src` (GPU, tiny readback).

        The block sums stay in block buffer `slot` for the blend pass.
        """
        ctx = self.ctx
        ctx.disable(moderngl.BLEND)
        blocks_tex, blocks_fbo = self._blocks[slot]
        for prog_name, tex_in, in_size, fbo, out_size in (
                ("blocks", src, self.size, blocks_fbo, self._block_size),
                ("tiles", blocks_tex, self._block_size, self._tiles_fbo, self.grid)):
            prog = self._progs[prog_name]
            prog["u_src_size"].value = in_size
            prog["u_dst_size"].value = out_size
            fbo.use()
            tex_in.use(0)
            self._vaos[prog_name].render(moderngl.TRIANGLES, vertices=3)
        sums = np.frombuffer(self._tiles_fbo.read(components=4, dtype="f4"), dtype=np.float32)
        sums = sums.reshape(-1, 4).astype(np.float64)
        count = np.maximum(sums[:, 2], 1.0)
        return sums[:, 0] / count, sums[:, 1] / count

    def _copy(self, src: moderngl.Texture, dst: moderngl.Framebuffer) -> None:
        """Copy the picture unchanged: a framebuffer blit (on llvmpipe about 20 times cheaper
        than a full-size draw), through a small cache of framebuffers around source textures."""
        hit = self._src_fbos.get(id(src))
        if hit is None or hit[0] is not src:
            if len(self._src_fbos) >= 4:  # the engine alternates between a few textures
                _, (_, old) = self._src_fbos.popitem()
                release_framebuffers(self.ctx, old)
            hit = self._src_fbos[id(src)] = (src, self.ctx.framebuffer(color_attachments=[src]))
        self.ctx.copy_framebuffer(dst, hit[1])

    def _blend(self, src: moderngl.Texture, dst: moderngl.Framebuffer, slot: int, *,
               relight: bool) -> tuple[np.ndarray, np.ndarray]:
        """Draw the damped frame into dst, keep it as the previous output, measure it."""
        self._progs["blend"]["u_relight"].value = 1.0 if relight else 0.0
        src.use(0)
        self._history[self._hist_slot][0].use(1)
        self._params_tex.use(2)
        self._draw("blend", dst)
        shown = self._history[1 - self._hist_slot][0]
        self.ctx.copy_framebuffer(shown, dst)
        # Account for what was actually shown, not for what was intended.
        return self._measure(shown, slot)

    def _draw(self, name: str, fbo: moderngl.Framebuffer) -> None:
        fbo.use()
        self.ctx.disable(moderngl.BLEND)
        self._vaos[name].render(moderngl.TRIANGLES, vertices=3)

    # -- public ---------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        """Whether the guard damps flashes. Render thread.

        Switching it off (a per-show decision, e.g. for a venue that handles flashes itself)
        logs a WARNING and reports the part as degraded ("flash guard off"); switching it back
        on starts with fresh history (as if the screen had been black).
        """
        return self._enabled

    @enabled.setter
    def enabled(self, on: bool) -> None:
        on = bool(on)
        if on == self._enabled:
            return
        self._enabled = on
        if on:
            self.limiter.reset()
            self._history_valid = False
        self._report_state()

    def _report_state(self) -> None:
        if self._enabled:
            log.info("flash guard on: at most %d flashes per second over %.0f%% of the screen",
                     self.limiter.rules.max_flashes, 100 * self.limiter.rules.area_share)
            if self.parts is not None:
                self.parts.ok(PART, "on")
        else:
            log.warning("flash guard OFF: the program output is not limited to 3 flashes per "
                        "second (WCAG 2.3.1); flashing content can trigger seizures")
            if self.parts is not None:
                self.parts.degraded(PART, "flash guard off")

    def process(self, src: moderngl.Texture, dst: moderngl.Framebuffer, dt: float) -> GuardStats:
        """Write `src` into `dst`, damping flashes. Render thread.

        Args:
            src: the program picture (RGBA8 or RGBA16F, sRGB-encoded values, opaque), `size`.
            dst: the output framebuffer, `size`; every pixel is written.
            dt: seconds since the previous frame; a value that is not a positive finite number
                counts as 1 / fps_hint (the engine's first frame has dt = 0).

        Raises:
            FlashGuardError: src or dst is not the guard's size.
        """
        if tuple(src.size) != self.size or tuple(dst.size) != self.size:
            raise FlashGuardError(f"flash guard is {self.size[0]}x{self.size[1]} but got a source of "
                                  f"{src.size[0]}x{src.size[1]} and an output of {dst.size[0]}x{dst.size[1]}")
        step = dt if isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0 else 1.0 / self.fps_hint
        self._time += step
        t = self._time
        if not self._enabled:
            self._copy(src, dst)
            return GuardStats(enabled=False)
        cur_slot = 1 - self._prev_slot
        lum, red = self._measure(src, cur_slot)
        decision = self.limiter.decide(lum, red, t)
        damped_share, min_weight = 0.0, 1.0
        damping = decision.weights.min() < 1.0
        if damping and not self._history_valid:
            # Cannot happen by may_damp_next's reasoning; if it ever does, show the frame.
            log.error("flash guard: damping needed without a previous output; frame passed")
            damping = False
        if damping:
            rows, cols = self.grid[1], self.grid[0]
            weights = erode_weights(decision.weights.reshape(rows, cols))
            relight = erode_weights(decision.relight.reshape(rows, cols).astype(np.float64))
            self._damp_tex.write(np.ascontiguousarray(np.stack([weights, relight], axis=-1), dtype=np.float32))
            self._damp_tex.use(0)
            self._blocks[cur_slot][0].use(1)
            self._blocks[self._prev_slot][0].use(2)
            self._draw("params", self._params_fbo)
            lum, red = self._blend(src, dst, cur_slot, relight=True)
            if self.limiter.exceeds(lum, red, t):
                # Re-lighting interpolates brightness between blocks and can overshoot where
                # flashing and steady areas meet; anchoring on the previous output cannot
                # (it only shrinks each pixel's change).
                lum, red = self._blend(src, dst, cur_slot, relight=False)
            self._hist_slot = 1 - self._hist_slot
            flat = weights.ravel()
            damped_share = float(self.limiter.area[flat < 1.0].sum())
            min_weight = float(flat.min())
        else:
            self._copy(src, dst)
        self._prev_slot = cur_slot
        self.limiter.commit(lum, red, t)
        # The previous output is needed only when the next frame might be damped: skip the
        # full-size copy otherwise (the common case).
        if not damping:
            if self.limiter.may_damp_next(t):
                self._hist_slot = 1 - self._hist_slot
                self.ctx.copy_framebuffer(self._history[self._hist_slot][0], dst)
                self._history_valid = True
            else:
                self._history_valid = False
        general, red_count = self.limiter.counts(t)
        return GuardStats(True, damped_share, min_weight, general, red_count)

    def release(self) -> None:
        """Free the GL objects. Render thread."""
        for vao in self._vaos.values():
            vao.release()
        for prog in self._progs.values():
            prog.release()
        pairs = [*self._blocks, *self._history, (self._tiles_tex, self._tiles_fbo),
                 (self._params_tex, self._params_fbo)]
        release_framebuffers(self.ctx, *(fbo for _, fbo in pairs), *(tex for tex, _ in pairs), self._damp_tex)
        self._blocks.clear()
        self._history.clear()
        release_framebuffers(self.ctx, *(fbo for _, fbo in self._src_fbos.values()))
        self._src_fbos.clear()
        self._vaos.clear()
        self._progs.clear()

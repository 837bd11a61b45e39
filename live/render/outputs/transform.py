"""Per-output geometry: flip, rotate, fit and a perspective-correct corner-pin (keystone).

A projector rarely sits square to its screen, and rigs mount projectors upside down or sideways,
so every output maps the program picture onto its own framebuffer through one 3x3 matrix:

    output point (x right, y down, 0..1 of the output)
      -> inverse corner-pin homography -> undo rotation -> undo flip -> texture uv

The corner-pin is a homography (computed in numpy from the four corners), evaluated per pixel in
the fragment shader with a divide by w. That is perspective-correct: straight lines stay straight
and the picture's centre lands where the pinned quad's diagonals cross, which a bilinear warp of
the corners would get wrong.

`OutputTransform` and the matrix maths are plain Python (any thread). `TransformPass` draws with
GL and runs on the thread that owns its context (the render thread).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import moderngl
import numpy as np

from live.render.compositor import FULLSCREEN_VERTEX

#: Allowed values of `OutputTransform.rotate` (degrees, clockwise as seen on the output).
ROTATIONS = (0, 90, 180, 270)
#: How the picture is scaled into the output when no corner-pin is given.
FITS = ("contain", "cover", "stretch")
#: Corner-pin coordinates may reach this far outside the output (normalised units), so a
#: projector can overscan; further out is almost certainly a typo.
CORNER_LIMIT = 4.0
#: Names of the four corners, in the order `corners` lists them.
CORNER_NAMES = ("top-left", "top-right", "bottom-right", "bottom-left")

Point = tuple[float, float]


class OutputConfigError(ValueError):
    """An output setting is invalid; the message names the output, the key and what is allowed."""


@dataclass(frozen=True)
class OutputTransform:
    """Where and how the program picture lands on one output.

    Attributes:
        flip_h: mirror left-right (rear projection).
        flip_v: mirror top-bottom.
        rotate: 0, 90, 180 or 270 degrees clockwise (a projector on its side or ceiling).
        fit: "contain" (letterbox, keep aspect), "cover" (fill, crop) or "stretch"; ignored when
            `corners` is given.
        corners: the four picture corners (top-left, top-right, bottom-right, bottom-left) in
            normalised output coordinates: (0, 0) is the output's top-left, (1, 1) its
            bottom-right. None means "fit the whole output".
    """

    flip_h: bool = False
    flip_v: bool = False
    rotate: int = 0
    fit: str = "contain"
    corners: tuple[Point, Point, Point, Point] | None = None

    def __post_init__(self) -> None:
        check_transform(self, "output")

    @property
    def quarter_turns(self) -> int:
        """Clockwise quarter turns (0..3)."""
        return self.rotate // 90


def check_transform(t: OutputTransform, where: str) -> None:
    """Raise OutputConfigError naming `where` and the key when `t` holds an invalid value."""
    if not isinstance(t.flip_h, bool) or not isinstance(t.flip_v, bool):
        raise OutputConfigError(f"{where}: flip_h and flip_v must be true or false")
    if t.rotate not in ROTATIONS or isinstance(t.rotate, bool):
        raise OutputConfigError(f"{where}: rotate = {t.rotate!r} is not allowed; use one of "
                                f"{', '.join(map(str, ROTATIONS))} (degrees clockwise)")
    if t.fit not in FITS:
        raise OutputConfigError(f"{where}: fit = {t.fit!r} is not allowed; use one of {', '.join(FITS)}")
    if t.corners is not None:
        check_corners(t.corners, where)


def check_corners(corners: Any, where: str) -> None:
    """Validate a corner-pin: four finite (x, y) pairs forming a convex, non-degenerate quad."""
    hint = ("four [x, y] pairs: top-left, top-right, bottom-right, bottom-left, in output "
            "coordinates where [0, 0] is the top-left and [1, 1] the bottom-right")
    try:
        pts = [(float(x), float(y)) for x, y in corners]
    except (TypeError, ValueError):
        raise OutputConfigError(f"{where}: corners must be {hint}") from None
    if len(pts) != 4:
        raise OutputConfigError(f"{where}: corners has {len(pts)} points; it must be {hint}")
    for name, (x, y) in zip(CORNER_NAMES, pts):
        if not (math.isfinite(x) and math.isfinite(y)):
            raise OutputConfigError(f"{where}: corner {name} ({x}, {y}) is not a finite number")
        if abs(x) > CORNER_LIMIT or abs(y) > CORNER_LIMIT:
            raise OutputConfigError(f"{where}: corner {name} ({x:g}, {y:g}) is outside "
                                    f"-{CORNER_LIMIT:g}..{CORNER_LIMIT:g}")
    # Convex and consistently wound: every turn has the same sign and none is (near) zero.
    turns = []
    for i in range(4):
        (ax, ay), (bx, by), (cx, cy) = pts[i], pts[(i + 1) % 4], pts[(i + 2) % 4]
        turns.append((bx - ax) * (cy - by) - (by - ay) * (cx - bx))
    if not (all(t > 1e-6 for t in turns) or all(t < -1e-6 for t in turns)):
        raise OutputConfigError(f"{where}: corners {pts} do not form a convex quad (are two corners "
                                f"swapped or three in a line?); give them in the order {', '.join(CORNER_NAMES)}")


def homography(src: Sequence[Point], dst: Sequence[Point]) -> np.ndarray:
    """The 3x3 projective map taking the four `src` points to the four `dst` points.

    Solves the standard 8x8 linear system (h33 = 1) in float64. Any thread.

    Raises:
        ValueError: the points are degenerate (three in a line), so no unique map exists.
    """
    for points in (src, dst):
        p = np.asarray(points, dtype=np.float64)
        for i in range(4):
            a_, b_, c_ = p[i], p[(i + 1) % 4], p[(i + 2) % 4]
            if abs((b_[0] - a_[0]) * (c_[1] - a_[1]) - (b_[1] - a_[1]) * (c_[0] - a_[0])) < 1e-12:
                raise ValueError(f"no homography maps {list(src)} to {list(dst)}: degenerate points "
                                 "(three in a line)")
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for i, ((x, y), (u, v)) in enumerate(zip(src, dst)):
        a[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        b[2 * i], b[2 * i + 1] = u, v
    try:
        h = np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise ValueError(f"no homography maps {list(src)} to {list(dst)}: degenerate points") from None
    return np.append(h, 1.0).reshape(3, 3)


def apply_homography(m: np.ndarray, points: Sequence[Point]) -> np.ndarray:
    """Map (n, 2) points through the 3x3 matrix `m` (with the divide by w). Any thread."""
    p = np.column_stack([np.asarray(points, dtype=np.float64), np.ones(len(points))])
    q = p @ m.T
    return q[:, :2] / q[:, 2:3]


_UNIT_SQUARE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


def fit_corners(picture_size: tuple[int, int], output_size: tuple[int, int], fit: str,
                quarter_turns: int = 0) -> tuple[Point, Point, Point, Point]:
    """Corners of the picture's rectangle in normalised output coordinates for a fit mode.

    `picture_size` is the render size before rotation; a quarter turn swaps its aspect. Any thread.
    """
    pw, ph = picture_size
    if quarter_turns % 2:
        pw, ph = ph, pw
    ow, oh = output_size
    if fit == "stretch" or pw * oh == ph * ow:
        return _UNIT_SQUARE
    scale = (min if fit == "contain" else max)(ow / pw, oh / ph)
    w, h = pw * scale / ow, ph * scale / oh  # share of the output covered
    x0, y0 = (1.0 - w) / 2.0, (1.0 - h) / 2.0
    return ((x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h))


def _affine(a: float, b: float, c: float, d: float, e: float, f: float) -> np.ndarray:
    return np.array([[a, b, c], [d, e, f], [0.0, 0.0, 1.0]])


def output_to_texture(t: OutputTransform, picture_size: tuple[int, int],
                      output_size: tuple[int, int]) -> np.ndarray:
    """The 3x3 matrix from an output point (x right, y down, 0..1) to the picture's texture uv.

    Texture uv has v up (row 0 of a GL texture is the picture's bottom row). Points whose uv falls
    outside 0..1, or whose w is not positive, are outside the picture. The matrix is scaled so
    that w > 0 inside the pinned quad. Any thread.
    """
    corners = t.corners if t.corners is not None else fit_corners(
        picture_size, output_size, t.fit, t.quarter_turns)
    pin = homography(_UNIT_SQUARE, corners)           # oriented picture square -> output
    # Rotation r (y down, clockwise) maps picture points to the oriented square; we need r^-1.
    turn = t.quarter_turns
    rot_inv = {0: _affine(1, 0, 0, 0, 1, 0),
               1: _affine(0, 1, 0, -1, 0, 1),          # inverse of (x, y) -> (1 - y, x)
               2: _affine(-1, 0, 1, 0, -1, 1),
               3: _affine(0, -1, 1, 1, 0, 0)}[turn]     # inverse of (x, y) -> (y, 1 - x)
    flip = _affine(-1 if t.flip_h else 1, 0, 1 if t.flip_h else 0,
                   0, -1 if t.flip_v else 1, 1 if t.flip_v else 0)  # its own inverse
    to_uv = _affine(1, 0, 0, 0, -1, 1)
    m = to_uv @ flip @ rot_inv @ np.linalg.inv(pin)
    centre = np.append(np.mean(np.asarray(corners), axis=0), 1.0)
    if (m @ centre)[2] < 0:
        m = -m
    return m / np.abs(m).max()


_TRANSFORM_FRAGMENT = """
#version 330 core
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_picture;
uniform mat3 u_map;   // output point (y down) -> texture uv, projective
void main() {
    vec3 q = u_map * vec3(v_uv.x, 1.0 - v_uv.y, 1.0);
    vec2 uv = q.xy / q.z;
    // Outside the pinned quad (or behind the projective horizon) the output stays black.
    bool inside = q.z > 0.0 && all(greaterThanEqual(uv, vec2(0.0))) && all(lessThanEqual(uv, vec2(1.0)));
    f_color = inside ? vec4(texture(u_picture, uv).rgb, 1.0) : vec4(0.0, 0.0, 0.0, 1.0);
}
"""


class TransformPass:
    """Draws a picture texture into a framebuffer through an `OutputTransform`.

    One full-screen triangle; one program per GL context. Runs on the thread that owns `ctx`
    (the render thread).
    """

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self._prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_TRANSFORM_FRAGMENT)
        self._vao = ctx.vertex_array(self._prog, [])
        self._matrices: dict[Any, bytes] = {}  # (transform, sizes) -> uniform bytes

    def draw(self, picture: moderngl.Texture, fbo: moderngl.Framebuffer, transform: OutputTransform,
             picture_size: tuple[int, int] | None = None,
             viewport: tuple[int, int, int, int] | None = None) -> None:
        """Draw `picture` into `fbo` (or its `viewport` x, y, w, h) through `transform`."""
        size = tuple(picture_size or picture.size)
        vp = viewport or (0, 0, *fbo.size)
        key = (transform, size, vp[2:])
        matrix = self._matrices.get(key)
        if matrix is None:
            if len(self._matrices) > 16:  # window resizes: keep the cache small
                self._matrices.clear()
            m = output_to_texture(transform, size, (vp[2], vp[3]))
            # GLSL mat3 is column-major: the transpose's rows are m's columns.
            matrix = self._matrices[key] = m.T.astype("f4").tobytes()
        fbo.use()
        fbo.viewport = vp
        self._prog["u_map"].write(matrix)
        self._prog["u_picture"] = 0
        picture.use(0)
        self.ctx.disable(moderngl.BLEND)
        self._vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        """Free the program (render thread)."""
        self._vao.release()
        self._prog.release()

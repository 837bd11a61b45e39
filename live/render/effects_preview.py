"""Render warps and effects over the standard test picture: for tests, benchmarks and the
contact sheet (docs/effects.png, `echoel effects --sheet PNG`).

The standard test picture is made in numpy, so it is identical everywhere and needs no file:
a colour gradient (hue across, brightness down), a grid of thin dark lines that shows every warp,
a white disc that moves slowly round an orbit (so feedback and frame-history effects have
motion to work on), a dark square and a black-and-white checker patch.

An :class:`EffectPreview` drives one effect the way a layer's effect chain does (the picture
bound to ``inputImage``, the effect's previous output as PREV_FRAME, a fixed frame rate and
fixed audio values), with time injected by the caller. Render thread only, except
:func:`standard_picture` and :func:`preview_engine_values` (any thread).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import moderngl
import numpy as np

from live.render.context import create_headless_context, release_framebuffers
from live.render.effects_catalog import is_stateful, persistent_targets
from live.render.isf import IsfShader, load_isf
from live.render.program import EngineUniforms, IsfRenderer
from live.render.shader_source import resolve_shader_path

#: Audio and tempo values every preview frame gets, so audio-reactive parts show (and are tested)
#: deterministically: a steady groove at 120 BPM with an onset on the first frame of a run.
PREVIEW_AUDIO = {"bpm": 120.0, "rms": 0.45, "bass": 0.5, "mid": 0.35, "treb": 0.25, "onset": 0.7}
#: Frame rate of preview runs.
PREVIEW_FPS = 30.0
#: Clock time (seconds) of the last frame of a preview run.
PREVIEW_TIME = 1.55


def standard_picture(width: int, height: int, t: float = 0.0) -> np.ndarray:
    """The standard test picture as float32 RGBA (height, width, 4), top row first, opaque.

    ``t`` (seconds) moves the disc along its orbit (one turn in 8 s). Any thread.
    """
    if width < 1 or height < 1:
        raise ValueError(f"picture size {width}x{height} must be at least 1x1")
    # Pixel centres in picture heights, so shapes keep their proportions at any aspect.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    x = (xs + 0.5) / height
    y = (ys + 0.5) / height
    u = (xs + 0.5) / width
    v = (ys + 0.5) / height
    px = 1.0 / height  # one pixel in these units: edges are anti-aliased over one pixel

    hue = u * 0.85
    value = 0.95 - 0.55 * v
    rgb = _hsv(hue, np.full_like(hue, 0.75), value)

    # Grid lines every eighth of the height.
    period = 1.0 / 8.0
    dx = np.abs((x % period) - period / 2) - period / 2 + 0.35 * px
    dy = np.abs((y % period) - period / 2) - period / 2 + 0.35 * px
    line = np.clip(0.5 - np.minimum(-dx, -dy) / px, 0.0, 1.0) * 0.6
    rgb *= (1.0 - line)[..., None]

    aspect = width / height
    # A dark square, upper right.
    sq = np.maximum(np.abs(x - 0.72 * aspect), np.abs(y - 0.3)) - 0.12
    cover = np.clip(0.5 - sq / px, 0.0, 1.0)[..., None]
    rgb = rgb * (1 - cover) + np.array([0.08, 0.1, 0.35]) * cover
    # A black-and-white checker patch, lower left (cells of 1/24 of the height).
    in_patch = np.maximum(np.abs(x - 0.2 * aspect), np.abs(y - 0.78)) - 0.13
    checker = ((np.floor(x * 24) + np.floor(y * 24)) % 2)[..., None]
    patch = np.clip(0.5 - in_patch / px, 0.0, 1.0)[..., None]
    rgb = rgb * (1 - patch) + (0.1 + 0.8 * checker) * patch
    # A white disc on an orbit round the centre.
    angle = 2 * math.pi * t / 8.0
    cx, cy = 0.5 * aspect + 0.18 * math.cos(angle), 0.5 + 0.12 * math.sin(angle)
    disc = np.hypot(x - cx, y - cy) - 0.14
    cover = np.clip(0.5 - disc / px, 0.0, 1.0)[..., None]
    rgb = rgb * (1 - cover) + np.array([0.98, 0.96, 0.9]) * cover

    alpha = np.ones((height, width, 1))
    return np.concatenate([np.clip(rgb, 0.0, 1.0), alpha], axis=-1).astype(np.float32)


def _hsv(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    k = (h[..., None] * 6.0 + np.array([0.0, 4.0, 2.0])) % 6.0
    ramp = np.clip(np.abs(k - 3.0) - 1.0, 0.0, 1.0)
    return v[..., None] * (1.0 + s[..., None] * (ramp - 1.0))


def preview_engine_values(time: float, frame: int, fps: float = PREVIEW_FPS,
                          first_frame: int = 0) -> EngineUniforms:
    """Engine uniforms of preview frame ``frame`` at clock ``time`` (PREVIEW_AUDIO levels; the
    onset fires on ``first_frame`` only). Any thread."""
    bpm = PREVIEW_AUDIO["bpm"]
    beat = max(time, 0.0) * bpm / 60.0
    bands = tuple(0.6 * math.exp(-i / 6.0) + 0.1 for i in range(16))
    return EngineUniforms(
        time=time, timedelta=1.0 / fps, frame_index=frame, bpm=bpm, beat=beat,
        beat_phase=beat % 1.0, bar=beat / 4.0, bar_phase=(beat / 4.0) % 1.0,
        rms=PREVIEW_AUDIO["rms"], bass=PREVIEW_AUDIO["bass"], mid=PREVIEW_AUDIO["mid"],
        treb=PREVIEW_AUDIO["treb"], onset=PREVIEW_AUDIO["onset"] if frame == first_frame else 0.0,
        bands=bands)


class EffectPreview:
    """Runs one effect over a picture, as a layer's effect chain would. Render thread only.

    Args:
        ctx: The GL context.
        shader: The effect (an IsfShader with an ``inputImage``), or its name/path.
        size: Output size in pixels.
        moving: Feed the standard picture with its disc moving (frame by frame) instead of the
            still picture at t = 0; ignored when ``picture`` is given.
        picture: A fixed input picture, float RGBA (height, width, 4), top row first; default:
            the standard test picture.
    """

    def __init__(self, ctx: moderngl.Context, shader: IsfShader | str | Path,
                 size: tuple[int, int], *, moving: bool = False,
                 picture: np.ndarray | None = None) -> None:
        if not isinstance(shader, IsfShader):
            shader = load_isf(resolve_shader_path(str(shader)))
        if not any(i.name == "inputImage" and i.type == "image" for i in shader.inputs):
            raise ValueError(f"{shader.display_name} has no inputImage: it is not an effect")
        self.ctx = ctx
        self.shader = shader
        self.size = (int(size[0]), int(size[1]))
        self.stateful = is_stateful(shader)
        self.moving = moving and picture is None
        self._fixed_picture = picture
        self._renderer: IsfRenderer | None = None
        w, h = self.size
        # Half floats, like the engine's layer buffers; the input is a layer output too.
        self._input = ctx.texture((w, h), 4, dtype="f2")
        self._input.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._input.repeat_x = self._input.repeat_y = False
        self._targets = []
        for _ in range(2 if self.stateful else 1):
            tex = ctx.texture((w, h), 4, dtype="f4")
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = False
            self._targets.append((tex, ctx.framebuffer(color_attachments=[tex])))
        self._input_key: Any = None

    def input_picture(self, t: float = 0.0) -> np.ndarray:
        """The picture fed in at clock ``t``, exactly as the effect reads it (half-float
        rounded), top row first."""
        if self._fixed_picture is not None:
            pic = self._fixed_picture
        else:
            pic = standard_picture(*self.size, t if self.moving else 0.0)
        return pic.astype(np.float16).astype(np.float32)

    def _upload(self, t: float) -> None:
        key = ("fixed",) if (self._fixed_picture is not None or not self.moving) else ("t", t)
        if key != self._input_key:
            pic = self.input_picture(t)
            self._input.write(np.ascontiguousarray(pic[::-1], dtype=np.float16).tobytes())
            self._input_key = key

    def render(self, params: Mapping[str, Any] | None = None, frames: int | None = None,
               time: float = PREVIEW_TIME, fps: float = PREVIEW_FPS,
               engine: Mapping[str, Any] | None = None,
               final_params: Mapping[str, Any] | None = None) -> np.ndarray:
        """Render a run and return its last frame as float32 RGBA (height, width, 4), top row first.

        A run starts from a clean history (persistent targets and previous frames cleared) and
        renders ``frames`` frames (default: 24 for effects with a history, else 1) ending at
        clock ``time``, ``1/fps`` apart, with preview_engine_values. The first frame's TIMEDELTA
        is its clock time, as if the layer had run since time 0 in one long frame, so integrated
        rates (common/phase.glsl) arrive where TIME x rate would put them. ``params`` are
        validated against the header; ``final_params`` are set on top of them for the last frame
        only (a parameter that jumps on one frame, as jittery audio makes it); ``engine``
        overrides EngineUniforms fields on every frame.
        """
        values = self.shader.defaults()
        values.update(self.shader.validate_params(dict(params or {})))
        last = dict(values)
        last.update(self.shader.validate_params(dict(final_params or {})))
        if frames is None:
            frames = 24 if self.stateful else 1
        self._reset()
        current = 0
        for i in range(frames):
            t = time - (frames - 1 - i) / fps
            self._upload(t)
            uniforms = preview_engine_values(t, i, fps)
            if i == 0:
                uniforms.timedelta = max(t, 0.0)
            for key, value in (engine or {}).items():
                setattr(uniforms, key, value)
            if self.stateful:
                # The layer's previous output, as ShaderLayer binds it for feedback layers.
                uniforms.prev_frame = self._targets[current][0]
                current = 1 - current
            _, fbo = self._targets[current]
            self._renderer.render(fbo, self.size, last if i == frames - 1 else values,
                                  {"inputImage": self._input}, uniforms)
        w, h = self.size
        data = self._targets[current][1].read(components=4, dtype="f4")
        return np.frombuffer(data, np.float32).reshape(h, w, 4)[::-1].copy()

    def _reset(self) -> None:
        """Start a run from a clean history, reusing the compiled renderer."""
        if self._renderer is None:
            self._renderer = IsfRenderer(self.ctx, self.shader)
        for _, fbo in self._targets:
            fbo.clear(0.0, 0.0, 0.0, 0.0)
        for name in persistent_targets(self.shader):
            texture = self._renderer.target_texture(name)
            if texture is not None:
                # Passes read only the front texture of a persistent target (the back one is
                # rewritten, or carried over from the front, before it is read), so clearing
                # the front starts the target afresh.
                fbo = self.ctx.framebuffer(color_attachments=[texture])
                fbo.clear(0.0, 0.0, 0.0, 0.0)
                release_framebuffers(self.ctx, fbo)

    def release(self) -> None:
        """Free the GL objects."""
        if self._renderer is not None:
            self._renderer.release()
            self._renderer = None
        release_framebuffers(self.ctx, *(obj for pair in self._targets for obj in pair), self._input)
        self._targets = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def to_rgb8(rgba: np.ndarray, background: float = 0.0) -> np.ndarray:
    """Float straight-alpha RGBA to uint8 RGB composited over a grey ``background``. Any thread."""
    rgba = np.nan_to_num(rgba, nan=0.0, posinf=1.0, neginf=0.0)
    a = np.clip(rgba[..., 3:4], 0.0, 1.0)
    rgb = np.clip(rgba[..., :3], 0.0, 1.0) * a + background * (1.0 - a)
    return np.round(rgb * 255.0).astype(np.uint8)


#: Contact-sheet tile size (16:9) and columns.
SHEET_TILE = (160, 90)
SHEET_COLUMNS = 8


def render_contact_sheet(ctx: moderngl.Context, names: Sequence[str], tile: tuple[int, int] = SHEET_TILE,
                         columns: int = SHEET_COLUMNS) -> np.ndarray:
    """Every effect in ``names`` at its defaults over the (moving) standard picture, labelled,
    in a grid after the original picture; uint8 RGB. Render thread."""
    from live.render.hud import build_font_atlas

    try:
        font = build_font_atlas(11)
    except RuntimeError:  # no Pillow: the sheet is still useful without names
        font = None
    tiles: list[tuple[str, np.ndarray]] = [("original", to_rgb8(standard_picture(*tile, PREVIEW_TIME)))]
    for name in names:
        with EffectPreview(ctx, name, tile, moving=True) as preview:
            tiles.append((name, to_rgb8(preview.render(), background=0.5)))
    label_h = font.cell[1] + 4 if font is not None else 0
    gap = 6
    w, h = tile
    rows = (len(tiles) + columns - 1) // columns
    sheet = np.full((rows * (h + label_h + gap) + gap, columns * (w + gap) + gap, 3), 24, np.uint8)
    for index, (name, image) in enumerate(tiles):
        r, c = divmod(index, columns)
        y, x = gap + r * (h + label_h + gap), gap + c * (w + gap)
        sheet[y:y + h, x:x + w] = image
        if font is not None:
            _draw_text(sheet, name, x + 2, y + h + 2, font, max_width=w - 4)
    return sheet


def _draw_text(image: np.ndarray, text: str, x: int, y: int, font, max_width: int) -> None:
    cw, ch = font.cell
    for i, char in enumerate(text):
        if (i + 1) * cw > max_width:
            break
        slot = font.slot_of(ord(char))
        r, c = divmod(slot, font.columns)
        glyph = font.pixels[r * ch:(r + 1) * ch, c * cw:(c + 1) * cw].astype(np.float32) / 255.0
        region = image[y:y + ch, x + i * cw:x + (i + 1) * cw]
        g = glyph[:region.shape[0], :region.shape[1], None]
        region[...] = np.round(region * (1 - g) + 235 * g).astype(np.uint8)


def write_contact_sheet(path: Path, names: Sequence[str] | None = None) -> Path:
    """Render the contact sheet of ``names`` (default: every bundled effect) into the PNG
    ``path``, with a headless context of its own. Main thread (it owns that context)."""
    from live.render.effects_catalog import list_effects
    from live.render.video import check_writable, write_png

    names = list(names) if names is not None else [e.name for e in list_effects()]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_writable(path)
    ctx = create_headless_context()
    try:
        sheet = render_contact_sheet(ctx, names)
    finally:
        ctx.release()
    write_png(path, sheet)
    return path

"""The HUD: an overlay for the operator monitor (never the projector).

It shows the frame rate with a frame-time graph, tempo and beat, input activity (audio levels,
recent MIDI/OSC events), the state of every part in the registry, the last errors, and prompts
(the quit confirmation). `hud_lines` turns a `HudInfo` snapshot into coloured text lines (pure,
testable without GL); `Hud` draws those lines, the graph and the meters with one program and one
draw call per frame.

Text uses a glyph atlas rendered at start-up with Pillow from DejaVu Sans Mono (free licence,
Debian fonts-dejavu-core; matplotlib bundles the same file), falling back to Pillow's built-in
font. Nothing font-related is stored in the repository.

`HudInfo`, `hud_lines` and `build_font_atlas` run on any thread; `Hud` on the thread owning its
GL context (the render thread).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import moderngl
import numpy as np

from live.health.registry import PartState, State

#: Where the monospaced font is looked for, in order.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
    "/usr/local/share/fonts/DejaVuSansMono.ttf",
)
#: Characters in the atlas (printable ASCII); anything else is drawn as '?'.
FIRST_CHAR, LAST_CHAR = 32, 126
#: Atlas slot of the solid white cell used for panels, bars and the graph.
SOLID = LAST_CHAR + 1
ATLAS_COLUMNS = 16

Rgba = tuple[float, float, float, float]
WHITE: Rgba = (0.92, 0.92, 0.92, 1.0)
GREY: Rgba = (0.6, 0.6, 0.6, 1.0)
GREEN: Rgba = (0.35, 0.9, 0.45, 1.0)
YELLOW: Rgba = (1.0, 0.85, 0.25, 1.0)
ORANGE: Rgba = (1.0, 0.55, 0.2, 1.0)
RED: Rgba = (1.0, 0.3, 0.3, 1.0)
PANEL: Rgba = (0.0, 0.0, 0.0, 0.62)
STATE_COLOURS = {State.OK: GREEN, State.DEGRADED: YELLOW, State.STALE: ORANGE, State.FAILED: RED}


@dataclass(frozen=True)
class HudInfo:
    """Everything the HUD shows for one frame: an immutable snapshot made on the render thread.

    Attributes:
        fps: frames per second over the last frames.
        frame_ms: recent frame times in milliseconds, oldest first.
        budget_ms: the frame budget (1000 / target fps); bars above it are drawn red.
        bpm, bar_beat, beats_per_bar, beat_phase, tempo_source: the beat clock.
        scene, next_scene: running scene and the set list's next one (None at the end).
        fading: a crossfade is running.
        dimmer, blackout, freeze, panic: the master section.
        levels: input meters, (name, 0..1), e.g. ("bass", 0.7).
        activity: recent non-audio input, (name, seconds since the last event).
        parts: part states from the registry.
        errors: the last errors, newest last.
        prompt: an urgent line (quit confirmation), drawn highlighted.
        message: a short notice (snapshot written, scene failed to load).
    """

    fps: float = 0.0
    frame_ms: tuple[float, ...] = ()
    budget_ms: float = 1000.0 / 60.0
    bpm: float = 120.0
    bar_beat: int = 1
    beats_per_bar: int = 4
    beat_phase: float = 0.0
    tempo_source: str = "scene"
    scene: str = ""
    next_scene: str | None = None
    fading: bool = False
    dimmer: float = 1.0
    blackout: bool = False
    freeze: bool = False
    panic: bool = False
    levels: tuple[tuple[str, float], ...] = ()
    activity: tuple[tuple[str, float], ...] = ()
    parts: tuple[PartState, ...] = ()
    errors: tuple[str, ...] = ()
    prompt: str | None = None
    message: str | None = None


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "~"


def hud_lines(info: HudInfo, width: int = 60, max_errors: int = 5) -> list[tuple[str, Rgba]]:
    """The HUD's text, line by line with a colour each, at most `width` characters per line."""
    lines: list[tuple[str, Rgba]] = []
    if info.prompt:
        lines.append((_clip(info.prompt, width), RED))
    worst_ms = max(info.frame_ms) if info.frame_ms else 0.0
    fps_colour = GREEN if worst_ms <= info.budget_ms * 1.5 else YELLOW
    lines.append((f"{info.fps:5.1f} fps   frame max {worst_ms:5.1f} ms / {info.budget_ms:.1f}", fps_colour))
    beats = "".join("#" if i + 1 == info.bar_beat else "." for i in range(info.beats_per_bar))
    tempo = f"{info.bpm:6.1f} bpm ({info.tempo_source})  beat {info.bar_beat}/{info.beats_per_bar} [{beats}]"
    lines.append((tempo, WHITE))
    scene = f"scene: {info.scene}" + ("  (crossfade)" if info.fading else "")
    lines.append((_clip(scene, width), WHITE))
    lines.append((_clip(f"next:  {info.next_scene if info.next_scene else '(end of set)'}", width), GREY))
    master = [f"dimmer {round(info.dimmer * 100):3d}%"]
    colour = WHITE
    for flag, label in ((info.blackout, "BLACKOUT"), (info.freeze, "FREEZE"), (info.panic, "PANIC")):
        if flag:
            master.append(label)
            colour = ORANGE
    lines.append(("master: " + "  ".join(master), colour))
    if info.levels:
        lines.append(("in: " + "  ".join(f"{name} {_bar(v)}" for name, v in info.levels), WHITE))
    for name, age in info.activity:
        lines.append((_clip(f"in: {name} {age:.1f} s ago", width), GREEN if age < 1.0 else GREY))
    for part in info.parts:
        text = f"{part.state.value:8s} {part.part}" + (f": {part.reason}" if part.reason else "")
        lines.append((_clip(text, width), STATE_COLOURS.get(part.state, WHITE)))
    for err in info.errors[-max_errors:]:
        lines.append((_clip("! " + err, width), RED))
    if info.message:
        lines.append((_clip(info.message, width), YELLOW))
    return lines


def _bar(value: float, cells: int = 5) -> str:
    v = min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
    n = round(v * cells)
    return "|" * n + "." * (cells - n)


@dataclass
class FontAtlas:
    """A glyph atlas: `pixels` (uint8 height x width coverage), fixed `cell` (w, h) per glyph."""

    pixels: np.ndarray
    cell: tuple[int, int]
    source: str
    columns: int = ATLAS_COLUMNS
    slots: int = field(default=SOLID - FIRST_CHAR + 1)

    def slot_of(self, code: int) -> int:
        """Atlas slot of a character code ('?' for anything outside printable ASCII)."""
        if code == SOLID:
            return SOLID - FIRST_CHAR
        return (code if FIRST_CHAR <= code <= LAST_CHAR else ord("?")) - FIRST_CHAR


def build_font_atlas(size_px: int = 13, font_path: str | Path | None = None) -> FontAtlas:
    """Render printable ASCII (and one solid cell) into a coverage atlas with Pillow. Any thread.

    Raises:
        RuntimeError: Pillow is not installed (pip install pillow).
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as exc:
        raise RuntimeError("the HUD needs Pillow for its font: pip install pillow") from exc
    candidates = [str(font_path)] if font_path else list(FONT_CANDIDATES)
    try:
        import matplotlib  # bundles DejaVu Sans Mono; only its folder is needed

        candidates.append(str(Path(matplotlib.__file__).parent / "mpl-data/fonts/ttf/DejaVuSansMono.ttf"))
    except ImportError:
        pass
    font, source = None, "Pillow built-in font"
    for candidate in candidates:
        if Path(candidate).is_file():
            try:
                font, source = ImageFont.truetype(candidate, size_px), candidate
                break
            except OSError:
                continue
    if font is None:
        font = ImageFont.load_default(size_px)
    chars = [chr(c) for c in range(FIRST_CHAR, LAST_CHAR + 1)]
    ascent, descent = font.getmetrics()
    cell_w = math.ceil(max(font.getlength(c) for c in chars))
    cell_h = int(ascent + descent)
    slots = SOLID - FIRST_CHAR + 1
    rows = (slots + ATLAS_COLUMNS - 1) // ATLAS_COLUMNS
    image = Image.new("L", (ATLAS_COLUMNS * cell_w, rows * cell_h), 0)
    draw = ImageDraw.Draw(image)
    for i, ch in enumerate(chars):
        r, c = divmod(i, ATLAS_COLUMNS)
        draw.text((c * cell_w, r * cell_h), ch, fill=255, font=font)
    r, c = divmod(slots - 1, ATLAS_COLUMNS)
    draw.rectangle((c * cell_w, r * cell_h, (c + 1) * cell_w - 1, (r + 1) * cell_h - 1), fill=255)
    return FontAtlas(np.array(image, dtype=np.uint8), (cell_w, cell_h), source)


_HUD_VERTEX = """
#version 330 core
in vec2 in_pos;      // pixels, origin top-left of the viewport
in vec2 in_uv;       // atlas texels
in vec4 in_color;
uniform vec2 u_viewport;
uniform vec2 u_atlas;
out vec2 v_uv;
out vec4 v_color;
void main() {
    v_uv = in_uv / u_atlas;
    v_color = in_color;
    vec2 ndc = in_pos / u_viewport * 2.0 - 1.0;
    gl_Position = vec4(ndc.x, -ndc.y, 0.0, 1.0);
}
"""

_HUD_FRAGMENT = """
#version 330 core
in vec2 v_uv;
in vec4 v_color;
out vec4 f_color;
uniform sampler2D u_font;
void main() {
    f_color = vec4(v_color.rgb, v_color.a * texture(u_font, v_uv).r);
}
"""

#: Floats per vertex: position 2, atlas uv 2, colour 4.
_STRIDE = 8


class QuadBatch:
    """Collects text and rectangles as quads (pixels, top-left origin). Any thread; no GL."""

    def __init__(self, atlas: FontAtlas) -> None:
        self.atlas = atlas
        self._parts: list[np.ndarray] = []

    def rect(self, x: float, y: float, w: float, h: float, colour: Rgba) -> None:
        """A solid rectangle."""
        self._quads(np.array([[x, y, w, h]], np.float32), np.array([SOLID - FIRST_CHAR]), colour)

    def rects(self, xywh: np.ndarray, colours: np.ndarray) -> None:
        """Many solid rectangles: (n, 4) x, y, w, h and (n, 4) colours."""
        n = len(xywh)
        if n:
            self._quads(np.asarray(xywh, np.float32), np.full(n, SOLID - FIRST_CHAR), colours)

    def text(self, x: float, y: float, text: str, colour: Rgba) -> None:
        """One line of text with its top-left at (x, y); non-ASCII characters become '?'."""
        codes = np.frombuffer(text.encode("ascii", "replace"), np.uint8)
        if codes.size == 0:
            return
        cw, ch = self.atlas.cell
        slots = np.where((codes >= FIRST_CHAR) & (codes <= LAST_CHAR), codes, ord("?")) - FIRST_CHAR
        keep = codes != ord(" ")  # spaces draw nothing
        xs = x + np.arange(codes.size, dtype=np.float32) * cw
        xywh = np.column_stack([xs, np.full(codes.size, y), np.full(codes.size, cw), np.full(codes.size, ch)])
        self._quads(xywh[keep].astype(np.float32), slots[keep], colour)

    def _quads(self, xywh: np.ndarray, slots: np.ndarray, colours) -> None:
        n = len(xywh)
        cw, ch = self.atlas.cell
        cols = self.atlas.columns
        r, c = np.divmod(np.asarray(slots), cols)
        u0, v0 = c * cw, r * ch
        if np.any(slots == SOLID - FIRST_CHAR):
            # Sample the middle of the solid cell so linear filtering never reaches a glyph edge.
            solid = slots == SOLID - FIRST_CHAR
            u0 = np.where(solid, u0 + cw / 2.0, u0)
            v0 = np.where(solid, v0 + ch / 2.0, v0)
        u1 = np.where(slots == SOLID - FIRST_CHAR, u0, u0 + cw)
        v1 = np.where(slots == SOLID - FIRST_CHAR, v0, v0 + ch)
        x0, y0 = xywh[:, 0], xywh[:, 1]
        x1, y1 = x0 + xywh[:, 2], y0 + xywh[:, 3]
        col = np.broadcast_to(np.asarray(colours, np.float32).reshape(-1, 4), (n, 4))
        # Two triangles per quad: (0,0) (1,0) (1,1) and (0,0) (1,1) (0,1).
        corners = [(x0, y0, u0, v0), (x1, y0, u1, v0), (x1, y1, u1, v1),
                   (x0, y0, u0, v0), (x1, y1, u1, v1), (x0, y1, u0, v1)]
        out = np.empty((n, 6, _STRIDE), np.float32)
        for k, (px, py, pu, pv) in enumerate(corners):
            out[:, k, 0], out[:, k, 1], out[:, k, 2], out[:, k, 3] = px, py, pu, pv
            out[:, k, 4:] = col
        self._parts.append(out.reshape(-1, _STRIDE))

    def vertices(self) -> np.ndarray:
        """All quads as (n * 6, 8) float32 vertices."""
        if not self._parts:
            return np.zeros((0, _STRIDE), np.float32)
        return np.concatenate(self._parts)


class Hud:
    """Draws the HUD over whatever is in a framebuffer. Render thread (the context's thread).

    Args:
        ctx: the GL context of the window it draws into.
        font_px: font size in pixels.
    """

    def __init__(self, ctx: moderngl.Context, font_px: int = 13) -> None:
        self.ctx = ctx
        self.atlas = build_font_atlas(font_px)
        h, w = self.atlas.pixels.shape
        self._font = ctx.texture((w, h), 1, data=np.ascontiguousarray(self.atlas.pixels).tobytes())
        self._font.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._prog = ctx.program(vertex_shader=_HUD_VERTEX, fragment_shader=_HUD_FRAGMENT)
        self._prog["u_atlas"].value = (float(w), float(h))
        self._prog["u_font"].value = 0
        self._capacity = 4096 * 6
        self._vbo = ctx.buffer(reserve=self._capacity * _STRIDE * 4, dynamic=True)
        self._vao = ctx.vertex_array(self._prog, [(self._vbo, "2f 2f 4f", "in_pos", "in_uv", "in_color")])

    @property
    def line_height(self) -> int:
        """Pixels per text line."""
        return self.atlas.cell[1]

    def layout(self, info: HudInfo, viewport: tuple[int, int]) -> QuadBatch:
        """The HUD's quads for a viewport of (width, height) pixels (no GL; any thread)."""
        vw, vh = viewport
        cw, ch = self.atlas.cell
        pad = 6
        columns = max(10, min(72, (vw - 3 * pad) // cw))
        lines = hud_lines(info, width=columns)
        max_lines = max(1, (vh - 2 * pad - 60) // ch)
        lines = lines[:max_lines]
        text_w = max(len(t) for t, _ in lines) * cw
        graph_h = 40
        panel_w = max(text_w, 240 if vw >= 300 else vw - 2 * pad) + 2 * pad
        panel_h = len(lines) * ch + graph_h + 3 * pad
        batch = QuadBatch(self.atlas)
        batch.rect(pad, pad, panel_w, panel_h, PANEL)
        y = 2 * pad
        for text, colour in lines:
            batch.text(2 * pad, y, text, colour)
            y += ch
        self._graph(batch, info, 2 * pad, y + pad, panel_w - 2 * pad, graph_h)
        return batch

    def _graph(self, batch: QuadBatch, info: HudInfo, x: float, y: float, w: float, h: float) -> None:
        """Frame-time bars: height ~ ms (the budget line at half height), red above budget."""
        batch.rect(x, y + h / 2.0, w, 1.0, GREY)  # the budget line
        ms = np.asarray(info.frame_ms, np.float32)
        if ms.size == 0:
            return
        n = ms.size
        bar_w = w / n
        scale = (h / 2.0) / max(info.budget_ms, 1e-3)
        heights = np.minimum(ms * scale, h)
        xs = x + np.arange(n, dtype=np.float32) * bar_w
        xywh = np.column_stack([xs, y + h - heights, np.full(n, max(bar_w - 0.5, 0.5)), heights])
        over = ms > info.budget_ms
        colours = np.where(over[:, None], np.array(RED, np.float32), np.array(GREEN, np.float32))
        batch.rects(xywh, colours)

    def draw(self, fbo: moderngl.Framebuffer, info: HudInfo,
             viewport: tuple[int, int, int, int] | None = None) -> None:
        """Draw the HUD for `info` over the contents of `fbo` (alpha-blended)."""
        vp = viewport or (0, 0, *fbo.size)
        verts = self.layout(info, (vp[2], vp[3])).vertices()
        self.draw_vertices(fbo, verts, vp)

    def draw_vertices(self, fbo: moderngl.Framebuffer, verts: np.ndarray,
                      viewport: tuple[int, int, int, int]) -> None:
        """Draw prepared quad vertices (from `QuadBatch.vertices`) into `fbo`'s `viewport`."""
        n = len(verts)
        if n == 0:
            return
        if n > self._capacity:
            self._capacity = n
            self._vbo.orphan(n * _STRIDE * 4)
        self._vbo.write(np.ascontiguousarray(verts, np.float32).tobytes())
        fbo.use()
        fbo.viewport = viewport
        self._prog["u_viewport"].value = (float(viewport[2]), float(viewport[3]))
        self._font.use(0)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self._vao.render(moderngl.TRIANGLES, vertices=n)
        self.ctx.disable(moderngl.BLEND)

    def release(self) -> None:
        """Free GL objects (render thread)."""
        self._vao.release()
        self._vbo.release()
        self._prog.release()
        self._font.release()


def part_rows(parts: Sequence[PartState]) -> tuple[PartState, ...]:
    """Parts sorted for display: problems first (failed, stale, degraded), then by name."""
    order = {State.FAILED: 0, State.STALE: 1, State.DEGRADED: 2, State.OK: 3}
    return tuple(sorted(parts, key=lambda p: (order.get(p.state, 4), p.part)))

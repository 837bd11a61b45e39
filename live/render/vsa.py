"""ISF files in VDMX's and ossia score's "VERTEX_SHADER_ART" mode: vertexshaderart.com pieces.

A vertexshaderart.com piece is a *vertex* shader run ``POINT_COUNT`` times with no vertex data:
each run reads its index (``vertexId``) and writes ``gl_Position``, ``v_color`` and perhaps
``gl_PointSize``; the vertices are drawn as ``PRIMITIVE_MODE`` primitives over a background.
ISF collections carry such pieces as ``.vs`` files whose JSON header says::

    "ISFVSN": "2", "MODE": "VERTEX_SHADER_ART", "POINT_COUNT": 16384,
    "PRIMITIVE_MODE": "POINTS" | "LINES" | "LINE_STRIP" | "LINE_LOOP" | "TRIANGLES" |
                      "TRIANGLE_STRIP" | "TRIANGLE_FAN",
    "LINE_SIZE": "NATIVE", "BACKGROUND_COLOR": [r, g, b, a], "INPUTS": [...]

The host provides vertexshaderart's built-ins (see :data:`BUILTIN_DECLARATIONS`): ``vertexId``
(float), ``vertexCount``, ``time`` (the engine's TIME), ``resolution`` (render size in pixels),
``mouse`` (0, 0), ``background`` (BACKGROUND_COLOR), ``soundRes`` and four history textures
whose row 0 (``v`` = 0) is the newest frame and row ``i`` the frame ``i`` renders ago:

- ``sound``: the engine's spectrum (AUDIO_FFT, 512 bins, -80..0 dB as 0..1) in all four
  channels, standing for vertexshaderart's byte spectrum (read in ``.a``, or ``.r`` in files
  converted for ossia score, which call it an ``audioHistogram`` input);
- ``floatSound``: the same spectrum in dB (-80..0);
- ``volume``: 4 columns: peak of the waveform, RMS, the engine's onset strength, largest bin;
- ``touch``: 32 columns of touch history; no touches here, so zeros.

INPUTS work as in other ISF files (uniforms, mappable parameters); an input named like a
built-in (``mouse``, ``background``) replaces it, and ossia score's ``audioHistogram`` and
``audioFloatHistogram`` inputs are the sound and floatSound history textures. Drawing follows vertexshaderart: square points of ``gl_PointSize`` pixels
(1 unless set) of a picture POINT_SIZE_REFERENCE_HEIGHT high (scaled with the render height, as
vertexshaderart scales them with the display's pixel ratio), depth test LESS (so with equal depths the first vertex drawn wins), colours
blended ``ONE, ONE_MINUS_SRC_ALPHA`` into an 8-bit buffer cleared to BACKGROUND_COLOR; that
premultiplied picture becomes the layer's straight-alpha output. Lines are one pixel wide
whatever LINE_SIZE says (core GL has no wide lines).

:func:`load_vsa` (any thread) builds a :class:`VsaShader`; :class:`VsaRenderer` (render thread)
draws it; :func:`renderer_for` picks the renderer for any loaded shader.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.render.isf import (
    ENGINE_GLSL,
    ISF_GLSL,
    IsfPass,
    IsfShader,
    _append_file,
    _Body,
    _Header,
    _parse_inputs,
    _prepare_body,
    _uniform_declarations,
    compat_helpers,
    engine_uniform_names,
    global_declared_names,
)
from live.render.shader_source import (
    MappedSource,
    ShaderSourceError,
    SplitSource,
    display_path,
    read_shader_file,
)

#: The header's MODE value of these files.
VSA_MODE = "VERTEX_SHADER_ART"
#: PRIMITIVE_MODE names (WebGL's draw modes).
PRIMITIVE_MODES = ("POINTS", "LINES", "LINE_STRIP", "LINE_LOOP", "TRIANGLES", "TRIANGLE_STRIP",
                   "TRIANGLE_FAN")
#: LINE_SIZE values vertexshaderart offers (both draw 1-pixel lines here).
LINE_SIZES = ("NATIVE", "CSS")
#: Largest POINT_COUNT accepted: ten times vertexshaderart's own limit of 100,000.
MAX_POINT_COUNT = 1_000_000
#: POINT_COUNT used when the header has none (vertexshaderart's default for a new piece).
DEFAULT_POINT_COUNT = 16384
#: Picture height (pixels) for which a piece's gl_PointSize is taken as written: sizes scale
#: with the render height from there, so a piece looks alike at every output size.
#: vertexshaderart's sizes are CSS pixels of a browser window about this high.
POINT_SIZE_REFERENCE_HEIGHT = 1080
#: Frames of history in the sound, floatSound, volume and touch textures (4 s at 60 fps).
HISTORY_ROWS = 240
#: Columns of the volume and touch textures.
VOLUME_COLUMNS = 4
TOUCH_COLUMNS = 32
#: Header keys of this mode (others are allowed; near misses are warned about).
VSA_KEYS = ("ISFVSN", "VSN", "DESCRIPTION", "CREDIT", "CATEGORIES", "INPUTS", "MODE",
            "POINT_COUNT", "PRIMITIVE_MODE", "LINE_SIZE", "BACKGROUND_COLOR", "METADATA")
#: Input TYPEs of ossia score's history textures: the spectrum 0..1 (``sound``) and in dB
#: (``floatSound``, ``volume``).
HISTOGRAM_TYPES = {"audiohistogram": "sound", "audiofloathistogram": "floatSound"}
#: The history textures the host fills, by uniform name.
HISTORY_TEXTURES = ("sound", "floatSound", "volume")

#: vertexshaderart's built-ins: name -> declaration (left out where the file declares the name
#: itself or has an INPUT of that name).
BUILTIN_DECLARATIONS = {
    "vertexId": "float vertexId;  // set from gl_VertexID before the piece's main runs",
    "vertexCount": "uniform float vertexCount;",
    "time": "uniform float time;",
    "resolution": "uniform vec2 resolution;",
    "mouse": "uniform vec2 mouse;",
    "background": "uniform vec4 background;",
    "soundRes": "uniform vec2 soundRes;",
    "sound": "uniform sampler2D sound;",
    "floatSound": "uniform sampler2D floatSound;",
    "volume": "uniform sampler2D volume;",
    "touch": "uniform sampler2D touch;",
    "_dontUseDirectly_pointSize": "uniform float _dontUseDirectly_pointSize;",
    "v_color": "out vec4 v_color;",
}

_MODE_RE = re.compile(r'"MODE"\s*:\s*"VERTEX_SHADER_ART"')
_MAIN_RE = re.compile(r"\bvoid\s+main\s*\(")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_FRAGMENT_SOURCE = """#version 330 core
// vertexshaderart's fragment shader: the colour the vertex shader chose.
in vec4 v_color;
out vec4 vsa_FragColor;
void main() {
    vsa_FragColor = v_color;
}
"""


def is_vsa_file(path: Path | str) -> bool:
    """Whether ``path`` is a file in VERTEX_SHADER_ART mode (a header saying so near the top).

    Reads at most the first 8 KiB. Any thread.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(8192).decode("utf-8", errors="replace")
    except OSError:
        return False
    return _MODE_RE.search(head) is not None


@dataclass
class VsaShader(IsfShader):
    """A loaded VERTEX_SHADER_ART file: an IsfShader (inputs, parameters, sources) plus how to
    draw it. Built by :func:`load_vsa`; any thread.

    Attributes:
        point_count: POINT_COUNT, the number of vertices drawn.
        primitive_mode: One of PRIMITIVE_MODES.
        line_size: LINE_SIZE as written ("NATIVE" or "CSS").
        background_color: BACKGROUND_COLOR as RGBA floats 0..1.
        history_inputs: ``(name, history)`` for each audioHistogram / audioFloatHistogram
            input not named like a built-in texture: its uniform gets that history
            (``"sound"`` or ``"floatSound"``).
    """

    point_count: int = DEFAULT_POINT_COUNT
    primitive_mode: str = "POINTS"
    line_size: str = "NATIVE"
    background_color: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    history_inputs: tuple[tuple[str, str], ...] = field(default=())


def load_vsa(path: Path | str, split: SplitSource | None = None,
             roots: list[Path] | None = None) -> VsaShader:
    """Load a VERTEX_SHADER_ART file and translate its vertex shader to GLSL 330 core.

    ``split`` is the file already cut into header and body (load_isf passes it on); ``roots``
    are the ``#include`` search roots. Any thread (file reads only).

    Raises:
        ShaderSourceError: naming the file and header line for a bad POINT_COUNT,
            PRIMITIVE_MODE, BACKGROUND_COLOR or input, or the body line of an include error.
    """
    from live.render.shader_source import split_header

    path = Path(path)
    shown = display_path(path)
    if split is None:
        split = split_header(read_shader_file(path), shown)
    if split.header is None or split.header.get("MODE") != VSA_MODE:
        raise ShaderSourceError(shown, split.header_line,
                                f'not a vertex shader art file (the header needs "MODE": "{VSA_MODE}")')
    h = _Header(split, shown)
    h.check_keys(split.header, VSA_KEYS, "the header", split.header_line)
    point_count = _point_count(h)
    primitive_mode = _primitive_mode(h)
    line_size = _line_size(h)
    background = _background(h)

    # audioHistogram inputs are history textures the host fills, not parameters.
    raw_inputs = h.data.get("INPUTS") or []
    histories: dict[str, str] = {}  # input name -> history texture that feeds it
    if isinstance(raw_inputs, list):
        kept = []
        for item in raw_inputs:
            kind = item.get("TYPE") if isinstance(item, dict) else None
            if isinstance(kind, str) and kind.lower() in HISTOGRAM_TYPES and \
                    isinstance(item.get("NAME"), str):
                histories[item["NAME"]] = HISTOGRAM_TYPES[kind.lower()]
            else:
                kept.append(item)
        h.data = dict(h.data, INPUTS=kept)
    inputs = _parse_inputs(h)
    input_names = {inp.name for inp in inputs}
    extra_histories = tuple((n, source) for n, source in histories.items()
                            if n not in HISTORY_TEXTURES and n not in input_names)

    renamed = [inp for inp in inputs if inp.uniform_name != inp.name]
    body = _prepare_body(split.body, path, split.body_line, roots, "vertex", renamed)
    if not _MAIN_RE.search(body.plain_text):
        raise ShaderSourceError(shown, split.body_line, "the vertex shader has no main() function")
    # A backslash ending a comment line (ASCII art) is a line continuation to GLSL 3.30
    # compilers that support them and an error to strict ones; WebGL's GLSL has no
    # continuations, so there it is just a character. Dropped, as the comment's meaning is.
    plain_lines = body.plain_text.split("\n")
    for index, line in enumerate(body.source.lines):
        if line.rstrip().endswith("\\") and index < len(plain_lines) and \
                not plain_lines[index].rstrip().endswith("\\"):
            body.source.replace_line(index, line.rstrip()[:-1])
    # The piece's main runs inside ours (which sets vertexId and the point size first).
    for index, line in enumerate(body.source.lines):
        if _MAIN_RE.search(line):
            body.source.replace_line(index, _MAIN_RE.sub("void vsa_main(", line))

    engine_names = engine_uniform_names()
    own = input_names | {name for name, _ in extra_histories}
    own |= global_declared_names(body.plain_text, engine_names + list(BUILTIN_DECLARATIONS))
    skip_engine = own & set(engine_names)
    declarations = _uniform_declarations(h, inputs, [], [], {}, body.plain_text)
    declarations += [(f"uniform sampler2D {name};", h.line_of_value("NAME", name))
                     for name, _ in extra_histories]
    idents = set(_IDENT_RE.findall(body.plain_text))
    images = [inp.name for inp in inputs if inp.is_image] + [n for n, _ in extra_histories] + \
        ["sound", "floatSound", "volume", "touch"]
    helpers = compat_helpers(idents, global_declared_names(body.plain_text, sorted(idents)) | own,
                             images)
    vertex_map = _assemble_vertex(body, declarations, skip_engine, own, shown, helpers)
    fragment_map = MappedSource()
    fragment_map.append_lines(_FRAGMENT_SOURCE, shown, None)

    return VsaShader(
        path=path,
        description=_string(h, "DESCRIPTION"),
        credit=_string(h, "CREDIT"),
        categories=[c for c in (h.data.get("CATEGORIES") or []) if isinstance(c, str)],
        isf_version=str(split.header.get("ISFVSN", "1")),
        inputs=inputs,
        passes=[IsfPass()],
        imported={},
        kind="generator",
        fragment_source=fragment_map.text(),
        vertex_source=vertex_map.text(),
        fragment_map=fragment_map,
        vertex_map=vertex_map,
        vertex_path=None,
        uses_discard=False,
        warnings=h.warnings,
        pass_lines=[None],
        identifiers=frozenset(idents),
        point_count=point_count,
        primitive_mode=primitive_mode,
        line_size=line_size,
        background_color=background,
        history_inputs=extra_histories,
    )


def _string(h: _Header, key: str) -> str:
    value = h.data.get(key)
    return value if isinstance(value, str) else ""


def _point_count(h: _Header) -> int:
    value = h.data.get("POINT_COUNT")
    line = h.line_of_key("POINT_COUNT")
    if value is None:
        h.warn(h.split.header_line, f"no POINT_COUNT; drawing {DEFAULT_POINT_COUNT} vertices")
        return DEFAULT_POINT_COUNT
    whole = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        whole, value = True, int(value)
    if not whole or not 1 <= value <= MAX_POINT_COUNT:
        raise h.error(line, f"POINT_COUNT must be a whole number from 1 to {MAX_POINT_COUNT:,}, "
                            f"got {value!r}")
    return int(value)


def _primitive_mode(h: _Header) -> str:
    value = h.data.get("PRIMITIVE_MODE", "POINTS")
    if isinstance(value, str) and value.upper() in PRIMITIVE_MODES:
        return value.upper()
    raise h.error(h.line_of_key("PRIMITIVE_MODE"),
                  f"PRIMITIVE_MODE {value!r} is not known; allowed: {', '.join(PRIMITIVE_MODES)}")


def _line_size(h: _Header) -> str:
    value = h.data.get("LINE_SIZE", "NATIVE")
    if isinstance(value, str) and value.upper() in LINE_SIZES:
        return value.upper()
    h.warn(h.line_of_key("LINE_SIZE"), f"LINE_SIZE {value!r} is not known (allowed: "
                                       f"{', '.join(LINE_SIZES)}); lines are 1 pixel wide")
    return "NATIVE"


def _background(h: _Header) -> tuple[float, float, float, float]:
    value = h.data.get("BACKGROUND_COLOR", [0.0, 0.0, 0.0, 1.0])
    ok = isinstance(value, list) and len(value) in (3, 4) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    if not ok:
        raise h.error(h.line_of_key("BACKGROUND_COLOR"),
                      f"BACKGROUND_COLOR must be a list of 3 or 4 numbers 0..1 (RGB or RGBA), "
                      f"got {value!r}")
    rgba = [min(max(float(v), 0.0), 1.0) for v in value] + [1.0] * (4 - len(value))
    return (rgba[0], rgba[1], rgba[2], rgba[3])


def _assemble_vertex(body: _Body, declarations: list[tuple[str, int | None]],
                     skip_engine: set[str], own: set[str], file: str,
                     helpers: Sequence[str]) -> MappedSource:
    out = MappedSource()
    out.append("#version 330 core", file, None)
    for text, origin_file, origin_line in body.extensions:
        out.append(text, origin_file, origin_line)
    out.append("#define VERTEX_SHADER_ART 1", file, None)
    out.append("#define ECHOEL_LIVE 1", file, None)
    _append_file(out, ENGINE_GLSL, skip_engine)
    for name, declaration in BUILTIN_DECLARATIONS.items():
        if name not in own:
            out.append(declaration, file, None)
    for text, line in declarations:
        out.append(text, file, line)
    # IMG_SIZE and friends, which ossia score's conversions use on the sound texture (without
    # ISF_VERTEX_SHADER defined, so the full-screen-quad helper is left out).
    _append_file(out, ISF_GLSL, set())
    for line in helpers:
        out.append(line, file, None)
    out.extend(body.source)
    set_id = "" if "vertexId" in own else "vertexId = float(gl_VertexID); "
    point_size = "" if "_dontUseDirectly_pointSize" in own else \
        " gl_PointSize = max(0.0, gl_PointSize * _dontUseDirectly_pointSize);"
    color = "" if "v_color" in own else "v_color = vec4(0.0); "
    out.append(f"void main() {{ {set_id}{color}gl_PointSize = 1.0; vsa_main();{point_size} }}",
               file, None)
    for index, line in enumerate(out.lines):
        if "#include" in line:  # see isf._assemble: moderngl would expand it
            out.replace_line(index, line.replace("#include", "# include"))
    return out


# --------------------------------------------------------------------------------------------
# GL side (render thread)
# --------------------------------------------------------------------------------------------

# The vertexshaderart picture is premultiplied (it blends ONE, ONE_MINUS_SRC_ALPHA); layers
# are straight alpha.
_UNPREMULTIPLY_FS = """#version 330 core
uniform sampler2D picture;
in vec2 uv;
out vec4 color;
void main() {
    vec4 c = texture(picture, uv);
    color = c.a > 0.0 ? vec4(min(c.rgb / c.a, vec3(1.0)), c.a) : vec4(0.0);
}
"""
# One history step: row 0 gets this frame's value, row i the previous texture's row i - 1.
_HISTORY_FS = """#version 330 core
uniform sampler2D previous;
uniform sampler2D fft;
uniform sampler2D wave;
uniform int what;      // 0: spectrum 0..1, 1: spectrum in dB, 2: volume
uniform float rms;
uniform float onset;
out vec4 color;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    if (p.y > 0) {
        color = texelFetch(previous, ivec2(p.x, p.y - 1), 0);
        return;
    }
    float v;
    if (what < 2) {
        v = texelFetch(fft, ivec2(p.x, 0), 0).r;
        if (what == 1) v = v * 80.0 - 80.0;
    } else if (p.x == 0) {  // peak of the waveform
        v = 0.0;
        for (int i = 0; i < textureSize(wave, 0).x; ++i) {
            v = max(v, abs(texelFetch(wave, ivec2(i, 0), 0).r));
        }
    } else if (p.x == 3) {  // largest spectrum bin
        v = 0.0;
        for (int i = 0; i < textureSize(fft, 0).x; ++i) {
            v = max(v, texelFetch(fft, ivec2(i, 0), 0).r);
        }
    } else {
        v = p.x == 1 ? rms : onset;
    }
    color = vec4(v);
}
"""


class _History:
    """One ping-pong pair of history textures (``rows`` frames of ``columns`` values)."""

    def __init__(self, ctx: Any, columns: int, dtype: str, what: int) -> None:
        self.what = what
        self.textures = [ctx.texture((columns, HISTORY_ROWS), 4, dtype=dtype) for _ in range(2)]
        for texture in self.textures:
            # As vertexshaderart: linear filtering, clamped edges (v = 0 reads the newest row
            # alone, not half of it and half of the oldest).
            texture.repeat_x = texture.repeat_y = False
        self.fbos = [ctx.framebuffer(color_attachments=[t]) for t in self.textures]
        for fbo in self.fbos:
            fbo.clear(0.0, 0.0, 0.0, 0.0)
        self.front = 0

    @property
    def texture(self) -> Any:
        return self.textures[self.front]

    def release(self) -> None:
        for obj in self.fbos + self.textures:
            obj.release()


class VsaRenderer:
    """Draws a :class:`VsaShader` the way vertexshaderart.com does, into a layer buffer.

    Same interface as live.render.program.IsfRenderer (``render``, ``release``,
    ``target_texture``), so a shader stage uses either. Render thread only.
    """

    def __init__(self, ctx: Any, shader: VsaShader, point_scale: float | None = None) -> None:
        """Compile ``shader`` in ``ctx``.

        ``point_scale`` multiplies every gl_PointSize; None (the default) scales with the render
        height, 1.0 at POINT_SIZE_REFERENCE_HEIGHT.

        Raises:
            ShaderSourceError: for a compile or link error, naming the file and line.
        """
        import moderngl
        import numpy as np

        from live.render.program import (
            ENGINE_TEXTURE_FIELDS,
            ENGINE_VALUE_FIELDS,
            QUAD_VERTEX_SHADER,
            _Slot,
        )
        from live.render.shader_source import compile_error

        self.ctx = ctx
        self.shader = shader
        self.point_scale = point_scale
        try:
            self._program = ctx.program(vertex_shader=shader.vertex_source,
                                        fragment_shader=shader.fragment_source)
        except moderngl.Error as exc:
            raise compile_error(str(exc), shader.vertex_map, shader.display_name, "vertex") from None
        self._mode = getattr(moderngl, shader.primitive_mode)
        self._vao = ctx.vertex_array(self._program, [])
        self._quad = ctx.buffer(np.array([-1, -1, 1, -1, -1, 1, 1, 1], dtype="f4").tobytes())
        self._present = ctx.program(vertex_shader=QUAD_VERTEX_SHADER,
                                    fragment_shader=_UNPREMULTIPLY_FS)
        self._present_vao = ctx.vertex_array(self._present, [(self._quad, "2f", "position")])
        self._black = ctx.texture((1, 1), 4, bytes(4))
        self._touch = ctx.texture((TOUCH_COLUMNS, HISTORY_ROWS), 4, dtype="f4")
        self._touch.write(bytes(TOUCH_COLUMNS * HISTORY_ROWS * 16))
        self._touch.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._touch.repeat_x = self._touch.repeat_y = False
        self._target: tuple[Any, Any, Any] | None = None  # colour, depth, framebuffer
        self._target_size = (0, 0)

        def uniform(name: str) -> Any:
            member = self._program.get(name, None)
            return member if isinstance(member, moderngl.Uniform) else None

        inputs = {inp.name: inp for inp in shader.inputs}
        self._inputs = [(_Slot(u), inp.name, inp.default) for inp in shader.inputs if not inp.is_image
                        and (u := uniform(inp.uniform_name)) is not None]
        self._engine_values = [(_Slot(u), attr) for name, attr in ENGINE_VALUE_FIELDS.items()
                               if name not in inputs and name != "BANDS" and (u := uniform(name)) is not None]
        self._bands = uniform("BANDS") if "BANDS" not in inputs else None
        self._builtins = {name: uniform(name) for name in
                          ("vertexCount", "time", "resolution", "mouse", "background", "soundRes",
                           "_dontUseDirectly_pointSize") if name not in inputs}
        # Texture units, assigned once.
        unit = 0
        self._units: list[tuple[int, str, str]] = []  # unit, uniform, what feeds it
        samplers = [(name, "engine:" + attr) for name, attr in ENGINE_TEXTURE_FIELDS.items()
                    if name not in inputs]
        samplers += [(name, "history:" + name) for name in HISTORY_TEXTURES if name not in inputs]
        samplers += [(name, "history:" + source) for name, source in shader.history_inputs]
        samplers += [("touch", "touch")] if "touch" not in inputs else []
        samplers += [(inp.uniform_name, "input:" + inp.name) for inp in shader.inputs if inp.is_image]
        for name, source in samplers:
            u = uniform(name)
            if u is not None:
                u.value = unit
                self._units.append((unit, name, source))
                unit += 1
        wanted = {source.split(":", 1)[1] for _, _, source in self._units if source.startswith("history:")}
        self._histories = {name: _History(ctx, VOLUME_COLUMNS if name == "volume" else 512,
                                          "f4" if name == "floatSound" else "f1",
                                          HISTORY_TEXTURES.index(name))
                           for name in HISTORY_TEXTURES if name in wanted}
        self._history_program = None
        self._history_vao = None
        if self._histories:
            self._history_program = ctx.program(vertex_shader=QUAD_VERTEX_SHADER,
                                                fragment_shader=_HISTORY_FS)
            self._history_vao = ctx.vertex_array(self._history_program,
                                                 [(self._quad, "2f", "position")])
            self._history_program["previous"].value = 0
            self._history_program["fft"].value = 1
            self._history_program["wave"].value = 2

    # ---- per frame ----

    def render(self, fbo: Any, size: tuple[int, int], params: Mapping[str, Any],
               images: Mapping[str, Any], engine: Any, *, over_black: bool = False) -> None:
        """Draw one frame into ``fbo`` (viewport ``(0, 0, *size)``), straight alpha.

        Render thread, once per frame. Advances the sound histories by one frame, draws the
        ``point_count`` vertices over the background into the renderer's own 8-bit buffer
        (depth test, premultiplied blending) and writes that into ``fbo``. Arguments as for
        IsfRenderer.render; ``over_black`` draws source-over onto an opaque ``fbo``. Leaves
        BLEND, DEPTH_TEST and PROGRAM_POINT_SIZE disabled.
        """
        import moderngl

        ctx = self.ctx
        ctx.enable_only(moderngl.NOTHING)
        self._advance_histories(engine)
        width, height = size
        colour, _, target = self._ensure_target(size)
        target.use()
        target.viewport = (0, 0, width, height)
        target.clear(*self.shader.background_color, depth=1.0)

        for slot, name, default in self._inputs:
            slot.set(params.get(name, default))
        for slot, attr in self._engine_values:
            slot.set(getattr(engine, attr))
        if self._bands is not None:
            n = self._bands.array_length
            bands = tuple(engine.bands[:n]) + (0.0,) * max(0, n - len(engine.bands))
            self._bands.value = bands if n > 1 else bands[0]
        values = {"vertexCount": float(self.shader.point_count), "time": float(engine.time),
                  "resolution": (float(width), float(height)), "mouse": (0.0, 0.0),
                  "background": self.shader.background_color,
                  "soundRes": (512.0, float(HISTORY_ROWS)),
                  "_dontUseDirectly_pointSize": self.point_scale if self.point_scale is not None
                  else height / POINT_SIZE_REFERENCE_HEIGHT}
        for name, u in self._builtins.items():
            if u is not None:
                u.value = values[name]
        for unit, _, source in self._units:
            kind, _, name = source.partition(":")
            if kind == "engine":
                texture = getattr(engine, name)
            elif kind == "history":
                texture = self._histories[name].texture
            elif kind == "touch":
                texture = self._touch
            else:
                texture = images.get(name)
                if texture is None:
                    inp = self.shader.input(name)
                    texture = {"audio": engine.audio_wave, "audioFFT": engine.audio_fft}.get(inp.type)
            (texture or self._black).use(unit)

        ctx.enable_only(moderngl.BLEND | moderngl.DEPTH_TEST | moderngl.PROGRAM_POINT_SIZE)
        ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        ctx.blend_equation = moderngl.FUNC_ADD
        ctx.depth_func = "<"
        self._vao.render(self._mode, vertices=self.shader.point_count)
        ctx.enable_only(moderngl.NOTHING)

        fbo.viewport = (0, 0, width, height)
        fbo.use()
        if over_black:
            ctx.enable(moderngl.BLEND)
            ctx.blend_func = (moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA, moderngl.ZERO,
                              moderngl.ONE)
        colour.use(0)
        self._present["picture"].value = 0
        self._present_vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
        ctx.enable_only(moderngl.NOTHING)

    def _ensure_target(self, size: tuple[int, int]) -> tuple[Any, Any, Any]:
        if self._target is None or self._target_size != size:
            self._release_target()
            colour = self.ctx.texture(size, 4)  # 8-bit, as a WebGL canvas: values clamp to 0..1
            depth = self.ctx.depth_renderbuffer(size)
            self._target = (colour, depth, self.ctx.framebuffer(color_attachments=[colour],
                                                                depth_attachment=depth))
            self._target_size = size
        return self._target

    def _advance_histories(self, engine: Any) -> None:
        import moderngl

        if not self._histories:
            return
        program = self._history_program
        program["rms"].value = float(engine.rms)
        program["onset"].value = float(engine.onset)
        (engine.audio_fft or self._black).use(1)
        (engine.audio_wave or self._black).use(2)
        for history in self._histories.values():
            back = 1 - history.front
            history.fbos[back].use()
            history.textures[history.front].use(0)
            program["what"].value = history.what
            self._history_vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
            history.front = back

    # ---- introspection and cleanup ----

    def target_texture(self, name: str) -> None:
        """VERTEX_SHADER_ART files have no pass buffers: always None. Render thread."""
        return

    def target_size(self, name: str) -> None:
        """VERTEX_SHADER_ART files have no pass buffers: always None. Render thread."""
        return

    def _release_target(self) -> None:
        if self._target is not None:
            colour, depth, fbo = self._target
            fbo.release()
            depth.release()
            colour.release()
            self._target = None

    def release(self) -> None:
        """Free every GL object this renderer created. Render thread."""
        self._release_target()
        for history in self._histories.values():
            history.release()
        self._histories = {}
        if self._history_program is not None:
            self._history_vao.release()
            self._history_program.release()
        for obj in (self._vao, self._program, self._present_vao, self._present, self._quad,
                    self._black, self._touch):
            obj.release()


def renderer_for(ctx: Any, shader: IsfShader) -> Any:
    """The renderer for a loaded shader: VsaRenderer for VERTEX_SHADER_ART files, else
    live.render.program.IsfRenderer. Render thread (it compiles)."""
    if isinstance(shader, VsaShader):
        return VsaRenderer(ctx, shader)
    from live.render.program import IsfRenderer

    return IsfRenderer(ctx, shader)

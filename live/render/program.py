"""The GL side of ISF shaders: :class:`IsfRenderer` compiles one IsfShader and runs its passes.

Everything here runs on the render thread (the only thread that touches GL). Per-frame work is
kept to a fixed plan built at construction: uniform objects are looked up once, each texture
unit is assigned once, and a uniform is written only when its value changed since last frame.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import moderngl
import numpy as np

from live.render.context import release_framebuffers
from live.render.isf import (
    CUBE_FACE_NAMES,
    ImportedCube,
    IsfShader,
    SizeExpressionError,
    parse_size_expression,
    repair_source,
)
from live.render.shader_source import ShaderSourceError, compile_error, display_path

#: Engine uniform name -> EngineUniforms attribute, for the values of shaders/common/engine.glsl.
ENGINE_VALUE_FIELDS = {
    "TIME": "time", "TIMEDELTA": "timedelta", "FRAMEINDEX": "frame_index", "DATE": "date",
    "BPM": "bpm", "BEAT": "beat", "BEAT_PHASE": "beat_phase", "BAR": "bar",
    "BAR_PHASE": "bar_phase", "RMS": "rms", "BASS": "bass", "MID": "mid", "TREB": "treb",
    "ONSET": "onset", "BANDS": "bands",
}
#: Engine sampler name -> EngineUniforms attribute.
ENGINE_TEXTURE_FIELDS = {"AUDIO_FFT": "audio_fft", "AUDIO_WAVE": "audio_wave",
                         "PREV_FRAME": "prev_frame"}
#: Engine uniforms set per pass by the renderer itself.
PER_PASS_UNIFORMS = ("RENDERSIZE", "PASSINDEX")
#: A source that may need GLSL 4.00's implicit int -> uint conversions.
_NEWER_GLSL_HINT = re.compile(r"\bu(?:int|vec[234])\b")
_VERSION_330 = "#version 330 core"


def _use_glsl_410(shader) -> bool:
    """Switch both stages of `shader` from GLSL 3.30 to 4.10 core (same line numbers)."""
    maps = [shader.vertex_map, shader.fragment_map]
    if not all(m.lines and m.lines[0].strip() == _VERSION_330 for m in maps):
        return False
    for m in maps:
        m.replace_line(0, "#version 410 core")
    shader.vertex_source, shader.fragment_source = maps[0].text(), maps[1].text()
    return True


#: Compile attempts that may repair implicit conversions (isf.repair_source) before giving up.
MAX_REPAIR_ROUNDS = 3
#: Number of BANDS the engine provides.
BAND_COUNT = 16

_QUAD = struct.pack("8f", -1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0)
_UNSET = object()


@dataclass
class EngineUniforms:
    """The engine's per-frame values for every shader, filled by the engine each frame.

    Created and read on the render thread. Names follow shaders/common/engine.glsl, which
    documents each value; textures are owned by the engine (the renderer only binds them).
    """

    time: float = 0.0
    timedelta: float = 0.0
    frame_index: int = 0
    date: tuple[float, float, float, float] = (2026, 1, 1, 0)
    bpm: float = 120.0
    beat: float = 0.0
    beat_phase: float = 0.0
    bar: float = 0.0
    bar_phase: float = 0.0
    rms: float = 0.0
    bass: float = 0.0
    mid: float = 0.0
    treb: float = 0.0
    onset: float = 0.0
    bands: tuple[float, ...] = field(default_factory=lambda: (0.0,) * BAND_COUNT)
    audio_fft: moderngl.Texture | None = None
    audio_wave: moderngl.Texture | None = None
    prev_frame: moderngl.Texture | None = None


class _Slot:
    """A uniform plus the last value written, so unchanged values cost no GL call."""

    __slots__ = ("array_length", "last", "uniform")

    def __init__(self, uniform: moderngl.Uniform) -> None:
        self.uniform = uniform
        self.last: Any = _UNSET
        self.array_length = uniform.array_length

    def set(self, value: Any) -> None:
        if value != self.last:
            self.uniform.value = value
            self.last = value


class _PassBuffer:
    """A pass TARGET: two textures used in turn (ping-pong).

    A pass may read its own target (feedback); GL forbids sampling a texture while rendering
    into it, so each pass renders into the back texture while the sampler shows the front one,
    then the two swap.
    """

    def __init__(self, ctx: moderngl.Context, name: str, persistent: bool, is_float: bool) -> None:
        self.ctx = ctx
        self.name = name
        self.persistent = persistent
        self.dtype = "f4" if is_float else "f1"
        self.size: tuple[int, int] = (0, 0)
        self.textures: list[moderngl.Texture] = []
        self.fbos: list[moderngl.Framebuffer] = []
        self.front = 0

    def ensure(self, size: tuple[int, int]) -> None:
        """(Re)create both textures at ``size``, cleared to transparent black, if it changed."""
        if size == self.size:
            return
        self.release()
        for _ in range(2):
            texture = self.ctx.texture(size, 4, dtype=self.dtype)
            texture.repeat_x = texture.repeat_y = False
            texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
            fbo = self.ctx.framebuffer(color_attachments=[texture])
            fbo.clear(0.0, 0.0, 0.0, 0.0)
            self.textures.append(texture)
            self.fbos.append(fbo)
        self.size = size
        self.front = 0

    @property
    def front_texture(self) -> moderngl.Texture:
        return self.textures[self.front]

    @property
    def front_fbo(self) -> moderngl.Framebuffer:
        return self.fbos[self.front]

    @property
    def back_fbo(self) -> moderngl.Framebuffer:
        return self.fbos[1 - self.front]

    def swap(self) -> None:
        self.front = 1 - self.front

    def release(self) -> None:
        release_framebuffers(self.ctx, *self.fbos, *self.textures)
        self.fbos, self.textures, self.size = [], [], (0, 0)


@dataclass
class _PassPlan:
    index: int
    buffer: _PassBuffer | None
    defines_buffer: bool  # the first pass naming the buffer sizes it
    width_expr: Any
    height_expr: Any
    size_inputs: tuple[str, ...]
    line: int | None
    cache_key: Any = None
    cache_size: tuple[int, int] = (1, 1)


class IsfRenderer:
    """Compiles one ISF shader and renders all its passes into the engine's layer buffer.

    Render thread only. Construction compiles the program, loads IMPORTED images and builds
    the per-frame plan; :meth:`render` then runs every pass; :meth:`release` frees the GL
    objects. Pass buffers are RGBA8 (values clamp to 0..1 and quantise to 1/255) or, for
    FLOAT passes, RGBA32F; they are sampled with linear filtering, clamped at the edges.
    """

    def __init__(self, ctx: moderngl.Context, shader: IsfShader) -> None:
        """Compile ``shader`` in ``ctx``.

        Raises:
            ShaderSourceError: for a compile or link error, mapped to the shader's (or an
                include's) file and line; or for an IMPORTED image that cannot be decoded.
        """
        self.ctx = ctx
        self.shader = shader
        self._program = self._compile()
        self._vbo = ctx.buffer(_QUAD)
        if isinstance(self._program.get("isf_Position", None), moderngl.Attribute):
            self._vao = ctx.vertex_array(self._program, [(self._vbo, "2f", "isf_Position")])
        else:  # a custom .vs that never calls isf_vertShaderInit
            self._vao = ctx.vertex_array(self._program, [])
        self._black = ctx.texture((1, 1), 4, bytes(4))
        self._present: tuple[moderngl.Program, moderngl.VertexArray] | None = None
        self._imported: dict[str, moderngl.Texture | moderngl.TextureCube] = {
            name: _load_image_texture(ctx, path) for name, path in shader.imported.items()}
        try:
            for name, cube in shader.imported_cubes.items():
                self._imported[name] = _load_cube_texture(ctx, shader, name, cube)
        except BaseException:
            for texture in self._imported.values():
                texture.release()
            raise
        self._build_plan()

    # ---- construction ----

    def _compile(self) -> moderngl.Program:
        shader = self.shader
        newer_glsl_tried = False
        attempt = 0
        while True:
            try:
                return self.ctx.program(vertex_shader=shader.vertex_source,
                                        fragment_shader=shader.fragment_source)
            except moderngl.Error as exc:
                log = str(exc)
                vertex_failed = "vertex_shader\n" in log and "fragment_shader\n" not in log
                source_map = shader.vertex_map if vertex_failed else shader.fragment_map
                repaired = repair_source(source_map, log) if attempt < MAX_REPAIR_ROUNDS else None
                attempt += 1
                if repaired is not None:
                    # Implicit conversions lenient drivers accept: fix them where the compiler
                    # points and try again. The shader keeps the repaired text, so later
                    # renderers (and strict checks) see what actually runs.
                    new_map, remarks = repaired
                    if vertex_failed:
                        shader.vertex_map, shader.vertex_source = new_map, new_map.text()
                    else:
                        shader.fragment_map, shader.fragment_source = new_map, new_map.text()
                    shader.warnings.extend(remarks)
                    continue
                if not newer_glsl_tried and _NEWER_GLSL_HINT.search(source_map.text()):
                    # Unsigned integers mixed with signed ones (uint c = 0;) are legal from
                    # GLSL 4.00 on, which hosts such as ossia score compile at; 4.10 is the
                    # newest macOS offers. Tried once, only when 3.30 refuses the file.
                    newer_glsl_tried = True
                    if _use_glsl_410(shader):
                        shader.warnings.append(f"{shader.display_name}: compiled as GLSL 4.10 "
                                               "(it needs implicit int/uint conversions, which "
                                               "GLSL 3.30 does not have)")
                        continue
                if vertex_failed:
                    fallback = display_path(shader.vertex_path) if shader.vertex_path else shader.display_name
                    raise compile_error(log, shader.vertex_map, fallback, "vertex") from None
                stage = "fragment" if "fragment_shader\n" in log else ""
                raise compile_error(log, shader.fragment_map, shader.display_name, stage) from None

    def _uniform(self, name: str) -> moderngl.Uniform | None:
        member = self._program.get(name, None)
        return member if isinstance(member, moderngl.Uniform) else None

    def _build_plan(self) -> None:
        shader = self.shader
        input_names = {inp.name for inp in shader.inputs}
        self._value_slots: list[tuple[_Slot, str, Any]] = []  # (slot, input name, default)
        for inp in shader.inputs:
            uniform = self._uniform(inp.uniform_name)
            if uniform is not None and not inp.is_image:
                self._value_slots.append((_Slot(uniform), inp.name, inp.default))
        self._engine_slots: list[tuple[_Slot, str]] = []
        self._bands_slot: _Slot | None = None
        for name, attr in ENGINE_VALUE_FIELDS.items():
            uniform = None if name in input_names else self._uniform(name)
            if uniform is None:
                continue
            if name == "BANDS":
                self._bands_slot = _Slot(uniform)
            else:
                self._engine_slots.append((_Slot(uniform), attr))
        size_u = None if "RENDERSIZE" in input_names else self._uniform("RENDERSIZE")
        index_u = None if "PASSINDEX" in input_names else self._uniform("PASSINDEX")
        self._rendersize = _Slot(size_u) if size_u is not None else None
        self._passindex = _Slot(index_u) if index_u is not None else None

        # Texture units: one per active sampler, assigned once for the program's life.
        self._buffers: dict[str, _PassBuffer] = {}
        for p in shader.passes:
            if p.target is not None and p.target not in self._buffers:
                self._buffers[p.target] = _PassBuffer(self.ctx, p.target, p.persistent, p.float)
        self._engine_units: list[tuple[int, str]] = []
        self._image_units: list[tuple[int, str, str | None]] = []  # unit, name, engine fallback
        self._buffer_units: dict[str, int] = {}
        self._static_units: list[tuple[int, moderngl.Texture]] = []
        unit = 0

        def assign(name: str) -> int | None:
            nonlocal unit
            uniform = self._uniform(name)
            if uniform is None:
                return None
            uniform.value = unit
            unit += 1
            return unit - 1

        for name, attr in ENGINE_TEXTURE_FIELDS.items():
            if name not in input_names and name not in self._buffers and name not in self._imported:
                u = assign(name)
                if u is not None:
                    self._engine_units.append((u, attr))
        for inp in shader.inputs:
            if inp.is_image:
                u = assign(inp.uniform_name)
                if u is not None:
                    fallback = {"audio": "audio_wave", "audioFFT": "audio_fft"}.get(inp.type)
                    self._image_units.append((u, inp.name, fallback))
        for name in self._buffers:
            u = assign(name)
            if u is not None:
                self._buffer_units[name] = u
        for name, texture in self._imported.items():
            u = assign(name)
            if u is not None:
                self._static_units.append((u, texture))
        max_units = self.ctx.info.get("GL_MAX_TEXTURE_IMAGE_UNITS", 16)
        if unit > max_units:
            raise ShaderSourceError(shader.display_name, None,
                                    f"uses {unit} textures; this GL allows {max_units}")

        defaults = shader.defaults()
        self._passes: list[_PassPlan] = []
        defined: set[str] = set()
        for index, p in enumerate(shader.passes):
            buffer = self._buffers.get(p.target) if p.target else None
            exprs = [parse_size_expression(e) if e else None for e in (p.width, p.height)]
            used = set().union(*(e.variables for e in exprs if e is not None)) - {"WIDTH", "HEIGHT"}
            defines = buffer is not None and p.target not in defined
            if buffer is not None:
                defined.add(p.target)  # type: ignore[arg-type]
            self._passes.append(_PassPlan(index, buffer, defines, exprs[0], exprs[1],
                                          tuple(sorted(used)), shader.pass_lines[index]
                                          if index < len(shader.pass_lines) else None))
        self._defaults = defaults
        self._copy_before_pass = shader.uses_discard
        self._last_target = self._passes[-1].buffer if self._passes else None

    # ---- per frame ----

    def render(self, fbo: moderngl.Framebuffer, size: tuple[int, int], params: Mapping[str, Any],
               images: Mapping[str, moderngl.Texture], engine: EngineUniforms, *,
               over_black: bool = False) -> None:
        """Run every pass; the last one draws into ``fbo`` with the viewport ``(0, 0, *size)``.

        Render thread, once per frame. Leaves BLEND, DEPTH_TEST and CULL_FACE disabled (passes
        overwrite their targets; callers set the state they need for their own draws).

        Args:
            fbo: The engine's layer buffer (RGBA16F), straight alpha.
            size: Output size in pixels; ``$WIDTH``/``$HEIGHT`` of size expressions.
            params: Input values by name, already validated (IsfShader.validate_params);
                missing inputs use their defaults. Events are True for the one frame they fire.
            images: Textures for image inputs by name; a missing one reads as transparent
                black. audio/audioFFT inputs not given here get engine.audio_wave/audio_fft.
            engine: This frame's engine uniforms.
            over_black: Draw the result source-over onto ``fbo`` (an opaque output cleared to
                black) instead of writing straight alpha: the engine's one-pass path for a scene
                whose only visible layer needs no compositing. ``fbo``'s alpha is kept.

        Raises:
            ShaderSourceError: when a pass size expression fails for the current inputs
                (division by zero...), naming the shader and the pass line.
        """
        ctx = self.ctx
        ctx.enable_only(moderngl.NOTHING)
        for slot, name, default in self._value_slots:
            slot.set(params.get(name, default))
        for slot, attr in self._engine_slots:
            slot.set(getattr(engine, attr))
        if self._bands_slot is not None:
            self._set_bands(engine.bands)
        black = self._black
        for unit, attr in self._engine_units:
            (getattr(engine, attr) or black).use(unit)
        for unit, name, fallback in self._image_units:
            texture = images.get(name)
            if texture is None and fallback is not None:
                texture = getattr(engine, fallback)
            (texture or black).use(unit)
        for unit, texture in self._static_units:
            texture.use(unit)

        width, height = size
        for plan in self._passes:
            buffer = plan.buffer
            if buffer is not None and plan.defines_buffer:
                buffer.ensure(self._buffer_size(plan, width, height, params))
            if self._buffer_units:
                self._bind_buffers()
            if buffer is not None:
                if self._copy_before_pass and buffer.persistent:
                    # Discarded fragments keep the back texture's content, which is two frames
                    # old; carry the latest content over first.
                    ctx.copy_framebuffer(buffer.back_fbo, buffer.front_fbo)
                buffer.back_fbo.use()
                pass_size = buffer.size
                if over_black:
                    ctx.disable(moderngl.BLEND)
            else:
                fbo.viewport = (0, 0, width, height)
                fbo.use()
                pass_size = (width, height)
                if over_black:
                    self._enable_over_black()
            if self._passindex is not None:
                self._passindex.set(plan.index)
            if self._rendersize is not None:
                self._rendersize.set(pass_size)
            self._vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
            if buffer is not None:
                buffer.swap()
        if self._last_target is not None:
            if over_black:
                self._enable_over_black()
            self._present_to(fbo, width, height, self._last_target.front_texture)
        if over_black:
            ctx.disable(moderngl.BLEND)

    def _enable_over_black(self) -> None:
        ctx = self.ctx
        ctx.enable(moderngl.BLEND)
        # Colour: source-over with straight alpha; alpha: keep the opaque destination.
        ctx.blend_func = (moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA, moderngl.ZERO, moderngl.ONE)
        ctx.blend_equation = moderngl.FUNC_ADD

    def _bind_buffers(self) -> None:
        # The front texture of each buffer changes with every swap, so rebind before a pass.
        for name, unit in self._buffer_units.items():
            buffer = self._buffers[name]
            (buffer.textures[buffer.front] if buffer.textures else self._black).use(unit)

    def _set_bands(self, bands: Any) -> None:
        slot = self._bands_slot
        assert slot is not None
        n = slot.array_length  # the compiler keeps only the elements the shader reads
        values = tuple(bands[:n])
        if len(values) < n:
            values = values + (0.0,) * (n - len(values))
        slot.set(values if n > 1 else values[0])

    def _buffer_size(self, plan: _PassPlan, width: int, height: int,
                     params: Mapping[str, Any]) -> tuple[int, int]:
        if plan.width_expr is None and plan.height_expr is None:
            return (width, height)
        values = tuple(params.get(n, self._defaults.get(n)) for n in plan.size_inputs)
        key = (width, height, values)
        if key != plan.cache_key:
            inputs = dict(zip(plan.size_inputs, values, strict=True))
            try:
                w = plan.width_expr.evaluate(width, height, inputs) if plan.width_expr else width
                h = plan.height_expr.evaluate(width, height, inputs) if plan.height_expr else height
            except SizeExpressionError as exc:
                raise ShaderSourceError(self.shader.display_name, plan.line,
                                        f"PASSES[{plan.index}]: {exc}") from None
            plan.cache_key, plan.cache_size = key, (w, h)
        return plan.cache_size

    def _present_to(self, fbo: moderngl.Framebuffer, width: int, height: int,
                    texture: moderngl.Texture) -> None:
        """Scale the last pass's buffer into ``fbo`` (when the last pass has a TARGET)."""
        if self._present is None:
            program = self.ctx.program(vertex_shader=QUAD_VERTEX_SHADER, fragment_shader=_PRESENT_FS)
            vao = self.ctx.vertex_array(program, [(self._vbo, "2f", "position")])
            self._present = (program, vao)
        fbo.viewport = (0, 0, width, height)
        fbo.use()
        texture.use(0)
        self._present[1].render(moderngl.TRIANGLE_STRIP, vertices=4)

    # ---- introspection and cleanup ----

    def target_texture(self, name: str) -> moderngl.Texture | None:
        """The latest content of pass buffer ``name`` (None before its first render). Render thread."""
        buffer = self._buffers.get(name)
        return buffer.front_texture if buffer is not None and buffer.textures else None

    def target_size(self, name: str) -> tuple[int, int] | None:
        """Current size of pass buffer ``name`` (None before its first render). Render thread."""
        buffer = self._buffers.get(name)
        return buffer.size if buffer is not None and buffer.textures else None

    def release(self) -> None:
        """Free every GL object this renderer created. Render thread."""
        for buffer in self._buffers.values():
            buffer.release()
        for texture in self._imported.values():
            texture.release()
        if self._present is not None:
            self._present[1].release()
            self._present[0].release()
            self._present = None
        for obj in (self._vao, self._vbo, self._program, self._black):
            obj.release()


#: Vertex stage of a full-screen quad (attribute ``position`` in -1..1), passing ``uv`` in 0..1;
#: shared by every copy pass drawn over the whole target.
QUAD_VERTEX_SHADER = """#version 330 core
in vec2 position;
out vec2 uv;
void main() {
    gl_Position = vec4(position, 0.0, 1.0);
    uv = position * 0.5 + 0.5;
}
"""
_PRESENT_FS = """#version 330 core
uniform sampler2D source;
in vec2 uv;
out vec4 color;
void main() {
    color = texture(source, uv);
}
"""


def decode_image_rgba(path: Path) -> np.ndarray:
    """Decode an image file (PNG, JPEG, ... via PyAV's FFmpeg) into uint8 RGBA, top row first.

    Any thread (file read and decode only). Raises ShaderSourceError naming the file when it
    cannot be read or decoded.
    """
    import av  # PyAV bundles FFmpeg's image decoders; imported lazily, only some shaders need it

    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            pixels = frame.to_ndarray(format="rgba")
    except (av.FFmpegError, StopIteration, OSError, ValueError) as exc:
        raise ShaderSourceError(path, None, f"cannot decode image: {exc}") from None
    return np.ascontiguousarray(pixels)


def _load_image_texture(ctx: moderngl.Context, path: Path) -> moderngl.Texture:
    """Decode an IMPORTED image file into an RGBA8 texture.

    Render thread (creates a texture); called at construction only. The first image row is
    the top one, GL's is the bottom one, hence the flip.
    """
    pixels = np.ascontiguousarray(decode_image_rgba(path)[::-1])
    height, width = pixels.shape[:2]
    texture = ctx.texture((width, height), 4, pixels.tobytes())
    texture.repeat_x = texture.repeat_y = False
    return texture


def _load_cube_texture(ctx: moderngl.Context, shader: IsfShader, name: str,
                       cube: ImportedCube) -> moderngl.TextureCube:
    """Decode the six faces of an IMPORTED cube map into an RGBA8 cube texture.

    Render thread (creates a texture); called at construction only. Faces are uploaded top row
    first, as cube map images are laid out (GL's cube faces are not flipped like 2D images).
    Raises ShaderSourceError at the header entry's line when a face cannot be decoded or the
    faces are not all the same square size.
    """
    faces: list[np.ndarray] = []
    for face_name, path in zip(CUBE_FACE_NAMES, cube.faces, strict=True):
        try:
            pixels = decode_image_rgba(path)
        except ShaderSourceError as exc:
            raise ShaderSourceError(shader.display_name, cube.line,
                                    f"cube map {name!r}: face {face_name} "
                                    f"({display_path(path)}): {exc.message}") from None
        height, width = pixels.shape[:2]
        first = faces[0].shape[:2] if faces else (width, width)
        if width != height or (height, width) != first:
            raise ShaderSourceError(
                shader.display_name, cube.line,
                f"cube map {name!r}: face {face_name} ({display_path(path)}) is "
                f"{width}x{height}; all six faces must be the same square size"
                + (f" (face +X is {first[1]}x{first[0]})" if faces else ""))
        faces.append(pixels)
    size = faces[0].shape[0]
    texture = ctx.texture_cube((size, size), 4, b"".join(f.tobytes() for f in faces))
    return texture


_DIM_FS = """#version 330 core
uniform sampler2D source;
uniform float dimmer;
in vec2 uv;
out vec4 color;
void main() {
    color = vec4(texture(source, uv).rgb * dimmer, 1.0);
}
"""


class TransitionRenderer:
    """An ISF transition (inputs ``startImage``, ``endImage``, ``progress``) as the engine's
    crossfade: the engine draws the outgoing and incoming scenes, then this shader mixes them.

    Render thread only. Set it as ``engine.transition`` (the engine's crossfade uses it in
    place of its plain mix while it is set; the caller owns it and releases it). The
    transition's other inputs are parameters like a layer's: ``set``/``set_mapped`` (through
    the same ShaderStage a layer uses, so events pulse for one frame and mapped values clamp).

    Args:
        ctx: The render thread's context.
        shader: A loaded ISF shader whose kind is "transition".
        params: Values of its other inputs (validated against the header).

    Raises:
        ShaderParamError: the shader is not a transition, or a parameter is wrong.
        ShaderSourceError: the shader does not compile.
    """

    def __init__(self, ctx: moderngl.Context, shader: IsfShader,
                 params: Mapping[str, Any] | None = None) -> None:
        from live.render.isf import ShaderParamError
        from live.render.layers.stage import ShaderStage  # layers build on this module

        if shader.kind != "transition":
            raise ShaderParamError(f"{shader.display_name}: not an ISF transition; a transition "
                                   "has image inputs startImage and endImage and a float progress")
        self.ctx = ctx
        self.shader = shader
        self.stage = ShaderStage(shader, dict(params or {}))
        self.stage.setup(ctx)
        self._dim: tuple[Any, ...] | None = None

    def set(self, name: str, value: Any) -> None:
        """Set an input from a user or the API (validated; ShaderParamError when wrong)."""
        self.stage.set(name, value)

    def set_mapped(self, name: str, value: float) -> None:
        """Set an input from a mapping (fitted to its type, clamped to its range)."""
        self.stage.set_mapped(name, value)

    def param_names(self) -> list[str]:
        """Inputs a mapping may drive (``progress`` is the engine's)."""
        return [n for n in self.stage.param_names() if n != "progress"]

    def render(self, target: moderngl.Framebuffer, size: tuple[int, int],
               start: moderngl.Texture, end: moderngl.Texture, progress: float,
               engine: EngineUniforms, dimmer: float = 1.0) -> None:
        """Draw the transition at ``progress`` (0 = all ``start``, 1 = all ``end``) into
        ``target`` as an opaque picture over black, dimmed by ``dimmer``. Render thread."""
        self.stage.params["progress"] = float(min(max(progress, 0.0), 1.0))
        images = {"startImage": start, "endImage": end}
        if dimmer >= 1.0:
            target.viewport = (0, 0, *size)
            target.clear(0.0, 0.0, 0.0, 1.0)
            self.stage.render(target, size, images, engine, over_black=True)
            return
        tex, fbo, program, vao = self._dim_target(size)
        fbo.clear(0.0, 0.0, 0.0, 1.0)
        self.stage.render(fbo, size, images, engine, over_black=True)
        self.ctx.disable(moderngl.BLEND)
        target.viewport = (0, 0, *size)
        target.use()
        tex.use(0)
        program["dimmer"].value = float(max(dimmer, 0.0))
        vao.render(moderngl.TRIANGLE_STRIP, vertices=4)

    def _dim_target(self, size: tuple[int, int]) -> tuple[Any, ...]:
        if self._dim is None or self._dim[0].size != tuple(size):
            self._release_dim()
            tex = self.ctx.texture(size, 4)
            fbo = self.ctx.framebuffer(color_attachments=[tex])
            program = self.ctx.program(vertex_shader=QUAD_VERTEX_SHADER, fragment_shader=_DIM_FS)
            vbo = self.ctx.buffer(_QUAD)
            vao = self.ctx.vertex_array(program, [(vbo, "2f", "position")])
            self._dim = (tex, fbo, program, vao, vbo)
        return self._dim[:4]

    def _release_dim(self) -> None:
        if self._dim is not None:
            tex, fbo, program, vao, vbo = self._dim
            vao.release()
            vbo.release()
            program.release()
            release_framebuffers(self.ctx, fbo, tex)
            self._dim = None

    def release(self) -> None:
        """Free the GL objects. Render thread."""
        self._release_dim()
        self.stage.release()

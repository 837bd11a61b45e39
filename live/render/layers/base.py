"""The layer interface. A new kind of layer (video, image, clip, camera) is one file that
subclasses `Layer` and is registered in `live/render/layers/__init__.py`.

A layer draws its content into its own RGBA16F texture (straight alpha, sRGB-encoded values) at
its render size (the output size times the layer's `scale`); then its effect chain runs; the
compositor scales the result to the output size. All methods run on the render thread.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Callable

import moderngl

from live.render.context import release_framebuffers
from live.render.isf import ShaderParamError
from live.render.layers.stage import ShaderStage
from live.render.shader_source import ShaderSourceError

if TYPE_CHECKING:
    from live.engine import ShaderLibrary
    from live.render.program import EngineUniforms
    from live.scene import LayerSpec


class LayerBuildError(ValueError):
    """A layer cannot be built; `key` is where in the layer's scene entry the problem is
    ("source", "params", "fx[1].shader", ...)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def stage_or_error(load_shader, params: dict, key: str, **stage_args) -> ShaderStage:
    """Load a shader and make its stage, turning loader and parameter errors into
    LayerBuildError at `key` ("source" -> "source"/"params"; "fx[0]" -> "fx[0].shader"/"fx[0].params")."""
    shader_key, params_key = (("source", "params") if key == "source" else (f"{key}.shader", f"{key}.params"))
    try:
        shader = load_shader()
    except (ShaderSourceError, OSError) as exc:
        raise LayerBuildError(shader_key, str(exc)) from exc
    try:
        return ShaderStage(shader, params, **stage_args)
    except ShaderParamError as exc:
        raise LayerBuildError(params_key, str(exc)) from exc


class FrameInputs:
    """What a layer may read while rendering one frame.

    `below` (the picture composited so far) is fetched only when a layer reads it, because making
    it readable can cost a clear of a full-size buffer.
    """

    __slots__ = ("engine", "named", "_below")

    def __init__(self, engine: "EngineUniforms", below: "Callable[[], moderngl.Texture] | moderngl.Texture",
                 named: dict[str, moderngl.Texture] | None = None) -> None:
        self.engine = engine
        self.named = named if named is not None else {}
        self._below = below

    @property
    def below(self) -> moderngl.Texture:
        if callable(self._below):
            self._below = self._below()
        return self._below


def scaled_size(output_size: tuple[int, int], scale: float) -> tuple[int, int]:
    """The render size of a layer with render scale `scale` (at least 1x1)."""
    return (max(1, round(output_size[0] * scale)), max(1, round(output_size[1] * scale)))


def float_target(ctx: moderngl.Context, size: tuple[int, int]) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
    """An RGBA16F texture with its framebuffer, linear filtering, clamped edges, cleared."""
    tex = ctx.texture(size, 4, dtype="f2")
    tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
    tex.repeat_x = tex.repeat_y = False
    fbo = ctx.framebuffer(color_attachments=[tex])
    fbo.clear(0.0, 0.0, 0.0, 0.0)
    return tex, fbo


class Layer(abc.ABC):
    """One layer of a scene: content drawn by a subclass, then the layer's effect chain.

    Subclasses implement `build` (a classmethod making the layer from its scene entry),
    `setup_content`, `render_content`, and the parameter methods for their own parameters.
    """

    def __init__(self, spec: "LayerSpec", fx: list[ShaderStage]) -> None:
        self.spec = spec
        self.id = spec.id
        self.blend = spec.blend
        self.opacity = float(spec.opacity)
        self.enabled = bool(spec.enabled)
        self.fx = fx
        self._fx_by_id = {stage.fx_id: stage for stage in fx}
        self.ctx: moderngl.Context | None = None
        self.size = (0, 0)
        self._fx_targets: list[tuple[moderngl.Texture, moderngl.Framebuffer]] = []
        self._output: moderngl.Texture | None = None

    @classmethod
    @abc.abstractmethod
    def build(cls, spec: "LayerSpec", shaders: "ShaderLibrary") -> "Layer":
        """Make the layer from its scene entry (no GL yet); raise ShaderParamError/ShaderSourceError."""

    # -- subclass hooks -------------------------------------------------------------------------
    @abc.abstractmethod
    def setup_content(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        """Allocate GL objects for drawing content at `size` (called again on resize)."""

    @abc.abstractmethod
    def render_content(self, inputs: FrameInputs) -> moderngl.Texture:
        """Draw this frame's content; return the texture holding it (at `self.size`)."""

    def release_content(self) -> None:
        """Free the subclass's GL objects."""

    def can_render_direct(self) -> bool:
        """True when `render_direct` can draw this frame straight onto the output."""
        return False

    def render_direct(self, inputs: FrameInputs, fbo: moderngl.Framebuffer) -> None:
        """Draw this frame source-over onto `fbo` (the opaque output, cleared to black)."""
        raise NotImplementedError

    # -- the frame ------------------------------------------------------------------------------
    def setup(self, ctx: moderngl.Context, output_size: tuple[int, int]) -> None:
        """Compile and allocate for `output_size`; may be called again when the output resizes."""
        self.ctx = ctx
        for stage in self.fx:
            stage.setup(ctx)
        size = scaled_size(output_size, self.spec.scale)
        if size == self.size:
            return
        release_framebuffers(ctx, *(obj for pair in self._fx_targets for obj in pair))
        self.size = size
        self._fx_targets = [float_target(ctx, size) for _ in range(min(2, len(self.fx)))]
        self.setup_content(ctx, size)

    def render(self, inputs: FrameInputs) -> None:
        """Draw content, then run the enabled effects in order."""
        result = self.render_content(inputs)
        k = 0
        for stage in self.fx:
            if not stage.enabled:
                continue
            tex, fbo = self._fx_targets[k % 2]
            stage.render(fbo, self.size, {"inputImage": result}, inputs.engine)
            result, k = tex, k + 1
        self._output = result

    @property
    def output(self) -> moderngl.Texture:
        """The texture holding the last rendered frame (content after effects)."""
        assert self._output is not None, "render() or setup() must run before the layer is read"
        return self._output

    # -- parameters -----------------------------------------------------------------------------
    def fx_stage(self, fx: str) -> ShaderStage:
        try:
            return self._fx_by_id[fx]
        except KeyError:
            raise ShaderParamError(f"layer '{self.id}' has no effect '{fx}'; it has: "
                                   f"{', '.join(self._fx_by_id) or 'none'}") from None

    def set_param(self, name: str, value: Any, fx: str | None = None) -> None:
        """Set a parameter (of the layer, or of its effect `fx`); validated."""
        if fx is None:
            self.set_content_param(name, value)
        else:
            self.fx_stage(fx).set(name, value)

    def set_mapped(self, name: str, value: float, fx: str | None = None) -> None:
        """Set a parameter from a mapping: clamped to its range, never raises for values."""
        if fx is None:
            self.set_content_mapped(name, value)
        else:
            self.fx_stage(fx).set_mapped(name, value)

    def check_mappable(self, name: str, fx: str | None = None) -> None:
        """Raise ShaderParamError unless one float can drive parameter `name`."""
        if fx is None:
            self.check_content_mappable(name)
        else:
            self.fx_stage(fx).fit(name, 0.0)

    def set_fx_enabled(self, fx: str, enabled: bool) -> None:
        self.fx_stage(fx).enabled = bool(enabled)

    def param_names(self, fx: str | None = None) -> list[str]:
        """Parameter names that mappings may target (besides opacity and enabled)."""
        return self.content_param_names() if fx is None else self.fx_stage(fx).param_names()

    @abc.abstractmethod
    def set_content_param(self, name: str, value: Any) -> None: ...

    @abc.abstractmethod
    def set_content_mapped(self, name: str, value: float) -> None: ...

    @abc.abstractmethod
    def check_content_mappable(self, name: str) -> None: ...

    @abc.abstractmethod
    def content_param_names(self) -> list[str]: ...

    # -- teardown -------------------------------------------------------------------------------
    def release(self) -> None:
        """Free every GL object of the layer."""
        if self.ctx is not None:
            release_framebuffers(self.ctx, *(obj for pair in self._fx_targets for obj in pair))
        self._fx_targets = []
        for stage in self.fx:
            stage.release()
        self.release_content()
        self.size = (0, 0)
        self._output = None


def build_fx_chain(spec: "LayerSpec", shaders: "ShaderLibrary") -> list[ShaderStage]:
    """The effect stages of a layer's `fx` entries (LayerBuildError on a bad shader or params)."""
    return [stage_or_error(lambda fx=fx: shaders.get(fx.shader), dict(fx.params), f"fx[{j}]",
                           fx_id=fx.id, enabled=fx.enabled)
            for j, fx in enumerate(spec.fx)]

"""Shadertoy layers: a Shadertoy (folder or API export) drawn as a layer of the scene.

The layer's ``source`` names the Shadertoy like a shader (``source = "tunnel"`` finds
``tunnel/image.glsl`` or ``tunnel.json`` in the shader folders, the user library included).
Its parameters are the mouse, which a performer drives from a controller: ``mouse_x`` and
``mouse_y`` (0..1 of the layer's width and height) and ``mouse_down`` (a button). Channels bound
to ``below`` read the picture composited under the layer; ``layer:<id>`` reads another layer.
Everything here runs on the render thread, except ``build`` (scene load).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import moderngl

from live.render.context import release_framebuffers
from live.render.isf import ShaderParamError
from live.render.layers.base import (
    FrameInputs,
    Layer,
    LayerBuildError,
    build_fx_chain,
    float_target,
)
from live.render.shader_source import ShaderSourceError
from live.render.shadertoy import (
    PARAMS,
    Shadertoy,
    ShadertoyRenderer,
    load_shadertoy,
    resolve_shadertoy_path,
)
from live.scene import LayerSpec, did_you_mean

if TYPE_CHECKING:
    from live.engine import ShaderLibrary


class ShadertoyLayer(Layer):
    """A layer drawn by a Shadertoy's passes."""

    def __init__(self, spec: LayerSpec, shader: Shadertoy, fx) -> None:
        super().__init__(spec, fx)
        self.shader = shader
        self.params: dict[str, Any] = {"mouse_x": 0.0, "mouse_y": 0.0, "mouse_down": False}
        for name, value in spec.params.items():
            self.set_content_param(name, value)
        self.renderer: ShadertoyRenderer | None = None
        self._target: tuple[moderngl.Texture, moderngl.Framebuffer] | None = None

    @classmethod
    def build(cls, spec: LayerSpec, shaders: ShaderLibrary) -> ShadertoyLayer:
        try:
            shader = load_shadertoy(resolve_shadertoy_path(spec.source or "", shaders.roots))
        except (ShaderSourceError, OSError) as exc:
            raise LayerBuildError("source", str(exc)) from exc
        try:
            return cls(spec, shader, build_fx_chain(spec, shaders))
        except ShaderParamError as exc:
            raise LayerBuildError("params", str(exc)) from exc

    # -- content ---------------------------------------------------------------------------------
    def setup_content(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        if self.renderer is None:
            self.renderer = ShadertoyRenderer(ctx, self.shader)
        if self._target is not None:
            release_framebuffers(ctx, *self._target)
        self._target = float_target(ctx, size)
        self._output = self._target[0]

    def _images(self, inputs: FrameInputs) -> dict[str, moderngl.Texture]:
        images = {layer: inputs.named[layer] for layer in self.shader.layer_inputs
                  if layer in inputs.named}
        if self.shader.reads_below:
            images["below"] = inputs.below
        return images

    def render_content(self, inputs: FrameInputs) -> moderngl.Texture:
        tex, fbo = self._target
        self.renderer.render(fbo, self.size, self.params, self._images(inputs), inputs.engine)
        return tex

    def can_render_direct(self) -> bool:
        return not any(stage.enabled for stage in self.fx)

    def render_direct(self, inputs: FrameInputs, fbo: moderngl.Framebuffer) -> None:
        # The image pass writes opaque colour, so drawing straight onto the output is exact.
        self.renderer.render(fbo, self.size, self.params, self._images(inputs), inputs.engine,
                             over_black=True)

    def release_content(self) -> None:
        if self.ctx is not None and self._target is not None:
            release_framebuffers(self.ctx, *self._target)
        self._target = None
        if self.renderer is not None:
            self.renderer.release()
            self.renderer = None

    # -- parameters ------------------------------------------------------------------------------
    def _check_name(self, name: str) -> None:
        if name not in PARAMS:
            raise ShaderParamError(f"shadertoy layer '{self.id}' has no parameter '{name}'"
                                   f"{did_you_mean(name, PARAMS)}; it has: {', '.join(PARAMS)}")

    def set_content_param(self, name: str, value: Any) -> None:
        self._check_name(name)
        if name == "mouse_down":
            if isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(value)):
                self.params[name] = bool(value >= 0.5) if not isinstance(value, bool) else value
                return
            raise ShaderParamError(f"shadertoy layer '{self.id}' parameter 'mouse_down': expected "
                                   f"true/false or a number, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ShaderParamError(f"shadertoy layer '{self.id}' parameter '{name}': expected a "
                                   f"number 0..1 (share of the layer's size), got {value!r}")
        self.params[name] = float(value)

    def set_content_mapped(self, name: str, value: float) -> None:
        self._check_name(name)
        if not math.isfinite(value):
            value = 0.0
        if name == "mouse_down":
            self.params[name] = value >= 0.5
        else:
            self.params[name] = min(max(float(value), 0.0), 1.0)

    def check_content_mappable(self, name: str) -> None:
        self._check_name(name)

    def content_param_names(self) -> list[str]:
        return list(PARAMS)

    def param_values(self, fx: str | None = None) -> dict[str, Any]:
        """Current values of the layer's parameters (or of effect ``fx``)."""
        return dict(self.params if fx is None else self.fx_stage(fx).params)

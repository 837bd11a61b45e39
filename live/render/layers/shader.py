"""Shader layers: generators, effects (reading the picture below or a named layer) and feedback
layers (reading their own previous frame).

One class serves the three kinds because they differ only in what is bound to `inputImage` and
whether the previous frame is kept. A shader with image inputs besides `inputImage` (a
displacement map, say) gets the layer named by the scene's `input` in those, and the picture
below in `inputImage`. Everything here runs on the render thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import moderngl

from live.render.context import release_framebuffers
from live.render.layers.base import FrameInputs, Layer, build_fx_chain, float_target, stage_or_error
from live.render.layers.stage import ShaderStage
from live.scene import LayerSpec

if TYPE_CHECKING:
    from live.engine import ShaderLibrary


class ShaderLayer(Layer):
    """A layer drawn by an ISF shader."""

    def __init__(self, spec: LayerSpec, main: ShaderStage, fx: list[ShaderStage]) -> None:
        super().__init__(spec, fx)
        self.main = main
        shader = main.shader
        # A feedback layer always keeps its previous frame; others only when the shader reads it.
        self._keeps_previous = spec.kind == "feedback" or shader.uses("PREV_FRAME")
        self._reads_input = any(i.name == "inputImage" for i in shader.inputs)
        # Further image inputs (warps/displace's map) are fed from the layer named by `input`.
        self._map_inputs = [i.name for i in shader.inputs if i.type == "image" and i.name != "inputImage"]
        self._own: list[tuple[moderngl.Texture, moderngl.Framebuffer]] = []
        self._current = 0

    @classmethod
    def build(cls, spec: LayerSpec, shaders: "ShaderLibrary") -> "ShaderLayer":
        main = stage_or_error(lambda: shaders.get(spec.source), dict(spec.params), "source")
        return cls(spec, main, build_fx_chain(spec, shaders))

    @property
    def reads_input(self) -> bool:
        """True when the shader has an `inputImage` (it is an effect or feedback shader)."""
        return self._reads_input

    def setup_content(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        self.main.setup(ctx)
        release_framebuffers(ctx, *(obj for pair in self._own for obj in pair))
        self._own = [float_target(ctx, size) for _ in range(2 if self._keeps_previous else 1)]
        self._current = 0
        self._output = self._own[0][0]

    def _bound_images(self, inputs: FrameInputs) -> dict[str, moderngl.Texture]:
        """The textures for the shader's image inputs this frame."""
        images: dict[str, moderngl.Texture] = {}
        if not self._reads_input:
            return images
        source = self.spec.input
        if self._map_inputs:
            # The named layer is the map; the picture the effect works on is the one below.
            images["inputImage"] = inputs.below
            if source:
                for name in self._map_inputs:
                    images[name] = inputs.named[source]
        else:
            images["inputImage"] = inputs.named[source] if source else inputs.below
        return images

    def render_content(self, inputs: FrameInputs) -> moderngl.Texture:
        engine = inputs.engine
        images = self._bound_images(inputs)
        saved_prev = engine.prev_frame
        if self._keeps_previous:
            engine.prev_frame = self._own[self._current][0]
            self._current = (self._current + 1) % len(self._own)
        else:
            engine.prev_frame = None
        tex, fbo = self._own[self._current]
        try:
            self.main.render(fbo, self.size, images, engine)
        finally:
            engine.prev_frame = saved_prev
        return tex

    def can_render_direct(self) -> bool:
        # The layer's own texture is skipped, so nothing may need it: no previous frame kept,
        # no effect chain reading it.
        return not self._keeps_previous and not any(stage.enabled for stage in self.fx)

    def render_direct(self, inputs: FrameInputs, fbo: moderngl.Framebuffer) -> None:
        images = self._bound_images(inputs)
        saved_prev, inputs.engine.prev_frame = inputs.engine.prev_frame, None
        try:
            self.main.render(fbo, self.size, images, inputs.engine, over_black=True)
        finally:
            inputs.engine.prev_frame = saved_prev

    def release_content(self) -> None:
        if self.ctx is not None:
            release_framebuffers(self.ctx, *(obj for pair in self._own for obj in pair))
        self._own = []
        self.main.release()

    # -- parameters of the layer's own shader ---------------------------------------------------
    def set_content_param(self, name: str, value: Any) -> None:
        self.main.set(name, value)

    def set_content_mapped(self, name: str, value: float) -> None:
        self.main.set_mapped(name, value)

    def check_content_mappable(self, name: str) -> None:
        self.main.fit(name, 0.0)

    def content_param_names(self) -> list[str]:
        return self.main.param_names()

    def param_values(self, fx: str | None = None) -> dict[str, Any]:
        return dict(self.main.params if fx is None else self.fx_stage(fx).params)

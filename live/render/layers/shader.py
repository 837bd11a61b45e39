"""Shader layers: generators, effects (reading the picture below or a named layer) and feedback
layers (reading their own previous frame), each with a chain of effect shaders.

One class serves the three kinds because they differ only in what is bound to `inputImage` and
whether the previous frame is kept. Everything here runs on the render thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import moderngl

from live.render.context import release_framebuffers
from live.render.isf import IsfShader, ShaderParamError
from live.render.layers.base import FrameInputs, Layer, float_target, scaled_size
from live.render.program import IsfRenderer
from live.scene import FxSpec, LayerSpec

#: ISF input types a mapping can drive with one float.
SCALAR_TYPES = ("float", "long", "bool", "event")


@dataclass
class _Stage:
    """One shader of the layer (the layer's own or an effect of its chain) and its values."""

    shader: IsfShader
    params: dict[str, Any]
    renderer: IsfRenderer | None = None
    fx_id: str | None = None
    enabled: bool = True

    def clamp_live(self, name: str, value: float) -> Any:
        """Fit a mapped float to the input's type and range (live values are clamped, not errors)."""
        spec = self.shader.input(name)
        if spec.type not in SCALAR_TYPES:
            raise ShaderParamError(
                f"{self.shader.path}: input '{name}' is a {spec.type}; only float, long, bool and "
                "event inputs can be driven by one signal")
        if not math.isfinite(value):
            value = float(spec.default) if isinstance(spec.default, (int, float)) else 0.0
        if spec.type in ("bool", "event"):
            return value >= 0.5
        lo = spec.min if spec.min is not None else -math.inf
        hi = spec.max if spec.max is not None else math.inf
        if spec.type == "long":
            if spec.values:
                lo, hi = min(spec.values), max(spec.values)
            return int(round(min(max(value, lo), hi)))
        return float(min(max(value, lo), hi))

    def event_names(self) -> list[str]:
        return [i.name for i in self.shader.inputs if i.type == "event"]


class ShaderLayer(Layer):
    """A layer drawn by an ISF shader, followed by its effect chain."""

    def __init__(self, spec: LayerSpec, shader: IsfShader, fx: list[tuple[FxSpec, IsfShader]]) -> None:
        super().__init__(spec)
        params = shader.defaults()
        params.update(shader.validate_params(dict(spec.params)))
        self._main = _Stage(shader, params)
        self._fx: list[_Stage] = []
        for fx_spec, fx_shader in fx:
            fx_params = fx_shader.defaults()
            fx_params.update(fx_shader.validate_params(dict(fx_spec.params)))
            self._fx.append(_Stage(fx_shader, fx_params, fx_id=fx_spec.id, enabled=fx_spec.enabled))
        self._fx_by_id = {s.fx_id: s for s in self._fx}
        # A feedback layer always keeps its previous frame; other layers only when the shader reads it.
        self._keeps_previous = spec.kind == "feedback" or "PREV_FRAME" in shader.fragment_source
        self._reads_input = any(i.name == "inputImage" for i in shader.inputs)
        self._events_pending: list[tuple[_Stage, str]] = []
        self.ctx: moderngl.Context | None = None
        self.size = (0, 0)
        self._own: list[tuple[moderngl.Texture, moderngl.Framebuffer]] = []
        self._fx_targets: list[tuple[moderngl.Texture, moderngl.Framebuffer]] = []
        self._current = 0
        self._output: moderngl.Texture | None = None

    # -- set-up ---------------------------------------------------------------------------------
    def setup(self, ctx: moderngl.Context, output_size: tuple[int, int]) -> None:
        self.ctx = ctx
        if self._main.renderer is None:
            self._main.renderer = IsfRenderer(ctx, self._main.shader)
            for stage in self._fx:
                stage.renderer = IsfRenderer(ctx, stage.shader)
        size = scaled_size(output_size, self.spec.scale)
        if size == self.size:
            return
        self._release_targets()
        self.size = size
        self._own = [float_target(ctx, size) for _ in range(2 if self._keeps_previous else 1)]
        self._fx_targets = [float_target(ctx, size) for _ in range(min(2, len(self._fx)))]
        self._current = 0
        self._output = self._own[0][0]

    # -- per frame ------------------------------------------------------------------------------
    def render(self, inputs: FrameInputs) -> None:
        engine = inputs.engine
        images: dict[str, moderngl.Texture] = {}
        if self._reads_input:
            source = self.spec.input
            images["inputImage"] = inputs.named[source] if source else inputs.below
        saved_prev = engine.prev_frame
        if self._keeps_previous:
            engine.prev_frame = self._own[self._current][0]
            self._current = 1 - self._current if len(self._own) == 2 else 0
        else:
            engine.prev_frame = None
        tex, fbo = self._own[self._current]
        try:
            self._main.renderer.render(fbo, self.size, self._main.params, images, engine)
            result = tex
            k = 0
            for stage in self._fx:
                if not stage.enabled:
                    continue
                fx_tex, fx_fbo = self._fx_targets[k % 2]
                stage.renderer.render(fx_fbo, self.size, stage.params, {"inputImage": result}, engine)
                result, k = fx_tex, k + 1
            self._output = result
        finally:
            engine.prev_frame = saved_prev
            self._clear_events()

    @property
    def output(self) -> moderngl.Texture:
        assert self._output is not None, "setup() must run before the layer is read"
        return self._output

    # -- parameters -----------------------------------------------------------------------------
    def _stage(self, fx: str | None) -> _Stage:
        if fx is None:
            return self._main
        try:
            return self._fx_by_id[fx]
        except KeyError:
            raise ShaderParamError(f"layer '{self.id}' has no effect '{fx}'; it has: "
                                   f"{', '.join(self._fx_by_id) or 'none'}") from None

    def set_param(self, name: str, value: Any, fx: str | None = None) -> None:
        """Set a parameter from a user or the API: validated, errors raise ShaderParamError."""
        stage = self._stage(fx)
        stage.params.update(stage.shader.validate_params({name: value}))
        if stage.shader.input(name).type == "event" and stage.params[name]:
            self._events_pending.append((stage, name))

    def set_mapped(self, name: str, value: float, fx: str | None = None) -> None:
        """Set a parameter from a mapping: clamped to the declared range, never raises for values."""
        stage = self._stage(fx)
        stage.params[name] = v = stage.clamp_live(name, value)
        if v is True and stage.shader.input(name).type == "event":
            self._events_pending.append((stage, name))

    def check_mappable(self, name: str, fx: str | None = None) -> None:
        """Raise ShaderParamError unless `name` exists and one float can drive it."""
        stage = self._stage(fx)
        stage.clamp_live(name, 0.0)

    def set_fx_enabled(self, fx: str, enabled: bool) -> None:
        self._stage(fx).enabled = bool(enabled)

    def param_names(self, fx: str | None = None) -> list[str]:
        return [i.name for i in self._stage(fx).shader.inputs if i.type not in ("image", "audio", "audioFFT")]

    def param_values(self, fx: str | None = None) -> dict[str, Any]:
        return dict(self._stage(fx).params)

    def _clear_events(self) -> None:
        # An event input is true for exactly one rendered frame.
        for stage, name in self._events_pending:
            stage.params[name] = False
        self._events_pending.clear()

    # -- teardown -------------------------------------------------------------------------------
    def _release_targets(self) -> None:
        if self.ctx is not None:
            release_framebuffers(self.ctx, *(obj for pair in self._own + self._fx_targets for obj in pair))
        self._own, self._fx_targets = [], []

    def release(self) -> None:
        self._release_targets()
        for stage in [self._main, *self._fx]:
            if stage.renderer is not None:
                stage.renderer.release()
                stage.renderer = None
        self.size = (0, 0)

"""One ISF shader with its parameter values and its compiled renderer.

Both a shader layer's own shader and each effect of a layer's chain are stages. Render thread.
"""

from __future__ import annotations

import math
from typing import Any

import moderngl

from live.render.isf import IsfShader, ShaderParamError
from live.render.program import EngineUniforms, IsfRenderer
from live.render.vsa import renderer_for

#: ISF input types a mapping can drive with one float.
SCALAR_TYPES = ("float", "long", "bool", "event")


class ShaderStage:
    """A shader, its current parameter values, and (after `setup`) its renderer."""

    def __init__(self, shader: IsfShader, params: dict[str, Any], *, fx_id: str | None = None,
                 enabled: bool = True) -> None:
        self.shader = shader
        self.params = shader.defaults()
        self.params.update(shader.validate_params(dict(params)))
        self.fx_id = fx_id
        self.enabled = enabled
        self.renderer: IsfRenderer | None = None
        self._fired_events: list[str] = []

    def setup(self, ctx: moderngl.Context) -> None:
        if self.renderer is None:
            self.renderer = renderer_for(ctx, self.shader)  # IsfRenderer, or VsaRenderer

    def render(self, fbo: moderngl.Framebuffer, size: tuple[int, int],
               images: dict[str, moderngl.Texture], engine: EngineUniforms, *,
               over_black: bool = False) -> None:
        try:
            self.renderer.render(fbo, size, self.params, images, engine, over_black=over_black)
        finally:
            # An event input is true for exactly one rendered frame.
            for name in self._fired_events:
                self.params[name] = False
            self._fired_events.clear()

    def set(self, name: str, value: Any) -> None:
        """Set from a user or the API: validated; errors raise ShaderParamError."""
        self.params.update(self.shader.validate_params({name: value}))
        if self.shader.input(name).type == "event" and self.params[name]:
            self._fired_events.append(name)

    def set_mapped(self, name: str, value: float) -> None:
        """Set from a mapping: fitted to the input's type and clamped to its range."""
        self.params[name] = v = self.fit(name, value)
        if v is True and self.shader.input(name).type == "event":
            self._fired_events.append(name)

    def fit(self, name: str, value: float) -> Any:
        """A float fitted to input `name` (live values are clamped, never an error)."""
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

    def param_names(self) -> list[str]:
        return [i.name for i in self.shader.inputs if i.type not in ("image", "audio", "audioFFT")]

    def release(self) -> None:
        if self.renderer is not None:
            self.renderer.release()
            self.renderer = None

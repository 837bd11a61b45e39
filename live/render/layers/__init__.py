"""Layer kinds by name. A new kind is one module with a `Layer` subclass plus one line here."""

from __future__ import annotations

from live.render.layers.base import FrameInputs, Layer
from live.render.layers.shader import ShaderLayer

#: Layer classes by the `kind` of a scene's `[[layers]]` entry.
LAYER_CLASSES: dict[str, type[Layer]] = {
    "shader": ShaderLayer,
    "effect": ShaderLayer,
    "feedback": ShaderLayer,
}

__all__ = ["FrameInputs", "LAYER_CLASSES", "Layer", "ShaderLayer"]

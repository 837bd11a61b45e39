"""Layer kinds by name. A new kind is one module with a `Layer` subclass plus one line here."""

from __future__ import annotations

from live.render.layers.base import FrameInputs, Layer
from live.render.layers.image import ImageLayer
from live.render.layers.shader import ShaderLayer
from live.render.layers.shadertoy import ShadertoyLayer
from live.render.layers.video import VideoLayer

#: Layer classes by the `kind` of a scene's `[[layers]]` entry.
LAYER_CLASSES: dict[str, type[Layer]] = {
    "shader": ShaderLayer,
    "effect": ShaderLayer,
    "feedback": ShaderLayer,
    "video": VideoLayer,
    "image": ImageLayer,
    "shadertoy": ShadertoyLayer,
}

__all__ = ["FrameInputs", "ImageLayer", "LAYER_CLASSES", "Layer", "ShaderLayer", "ShadertoyLayer",
           "VideoLayer"]

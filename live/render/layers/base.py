"""The layer interface. A new kind of layer (video, image, clip, camera) is one file that
subclasses `Layer` and is registered in `live/render/layers/__init__.py`.

A layer owns its output texture (RGBA16F, straight alpha, sRGB-encoded values) at its render size
(the output size times the layer's `scale`); the compositor scales it to the output size.
All methods run on the render thread.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import moderngl

if TYPE_CHECKING:
    from live.render.program import EngineUniforms
    from live.scene import LayerSpec


@dataclass
class FrameInputs:
    """What a layer may read while rendering one frame."""

    engine: "EngineUniforms"
    below: moderngl.Texture            # the picture composited so far (what an effect reads)
    named: dict[str, moderngl.Texture] = field(default_factory=dict)  # outputs of earlier layers by id


class Layer(abc.ABC):
    """One layer of a scene: set up once, rendered each frame, read through `output`."""

    def __init__(self, spec: "LayerSpec") -> None:
        self.spec = spec
        self.id = spec.id
        self.blend = spec.blend
        self.opacity = float(spec.opacity)
        self.enabled = bool(spec.enabled)

    @abc.abstractmethod
    def setup(self, ctx: moderngl.Context, output_size: tuple[int, int]) -> None:
        """Allocate GL objects for `output_size`; may be called again when the output resizes."""

    @abc.abstractmethod
    def render(self, inputs: FrameInputs) -> None:
        """Draw this frame into the output texture."""

    @property
    @abc.abstractmethod
    def output(self) -> moderngl.Texture:
        """The texture holding the last rendered frame."""

    @abc.abstractmethod
    def set_param(self, name: str, value: Any, fx: str | None = None) -> None:
        """Set a parameter by name (of the layer, or of its effect `fx`); validated."""

    def param_names(self, fx: str | None = None) -> list[str]:
        """Parameter names that mappings may target (besides opacity, enabled, blend)."""
        return []

    def release(self) -> None:
        """Free GL objects."""


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

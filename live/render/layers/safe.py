"""The safe layer: what `panic` cuts to. It depends on nothing but GL — no shader files, no
includes, no audio — so it renders even when everything else on disk is broken.

Render thread only.
"""

from __future__ import annotations

from typing import Any

import moderngl

from live.render.compositor import FULLSCREEN_VERTEX
from live.render.context import release_framebuffers
from live.render.isf import ShaderParamError
from live.render.layers.base import FrameInputs, Layer, float_target
from live.scene import LayerSpec, SceneSpec

_SAFE_FRAGMENT = """
#version 330 core
in vec2 v_uv;
out vec4 f_color;
uniform float u_time;
void main() {
    // A calm, dark, slowly drifting blue gradient: obviously 'on', never flashing.
    float drift = 0.5 + 0.5 * sin(u_time * 0.2 + v_uv.x * 2.0 + v_uv.y);
    vec3 c = mix(vec3(0.02, 0.03, 0.06), vec3(0.05, 0.09, 0.16), drift * (1.0 - 0.5 * v_uv.y));
    f_color = vec4(c, 1.0);
}
"""

SAFE_LAYER_ID = "safe"


class SafeLayer(Layer):
    """A built-in generator with an inline program and no parameters."""

    def __init__(self, spec: LayerSpec) -> None:
        super().__init__(spec, [])
        self._prog: moderngl.Program | None = None
        self._vao: moderngl.VertexArray | None = None
        self._target: tuple[moderngl.Texture, moderngl.Framebuffer] | None = None

    @classmethod
    def build(cls, spec: LayerSpec, shaders=None) -> "SafeLayer":
        return cls(spec)

    def setup_content(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        if self._prog is None:
            self._prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_SAFE_FRAGMENT)
            self._vao = ctx.vertex_array(self._prog, [])
        if self._target is not None:
            release_framebuffers(ctx, *self._target)
        self._target = float_target(ctx, size)
        self._output = self._target[0]

    def render_content(self, inputs: FrameInputs) -> moderngl.Texture:
        tex, fbo = self._target
        fbo.use()
        self.ctx.disable(moderngl.BLEND)
        self._prog["u_time"].value = float(inputs.engine.time)
        self._vao.render(moderngl.TRIANGLES, vertices=3)
        return tex

    def release_content(self) -> None:
        if self._target is not None and self.ctx is not None:
            release_framebuffers(self.ctx, *self._target)
        self._target = None
        for obj in (self._vao, self._prog):
            if obj is not None:
                obj.release()
        self._vao = self._prog = None

    def set_content_param(self, name: str, value: Any) -> None:
        raise ShaderParamError(f"the safe scene has no parameter '{name}'")

    set_content_mapped = set_content_param

    def check_content_mappable(self, name: str) -> None:
        raise ShaderParamError(f"the safe scene has no parameter '{name}'")

    def content_param_names(self) -> list[str]:
        return []


def safe_scene_spec(bpm: float = 120.0) -> SceneSpec:
    """The scene `panic` cuts to (built in; no file behind it)."""
    layer = LayerSpec(id=SAFE_LAYER_ID, kind="safe", source=None)
    return SceneSpec(path=None, name="safe", description="Built-in safe scene (panic)", bpm=bpm,
                     beats_per_bar=4, layers=(layer,))

"""The compositor: blends layer outputs into the program picture.

Maths (ARCHITECTURE.md "Compositing maths"): layers hand over straight-alpha RGBA with
sRGB-encoded values. Each layer is blended onto the backdrop with a separable blend function B
from W3C Compositing and Blending Level 1, then composited source-over with alpha = layer alpha
times opacity:

    Cs' = (1 - ab) * Cs + ab * B(Cb, Cs)
    co  = as * Cs' + (1 - as) * ab * Cb          (premultiplied)
    ao  = as + ab * (1 - as)
    Co  = co / ao                                 (stored straight again)

`add` is min(Cb + Cs, 1) and `subtract` is max(Cb - Cs, 0); the rest are the W3C definitions,
soft light included. Accumulation runs in RGBA16F buffers at the output size.

Everything here runs on the render thread.
"""

from __future__ import annotations

import moderngl

from live.render.context import release_framebuffers
from live.scene import BLEND_MODES

#: Index of each blend mode in the shader's switch.
BLEND_INDEX = {name: i for i, name in enumerate(BLEND_MODES)}

FULLSCREEN_VERTEX = """
#version 330 core
out vec2 v_uv;
void main() {
    // One triangle that covers the viewport; no vertex buffer needed.
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    v_uv = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

_BLEND_FRAGMENT = """
#version 330 core
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_backdrop;   // accumulated picture, output size, straight alpha
uniform sampler2D u_source;     // the layer, any size (sampled with linear filtering)
uniform int u_mode;
uniform float u_opacity;
uniform bool u_present;   // last layer: write straight to the output, over black, dimmed
uniform float u_dimmer;

vec3 soft_light(vec3 cb, vec3 cs) {
    vec3 d = mix(sqrt(cb), ((16.0 * cb - 12.0) * cb + 4.0) * cb, step(cb, vec3(0.25)));
    vec3 lo = cb - (1.0 - 2.0 * cs) * cb * (1.0 - cb);
    vec3 hi = cb + (2.0 * cs - 1.0) * (d - cb);
    return mix(hi, lo, step(cs, vec3(0.5)));
}

vec3 hard_light(vec3 cb, vec3 cs) {
    vec3 mul = cb * 2.0 * cs;
    vec3 s2 = 2.0 * cs - 1.0;
    vec3 scr = cb + s2 - cb * s2;
    return mix(scr, mul, step(cs, vec3(0.5)));
}

vec3 blend(vec3 cb, vec3 cs) {
    if (u_mode == 1) return min(cb + cs, vec3(1.0));            // add
    if (u_mode == 2) return cb + cs - cb * cs;                   // screen
    if (u_mode == 3) return cb * cs;                             // multiply
    if (u_mode == 4) return hard_light(cs, cb);                  // overlay = hard light, swapped
    if (u_mode == 5) return abs(cb - cs);                        // difference
    if (u_mode == 6) return max(cb, cs);                         // lighten
    if (u_mode == 7) return min(cb, cs);                         // darken
    if (u_mode == 8) return max(cb - cs, vec3(0.0));             // subtract
    if (u_mode == 9) return soft_light(cb, cs);                  // soft light
    return cs;                                                   // normal
}

vec4 sanitize(vec4 c) {
    // A broken shader may output NaN or values outside 0..1; never let that poison the picture.
    bvec4 bad = isnan(c);
    c = vec4(bad.x ? 0.0 : c.x, bad.y ? 0.0 : c.y, bad.z ? 0.0 : c.z, bad.w ? 0.0 : c.w);
    return clamp(c, 0.0, 1.0);
}

void main() {
    vec4 b = sanitize(texelFetch(u_backdrop, ivec2(gl_FragCoord.xy), 0));
    vec4 s = sanitize(texture(u_source, v_uv));
    float as_ = s.a * clamp(u_opacity, 0.0, 1.0);
    vec3 cs = (1.0 - b.a) * s.rgb + b.a * blend(b.rgb, s.rgb);
    vec3 co = as_ * cs + (1.0 - as_) * b.a * b.rgb;
    float ao = as_ + b.a * (1.0 - as_);
    if (u_present) {
        // co is premultiplied, which is exactly the picture over opaque black.
        f_color = vec4(co * clamp(u_dimmer, 0.0, 1.0), 1.0);
    } else {
        f_color = ao > 0.0 ? vec4(co / ao, ao) : vec4(0.0);
    }
}
"""

_PRESENT_FRAGMENT = """
#version 330 core
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_picture;
uniform float u_dimmer;
void main() {
    vec4 c = clamp(texelFetch(u_picture, ivec2(gl_FragCoord.xy), 0), 0.0, 1.0);
    // Straight alpha over opaque black: the projector shows black where nothing is drawn.
    f_color = vec4(c.rgb * c.a * clamp(u_dimmer, 0.0, 1.0), 1.0);
}
"""


class Compositor:
    """Blends layer textures into an RGBA16F picture and presents it over black. Render thread."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        self.ctx = ctx
        self._blend_prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_BLEND_FRAGMENT)
        self._present_prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_PRESENT_FRAGMENT)
        self._blend_vao = ctx.vertex_array(self._blend_prog, [])
        self._present_vao = ctx.vertex_array(self._present_prog, [])
        self._blend_prog["u_backdrop"].value = 0
        self._blend_prog["u_source"].value = 1
        self._present_prog["u_picture"].value = 0
        self._u_mode = self._blend_prog["u_mode"]
        self._u_opacity = self._blend_prog["u_opacity"]
        self._u_present = self._blend_prog["u_present"]
        self._u_blend_dimmer = self._blend_prog["u_dimmer"]
        self._u_dimmer = self._present_prog["u_dimmer"]
        self.size = (0, 0)
        self._textures: list[moderngl.Texture] = []
        self._fbos: list[moderngl.Framebuffer] = []
        self._current = 0
        self.resize(size)

    def resize(self, size: tuple[int, int]) -> None:
        """Reallocate the accumulation buffers for a new output size."""
        if tuple(size) == self.size:
            return
        self._release_buffers()
        self.size = (int(size[0]), int(size[1]))
        for _ in range(2):
            tex = self.ctx.texture(self.size, 4, dtype="f2")
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = False
            self._textures.append(tex)
            self._fbos.append(self.ctx.framebuffer(color_attachments=[tex]))
        self._current = 0

    def begin(self) -> None:
        """Start a frame: the backdrop becomes transparent black."""
        self._current = 0
        self._fbos[0].clear(0.0, 0.0, 0.0, 0.0)

    @property
    def picture(self) -> moderngl.Texture:
        """The picture so far (straight alpha, RGBA16F): what an effect layer reads as 'below'."""
        return self._textures[self._current]

    def blend(self, source: moderngl.Texture, mode: str = "normal", opacity: float = 1.0) -> None:
        """Blend `source` onto the picture with a blend mode from BLEND_MODES."""
        target = 1 - self._current
        self._draw_blend(self._fbos[target], source, mode, opacity, present=False, dimmer=1.0)
        self._current = target

    def blend_and_present(self, source: moderngl.Texture, mode: str, opacity: float,
                          fbo: moderngl.Framebuffer, dimmer: float = 1.0) -> None:
        """Blend the last layer and present the result over black into `fbo` in one pass.

        Saves a full-screen pass per frame (about 1 ms at 640x360 on llvmpipe). The picture
        itself is left without this layer, so call it only for the frame's last layer.
        """
        self._draw_blend(fbo, source, mode, opacity, present=True, dimmer=dimmer)

    def _draw_blend(self, fbo: moderngl.Framebuffer, source: moderngl.Texture, mode: str,
                    opacity: float, *, present: bool, dimmer: float) -> None:
        fbo.use()
        self.ctx.disable(moderngl.BLEND)
        self._textures[self._current].use(0)
        source.use(1)
        self._u_mode.value = BLEND_INDEX[mode]
        self._u_opacity.value = float(opacity)
        self._u_present.value = present
        self._u_blend_dimmer.value = float(dimmer)
        self._blend_vao.render(moderngl.TRIANGLES, vertices=3)

    def present(self, fbo: moderngl.Framebuffer, dimmer: float = 1.0) -> None:
        """Draw the picture over black into `fbo` (the output's size must equal ours)."""
        fbo.use()
        self.ctx.disable(moderngl.BLEND)
        self._textures[self._current].use(0)
        self._u_dimmer.value = float(dimmer)
        self._present_vao.render(moderngl.TRIANGLES, vertices=3)

    def _release_buffers(self) -> None:
        release_framebuffers(self.ctx, *self._fbos, *self._textures)
        self._fbos.clear()
        self._textures.clear()

    def release(self) -> None:
        self._release_buffers()
        for obj in (self._blend_vao, self._present_vao, self._blend_prog, self._present_prog):
            obj.release()

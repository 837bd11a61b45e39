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

# One program per (blend mode, first layer, present) variant, chosen by #defines, so each draw
# runs only the arithmetic it needs: on llvmpipe a full-screen pass costs about 1 ms at 640x360,
# and the blend pass is the engine's main overhead over a bare shader loop.
_BLEND_FRAGMENT = """
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_backdrop;   // accumulated picture, output size, straight alpha
uniform sampler2D u_source;     // the layer, any size
uniform float u_opacity;
uniform float u_dimmer;

vec4 sanitize(vec4 c) {
    // A broken shader may output NaN or values outside 0..1; never let that poison the picture.
    return clamp(mix(c, vec4(0.0), isnan(c)), 0.0, 1.0);
}

#if MODE == 9
vec3 blend(vec3 cb, vec3 cs) {  // soft light
    vec3 d = mix(sqrt(cb), ((16.0 * cb - 12.0) * cb + 4.0) * cb, step(cb, vec3(0.25)));
    vec3 lo = cb - (1.0 - 2.0 * cs) * cb * (1.0 - cb);
    vec3 hi = cb + (2.0 * cs - 1.0) * (d - cb);
    return mix(hi, lo, step(cs, vec3(0.5)));
}
#elif MODE == 4
vec3 blend(vec3 cb, vec3 cs) {  // overlay = hard light with the operands swapped
    vec3 b2 = 2.0 * cb - 1.0;
    return mix(cs + b2 - cs * b2, cs * 2.0 * cb, step(cb, vec3(0.5)));
}
#else
vec3 blend(vec3 cb, vec3 cs) {
#if MODE == 1
    return min(cb + cs, vec3(1.0));          // add
#elif MODE == 2
    return cb + cs - cb * cs;                // screen
#elif MODE == 3
    return cb * cs;                          // multiply
#elif MODE == 5
    return abs(cb - cs);                     // difference
#elif MODE == 6
    return max(cb, cs);                      // lighten
#elif MODE == 7
    return min(cb, cs);                      // darken
#elif MODE == 8
    return max(cb - cs, vec3(0.0));          // subtract
#else
    return cs;                               // normal
#endif
}
#endif

void main() {
#if SAME_SIZE
    vec4 s = sanitize(texelFetch(u_source, ivec2(gl_FragCoord.xy), 0));
#else
    vec4 s = sanitize(texture(u_source, v_uv));
#endif
    float as_ = s.a * clamp(u_opacity, 0.0, 1.0);
#if FIRST
    // Onto transparent black every blend mode gives the source itself.
    vec3 co = as_ * s.rgb;
    float ao = as_;
#else
    vec4 b = texelFetch(u_backdrop, ivec2(gl_FragCoord.xy), 0);
    vec3 cs = (1.0 - b.a) * s.rgb + b.a * blend(b.rgb, s.rgb);
    vec3 co = as_ * cs + (1.0 - as_) * b.a * b.rgb;
    float ao = as_ + b.a * (1.0 - as_);
#endif
#if PRESENT
    // co is premultiplied, which is exactly the picture over opaque black.
    f_color = vec4(co * clamp(u_dimmer, 0.0, 1.0), 1.0);
#else
    f_color = ao > 0.0 ? vec4(co / ao, ao) : vec4(0.0);
#endif
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
        self._variants: dict[tuple[int, bool, bool, bool], tuple[moderngl.Program, moderngl.VertexArray]] = {}
        self._present_prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_PRESENT_FRAGMENT)
        self._present_vao = ctx.vertex_array(self._present_prog, [])
        self._present_prog["u_picture"].value = 0
        self._u_dimmer = self._present_prog["u_dimmer"]
        self.size = (0, 0)
        self._textures: list[moderngl.Texture] = []
        self._fbos: list[moderngl.Framebuffer] = []
        self._current = 0
        self._empty = True
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
        self._empty = True

    def _variant(self, mode: str, first: bool, present: bool, same_size: bool):
        key = (BLEND_INDEX[mode], first, present, same_size)
        hit = self._variants.get(key)
        if hit is None:
            defines = (f"#version 330 core\n#define MODE {key[0]}\n#define FIRST {int(first)}\n"
                       f"#define PRESENT {int(present)}\n#define SAME_SIZE {int(same_size)}\n")
            prog = self.ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=defines + _BLEND_FRAGMENT)
            for name, unit in (("u_backdrop", 0), ("u_source", 1)):
                if name in prog:
                    prog[name].value = unit
            hit = self._variants[key] = (prog, self.ctx.vertex_array(prog, []))
        return hit

    def begin(self) -> None:
        """Start a frame: the picture is transparent black until the first layer is blended."""
        self._current = 0
        self._empty = True

    @property
    def picture(self) -> moderngl.Texture:
        """The picture so far (straight alpha, RGBA16F): what an effect layer reads as 'below'."""
        if self._empty:
            # Cleared only when somebody reads it: the first blend overwrites every pixel anyway.
            self._fbos[self._current].clear(0.0, 0.0, 0.0, 0.0)
            self._empty = False
        return self._textures[self._current]

    def blend(self, source: moderngl.Texture, mode: str = "normal", opacity: float = 1.0) -> None:
        """Blend `source` onto the picture with a blend mode from BLEND_MODES."""
        target = 1 - self._current
        self._draw(self._fbos[target], source, mode, opacity, present=False, dimmer=1.0)
        self._current = target
        self._empty = False

    def blend_and_present(self, source: moderngl.Texture, mode: str, opacity: float,
                          fbo: moderngl.Framebuffer, dimmer: float = 1.0) -> None:
        """Blend the last layer and present the result over black into `fbo` in one pass.

        Saves a full-screen pass per frame. The picture itself is left without this layer, so
        call it only for the frame's last layer.
        """
        self._draw(fbo, source, mode, opacity, present=True, dimmer=dimmer)

    def _draw(self, fbo: moderngl.Framebuffer, source: moderngl.Texture, mode: str,
              opacity: float, *, present: bool, dimmer: float) -> None:
        prog, vao = self._variant(mode, self._empty, present, source.size == self.size)
        fbo.use()
        self.ctx.disable(moderngl.BLEND)
        if not self._empty:
            self._textures[self._current].use(0)
        source.use(1)
        prog["u_opacity"].value = float(opacity)
        if present:
            prog["u_dimmer"].value = float(dimmer)
        vao.render(moderngl.TRIANGLES, vertices=3)

    def present(self, fbo: moderngl.Framebuffer, dimmer: float = 1.0) -> None:
        """Draw the picture over black into `fbo` (the output's size must equal ours)."""
        if self._empty:
            fbo.clear(0.0, 0.0, 0.0, 1.0)
            return
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
        for prog, vao in self._variants.values():
            vao.release()
            prog.release()
        self._variants.clear()
        self._present_vao.release()
        self._present_prog.release()

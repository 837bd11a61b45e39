/*{
    "DESCRIPTION": "Scanlines: an old CRT screen, with dark gaps between the lines, an RGB shadow mask, a slightly curved glass and a faint bright band rolling down.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Retro"],
    "STEP_BOUND": 0.07,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Line darkness (0 = off)"},
        {"NAME": "pitch", "TYPE": "float", "DEFAULT": 3.0, "MIN": 1.5, "MAX": 12.0, "LABEL": "Line spacing (px at 360 lines)"},
        {"NAME": "mask", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "RGB shadow mask"},
        {"NAME": "curvature", "TYPE": "float", "DEFAULT": 0.08, "MIN": 0.0, "MAX": 0.5, "IDENTITY": 0.0, "LABEL": "Glass curvature"},
        {"NAME": "roll", "TYPE": "float", "DEFAULT": 0.1, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Rolling bright band"}
    ]
}*/

// Runs on the render thread (GPU). The curved glass is a barrel bend of the lookup with black
// outside the tube; the lines darken by a raised cosine of the line phase (smooth, so a pitch
// near the pixel size gives soft shading rather than moire); the mask tints each column red,
// green or blue in turn; the band is a soft bright stripe moving down at a slow fixed speed.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 c = uv * 2.0 - 1.0;
    vec2 bent = c * (1.0 + curvature * vec2(c.y * c.y, c.x * c.x));
    vec2 at = bent * 0.5 + 0.5;
    vec4 src = IMG_NORM_PIXEL(inputImage, at);
    vec2 px = 1.0 / max(RENDERSIZE, vec2(1.0));
    vec2 inner = smoothstep(-0.5 * px, 0.5 * px, at) * smoothstep(-0.5 * px, 0.5 * px, 1.0 - at);
    float tube = inner.x * inner.y;
    float linePx = pitch * RENDERSIZE.y / 360.0;
    float line = 0.5 + 0.5 * cos(WARP_TAU * (gl_FragCoord.y - 0.5 * RENDERSIZE.y) / max(linePx, 1.0));
    vec3 rgb = src.rgb * (1.0 - amount * (1.0 - line));
    int column = int(mod(floor(gl_FragCoord.x), 3.0));
    vec3 tint = column == 0 ? vec3(1.0, 0.4, 0.4) : (column == 1 ? vec3(0.4, 1.0, 0.4) : vec3(0.4, 0.4, 1.0));
    rgb *= mix(vec3(1.0), tint * 1.5, mask);
    float band = exp(-pow((fract(uv.y + TIME * 0.1) - 0.5) / 0.08, 2.0));
    rgb += roll * 0.15 * band;
    gl_FragColor = vec4(clamp(rgb * tube, 0.0, 1.0), src.a);
}

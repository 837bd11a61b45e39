/*{
    "DESCRIPTION": "Dither: reduces the picture to a few levels with an ordered (Bayer) dot pattern, like an old computer or a 1-bit display, in colour or black and white.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Stylize", "Retro"],
    "STEP_BOUND": 0.09,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "levels", "TYPE": "float", "DEFAULT": 3.0, "MIN": 2.0, "MAX": 16.0, "LABEL": "Levels per channel"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 2.0, "MIN": 1.0, "MAX": 8.0, "LABEL": "Dot size (px at 360 lines)"},
        {"NAME": "mode", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1], "LABELS": ["Colour", "Black and white"], "LABEL": "Style"}
    ]
}*/

// Runs on the render thread (GPU). The 8x8 Bayer threshold is built from the bits of the dot's
// x and y (interleaving x XOR y with y, bit-reversed), so it needs no table; adding it before
// rounding spreads each level's error into a fine, regular pattern. The dot grid is scaled for a
// 360-line picture.

#include "common/warp.glsl"

float bayer8(ivec2 p) {
    int x = p.x & 7;
    int y = p.y & 7;
    int v = x ^ y;
    // Bit-reverse-interleave (v, y): v0 y0 v1 y1 v2 y2 from the most significant end.
    int m = ((v & 1) << 5) | ((y & 1) << 4) | ((v & 2) << 2) | ((y & 2) << 1) | ((v & 4) >> 1) | ((y & 4) >> 2);
    return (float(m) + 0.5) / 64.0;
}

void main() {
    vec2 uv = isf_FragNormCoord;
    vec4 src = IMG_NORM_PIXEL(inputImage, uv);
    float dot_ = max(scale * RENDERSIZE.y / 360.0, 1.0);
    // The pattern is anchored at the middle of the picture, so a change of dot size moves it
    // least there.
    float threshold = bayer8(ivec2(floor((gl_FragCoord.xy - 0.5 * RENDERSIZE) / dot_) + 4096.0)) - 0.5;
    float n = max(levels - 1.0, 1.0);
    vec3 value = mode == 1 ? vec3(warp_luma(src.rgb)) : src.rgb;
    vec3 dithered = clamp(floor(value * n + 0.5 + threshold) / n, 0.0, 1.0);
    gl_FragColor = vec4(mix(src.rgb, dithered, clamp(amount, 0.0, 1.0)), src.a);
}

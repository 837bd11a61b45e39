/*{
    "DESCRIPTION": "Edge detect: finds the outlines in the picture and draws them as glowing neon in the picture's colours, as white lines on black, or as ink lines over the picture.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Stylize"],
    "STEP_BOUND": 0.006,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "strength", "TYPE": "float", "DEFAULT": 3.0, "MIN": 0.5, "MAX": 10.0, "LABEL": "Edge strength"},
        {"NAME": "width", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.5, "MAX": 4.0, "LABEL": "Line width (px at 360 lines)"},
        {"NAME": "threshold", "TYPE": "float", "DEFAULT": 0.05, "MIN": 0.0, "MAX": 0.5, "LABEL": "Ignore edges below"},
        {"NAME": "mode", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2], "LABELS": ["Neon (coloured on black)", "White on black", "Ink over the picture"], "LABEL": "Style"}
    ]
}*/

// Runs on the render thread (GPU). The gradient comes from four diagonal linear-filtered reads,
// each averaging a 2x2 block, which together make a Sobel-like 4x4 operator for the price of
// four reads. Its length, past the threshold and scaled, is the edge; the styles then colour it.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 texel = 1.0 / max(IMG_SIZE(inputImage), vec2(1.0));
    vec2 d = max(width * IMG_SIZE(inputImage).y / 360.0, 0.5) * texel;
    vec4 src = IMG_NORM_PIXEL(inputImage, uv);
    float tl = warp_luma(IMG_NORM_PIXEL(inputImage, uv + vec2(-d.x, d.y)).rgb);
    float tr = warp_luma(IMG_NORM_PIXEL(inputImage, uv + d).rgb);
    float bl = warp_luma(IMG_NORM_PIXEL(inputImage, uv - d).rgb);
    float br = warp_luma(IMG_NORM_PIXEL(inputImage, uv + vec2(d.x, -d.y)).rgb);
    vec2 gradient = vec2(tr + br - tl - bl, tl + tr - bl - br);
    float edge = clamp((length(gradient) - threshold) * strength, 0.0, 1.0);
    vec3 neon = src.rgb * edge * 1.5;
    vec3 white = vec3(edge);
    vec3 ink = src.rgb * (1.0 - edge);
    vec3 styled = mode == 0 ? neon : (mode == 1 ? white : ink);
    gl_FragColor = vec4(clamp(mix(src.rgb, styled, clamp(amount, 0.0, 1.0)), 0.0, 1.0), src.a);
}

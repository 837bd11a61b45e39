/*{
    "DESCRIPTION": "Threshold: turns the picture into two colours (black and white by default), split at a brightness level that the bass can lower.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Colour", "Stylize", "Audio reactive"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "level", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Brightness level"},
        {"NAME": "softness", "TYPE": "float", "DEFAULT": 0.05, "MIN": 0.0, "MAX": 0.5, "LABEL": "Softness of the edge"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "dark", "TYPE": "color", "DEFAULT": [0.0, 0.0, 0.0, 1.0], "LABEL": "Dark colour"},
        {"NAME": "light", "TYPE": "color", "DEFAULT": [1.0, 1.0, 1.0, 1.0], "LABEL": "Light colour"},
        {"NAME": "bass_drop", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 0.5, "IDENTITY": 0.0, "LABEL": "Bass lowers the level by"}
    ]
}*/

// Runs on the render thread (GPU). A smoothstep around the level, at least a thousandth wide,
// so a level moved by a mapping slides the edge across the picture rather than flipping
// whole areas at once. The colours' alpha scales the result's coverage.

#include "common/warp.glsl"

void main() {
    vec4 src = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
    float at = level - bass_drop * clamp(BASS, 0.0, 1.0);
    float half_ = max(softness, 1e-3) * 0.5;
    float t = smoothstep(at - half_, at + half_, warp_luma(src.rgb));
    vec4 two = mix(dark, light, t);
    float k = clamp(amount, 0.0, 1.0);
    gl_FragColor = vec4(mix(src.rgb, two.rgb, k), src.a * mix(1.0, two.a, k));
}

/*{
    "DESCRIPTION": "Duotone: recolours the picture with two inks, one for the shadows and one for the highlights, like a two-colour print.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Colour"],
    "STEP_BOUND": 0.006,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "shadow", "TYPE": "color", "DEFAULT": [0.12, 0.04, 0.35, 1.0], "LABEL": "Shadow ink"},
        {"NAME": "highlight", "TYPE": "color", "DEFAULT": [1.0, 0.75, 0.3, 1.0], "LABEL": "Highlight ink"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "contrast", "TYPE": "float", "DEFAULT": 1.2, "MIN": 0.25, "MAX": 4.0, "LABEL": "Contrast"},
        {"NAME": "balance", "TYPE": "float", "DEFAULT": 0.0, "MIN": -1.0, "MAX": 1.0, "LABEL": "Balance (+ more highlight ink)"}
    ]
}*/

// Runs on the render thread (GPU). Brightness, with contrast about a midpoint moved by the
// balance, picks the mix of the two inks.

#include "common/warp.glsl"

void main() {
    vec4 src = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
    float mid = 0.5 - 0.4 * balance;
    float t = clamp((warp_luma(src.rgb) - mid) * contrast + 0.5, 0.0, 1.0);
    vec3 ink = mix(shadow.rgb, highlight.rgb, t);
    gl_FragColor = vec4(mix(src.rgb, ink, clamp(amount, 0.0, 1.0)), src.a);
}

/*{
    "DESCRIPTION": "Invert: a photographic negative of the colours, of the brightness only (colours keep their hue) or of the hue only (colours swap to their opposites).",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Colour"],
    "STEP_BOUND": 0.006,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "mode", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2], "LABELS": ["Colours", "Brightness only", "Hue only"], "LABEL": "Invert"}
    ]
}*/

// Runs on the render thread (GPU). Brightness-only inversion moves each colour by the difference
// between its inverted and its own luminance (keeping its chroma); hue-only inversion reflects
// the colour through its own grey, which turns red into cyan at the same brightness. A full
// inversion swapped every beat would strobe: map `amount` smoothly, and see effects/strobe.

#include "common/warp.glsl"

void main() {
    vec4 src = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
    float y = warp_luma(src.rgb);
    vec3 negative = 1.0 - src.rgb;
    vec3 brightness = src.rgb + (1.0 - 2.0 * y);
    vec3 hue = 2.0 * y - src.rgb;
    vec3 inverted = mode == 0 ? negative : (mode == 1 ? brightness : hue);
    gl_FragColor = vec4(clamp(mix(src.rgb, inverted, clamp(amount, 0.0, 1.0)), 0.0, 1.0), src.a);
}

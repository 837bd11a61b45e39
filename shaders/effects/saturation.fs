/*{
    "DESCRIPTION": "Saturation: makes colours richer or greyer; vibrance lifts dull colours more than vivid ones, and the bass can pump the colour up.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Colour", "Audio reactive"],
    "STEP_BOUND": 0.007,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "saturation", "TYPE": "float", "DEFAULT": 1.4, "MIN": 0.0, "MAX": 3.0, "IDENTITY": 1.0, "LABEL": "Saturation (0 = grey, 1 = unchanged)"},
        {"NAME": "vibrance", "TYPE": "float", "DEFAULT": 0.2, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Vibrance (boosts dull colours)"},
        {"NAME": "bass_pump", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass pump"}
    ]
}*/

// Runs on the render thread (GPU). Colours are pushed away from (or towards) their own grey of
// equal luminance, so brightness stays put. Vibrance scales the push by how dull the colour is
// (its chroma, max - min), so skin and skies are not blown out while greys gain colour.

#include "common/warp.glsl"

void main() {
    vec4 src = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
    float grey = warp_luma(src.rgb);
    float chroma = max(src.r, max(src.g, src.b)) - min(src.r, min(src.g, src.b));
    float k = saturation * (1.0 + bass_pump * clamp(BASS, 0.0, 1.0)) * (1.0 + vibrance * (1.0 - chroma));
    gl_FragColor = vec4(clamp(mix(vec3(grey), src.rgb, k), 0.0, 1.0), src.a);
}

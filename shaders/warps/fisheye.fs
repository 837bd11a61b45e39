/*{
    "DESCRIPTION": "Fisheye / bulge: magnifies a round area as if seen through a drop of water or a fisheye lens; it swells with the bass.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Lens", "Audio reactive"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "strength", "TYPE": "float", "DEFAULT": 0.7, "MIN": 0.0, "MAX": 3.0, "IDENTITY": 0.0, "LABEL": "Bulge (0 = flat)"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.45, "MIN": 0.05, "MAX": 1.5, "LABEL": "Radius (picture heights)"},
        {"NAME": "bass_bulge", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass bulge"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ]
}*/

// Runs on the render thread (GPU). Inside the radius the lookup distance is r' = R (r/R)^(1+k):
// nearer the centre than the pixel (magnified), equal at the rim, so the bulge has no edge.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float r = length(p);
    float k = strength + bass_bulge * clamp(BASS, 0.0, 1.0);
    float t = r / max(radius, 1e-3);
    float scale = t < 1.0 ? pow(max(t, 1e-6), k) : 1.0;
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_from_centred(p * scale, centre));
}

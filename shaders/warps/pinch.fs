/*{
    "DESCRIPTION": "Pinch: pulls a round area in towards its centre, as if the picture were a sheet sucked into a hole; the bass pinches harder.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "strength", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Pinch (0 = flat)"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.05, "MAX": 1.5, "LABEL": "Radius (picture heights)"},
        {"NAME": "bass_pinch", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Bass pinch"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ]
}*/

// Runs on the render thread (GPU). The reverse of a bulge: inside the radius the lookup distance
// is r' = R (r/R)^(1/(1+1.5k)), further out than the pixel, so the picture is squeezed inwards;
// at the rim r' = r, so the pinch has no edge.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float r = length(p);
    float k = clamp(strength + bass_pinch * clamp(BASS, 0.0, 1.0), 0.0, 2.0);
    float t = r / max(radius, 1e-3);
    float scale = t < 1.0 ? pow(max(t, 1e-6), 1.0 / (1.0 + 1.5 * k) - 1.0) : 1.0;
    // t^(e-1) * r = R t^e: the same lookup written without dividing by r.
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(warp_from_centred(p * scale, centre)));
}

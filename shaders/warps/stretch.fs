/*{
    "DESCRIPTION": "Stretch: stretches the middle of the picture and squeezes its edges (or the reverse), across and/or up, like an anamorphic lens; the bass stretches it further.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.03,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount_x", "TYPE": "float", "DEFAULT": 0.5, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Across (+ stretches the middle, - the edges)"},
        {"NAME": "amount_y", "TYPE": "float", "DEFAULT": 0.0, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Up (+ stretches the middle, - the edges)"},
        {"NAME": "bass_stretch", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Bass stretch"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ]
}*/

// Runs on the render thread (GPU). Per axis, the distance t (0 at the centre, 1 at the picture's
// edge on that side) looks up t^(e^(1.5 k)): k > 0 pulls the lookup towards the centre (the
// middle is stretched), k < 0 pushes it out. Both ends stay in place, so the picture still fills
// the frame.

#include "common/warp.glsl"

float stretchAxis(float x, float c, float k) {
    float d = x - c;
    float reach = max(d >= 0.0 ? 1.0 - c : c, 1e-4);
    float t = clamp(abs(d) / reach, 0.0, 1.0);
    return c + sign(d) * pow(t, exp(1.5 * k)) * reach;
}

void main() {
    vec2 uv = isf_FragNormCoord;
    float bass = bass_stretch * clamp(BASS, 0.0, 1.0);
    float kx = amount_x * (1.0 + bass);
    float ky = amount_y * (1.0 + bass);
    vec2 source = vec2(stretchAxis(uv.x, centre.x, kx), stretchAxis(uv.y, centre.y, ky));
    gl_FragColor = IMG_NORM_PIXEL(inputImage, source);
}

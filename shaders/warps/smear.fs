/*{
    "DESCRIPTION": "Smear: drags the bright parts of the picture out into streaks along a direction, like paint pulled across wet canvas; the bass pulls them longer.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "length", "TYPE": "float", "DEFAULT": 0.15, "MIN": 0.0, "MAX": 0.3, "IDENTITY": 0.0, "LABEL": "Streak length (picture heights)"},
        {"NAME": "angle", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "LABEL": "Direction (turns, 0 = right)"},
        {"NAME": "threshold", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 1.0, "LABEL": "Brightness that smears"},
        {"NAME": "bass_length", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass lengthens"}
    ]
}*/

// Runs on the render thread (GPU). Each pixel looks a few steps back against the smear direction
// and keeps the brightest of what it sees, each step weighted down with distance and by how far
// that sample is above the threshold: bright things leave tapering streaks, dark ones stay put.
// Lighten never darkens, so at length 0 every sample is the pixel itself and the picture passes
// through unchanged.

#include "common/warp.glsl"

const int SMEAR_TAPS = 5;

void main() {
    vec2 uv = isf_FragNormCoord;
    vec4 result = IMG_NORM_PIXEL(inputImage, uv);
    float a = WARP_TAU * angle;
    float reach = length * (1.0 + bass_length * clamp(BASS, 0.0, 1.0));
    vec2 step_ = vec2(cos(a) / warp_aspect(), sin(a)) * reach / float(SMEAR_TAPS);
    for (int i = 1; i <= SMEAR_TAPS; i++) {
        vec4 tap = IMG_NORM_PIXEL(inputImage, uv - step_ * float(i));
        float bright = smoothstep(threshold, threshold + 0.25, warp_luma(tap.rgb));
        float weight = bright * (1.0 - float(i) / float(SMEAR_TAPS + 1));
        result = max(result, tap * weight);
    }
    gl_FragColor = result;
}

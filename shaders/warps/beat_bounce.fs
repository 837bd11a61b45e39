/*{
    "DESCRIPTION": "Beat bounce: the picture squashes, hops and punches on every beat, then springs back before the next one, like a bouncing cartoon.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = still)"},
        {"NAME": "squash", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Squash on the beat"},
        {"NAME": "hop", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hop between beats"},
        {"NAME": "punch", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "LABEL": "Zoom punch"},
        {"NAME": "decay", "TYPE": "float", "DEFAULT": 6.0, "MIN": 1.0, "MAX": 20.0, "LABEL": "Spring back speed"},
        {"NAME": "pivot", "TYPE": "point2D", "DEFAULT": [0.5, 0.0], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Floor point"}
    ]
}*/

// Runs on the render thread (GPU). Everything follows the beat clock's phase: the squash and the
// punch decay exponentially from each beat, the hop is a half sine between beats, so the motion
// is locked to the tempo with no audio analysis at all.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    float phase = clamp(BEAT_PHASE, 0.0, 1.0);
    float hit = exp(-decay * phase) * amount;
    float air = sin(WARP_PI * phase) * amount;
    vec2 p = warp_to_centred(uv, pivot);
    float s = 0.25 * squash * hit;
    vec2 scale = vec2(1.0 + s, 1.0 - s) * (1.0 + 0.2 * punch * hit);
    p.y -= 0.15 * hop * air;
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(warp_from_centred(p / scale, pivot)));
}

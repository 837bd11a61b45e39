/*{
    "DESCRIPTION": "Zoom: scales the picture about a centre, with a punch on every beat and on the bass; zooming out repeats the picture by mirroring, tiling, stretching its edge or leaving it transparent.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.1,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "zoom", "TYPE": "float", "DEFAULT": 1.15, "MIN": 0.25, "MAX": 4.0, "IDENTITY": 1.0, "LABEL": "Zoom (1 = none)"},
        {"NAME": "beat_punch", "TYPE": "float", "DEFAULT": 0.08, "MIN": 0.0, "MAX": 0.5, "IDENTITY": 0.0, "LABEL": "Punch on each beat"},
        {"NAME": "bass_punch", "TYPE": "float", "DEFAULT": 0.05, "MIN": 0.0, "MAX": 0.5, "IDENTITY": 0.0, "LABEL": "Punch with the bass"},
        {"NAME": "edge", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2, 3], "LABELS": ["Mirror", "Repeat", "Clamp", "Transparent"], "LABEL": "Outside the picture"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ]
}*/

// Runs on the render thread (GPU). The beat punch decays exponentially through each beat, so it
// hits on the beat and settles before the next one at any tempo.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    float punch = beat_punch * exp(-6.0 * clamp(BEAT_PHASE, 0.0, 1.0)) + bass_punch * clamp(BASS, 0.0, 1.0);
    float z = max(zoom * (1.0 + punch), 1e-3);
    vec2 source = centre + (uv - centre) / z;
    vec4 colour = IMG_NORM_PIXEL(inputImage, warp_edge(source, edge));
    float keep = edge == 3 ? warp_inside(source) : 1.0;
    gl_FragColor = vec4(colour.rgb, colour.a * keep);
}

/*{
    "DESCRIPTION": "Transform: rotates, scales and moves the picture (and keeps it spinning and drifting if wanted); outside the picture it mirrors, repeats, stretches the edge or shows through.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp"],
    "STEP_BOUND": 0.12,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "rotate", "TYPE": "float", "DEFAULT": 0.0, "MIN": -0.5, "MAX": 0.5, "IDENTITY": 0.0, "LABEL": "Rotation (turns)"},
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 0.8, "MIN": 0.1, "MAX": 4.0, "IDENTITY": 1.0, "LABEL": "Scale"},
        {"NAME": "translate", "TYPE": "point2D", "DEFAULT": [0.0, 0.0], "MIN": [-1.0, -1.0], "MAX": [1.0, 1.0], "IDENTITY": [0.0, 0.0], "LABEL": "Offset (pictures)"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.05, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Spin (turns/s)"},
        {"NAME": "drift_x", "TYPE": "float", "DEFAULT": 0.0, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Drift right (pictures/s)"},
        {"NAME": "drift_y", "TYPE": "float", "DEFAULT": 0.0, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Drift up (pictures/s)"},
        {"NAME": "edge", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2, 3], "LABELS": ["Mirror", "Repeat", "Clamp", "Transparent"], "LABEL": "Outside the picture"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). The picture is scaled and rotated about its centre, then
// moved; the lookup applies the inverse of that in reverse order.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(spin, drift_x, drift_y, 0.0), vec4(1.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 offset = translate + ph.yz;
    vec2 p = warp_to_centred(uv - offset, vec2(0.5));
    p = warp_rotate(p, -WARP_TAU * (rotate + ph.x)) / max(scale, 1e-3);
    vec2 source = warp_from_centred(p, vec2(0.5));
    vec4 colour = IMG_NORM_PIXEL(inputImage, warp_edge(source, edge));
    float keep = edge == 3 ? warp_inside(source) : 1.0;
    gl_FragColor = vec4(colour.rgb, colour.a * keep);
}

/*{
    "DESCRIPTION": "Inverse polar: unrolls the picture around a centre into a strip, each column one direction out from the centre and each row one distance; round things become stripes.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp"],
    "STEP_BOUND": 0.06,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = flat picture)"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.05, "MAX": 1.0, "LABEL": "Radius unrolled to the top row (picture heights)"},
        {"NAME": "rotate", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "LABEL": "Start angle (turns)"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.02, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Spin (turns/s)"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Polar to cartesian, the reverse of warps/polar: output x is
// the angle (one turn across the width), output y the distance from the centre.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(spin, 0.0, 0.0, 0.0), vec4(1.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float angle = WARP_TAU * (uv.x + rotate + ph.x);
    vec2 p = uv.y * radius * vec2(cos(angle), sin(angle));
    vec2 unrolled = warp_mirror(warp_from_centred(p, centre));
    gl_FragColor = IMG_NORM_PIXEL(inputImage, mix(uv, unrolled, clamp(amount, 0.0, 1.0)));
}

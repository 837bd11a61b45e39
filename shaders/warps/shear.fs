/*{
    "DESCRIPTION": "Shear: slants the picture sideways and/or up, like a deck of cards pushed over; the slant can sway back and forth.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp"],
    "STEP_BOUND": 0.06,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "shear_x", "TYPE": "float", "DEFAULT": 0.3, "MIN": -2.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Sideways slant"},
        {"NAME": "shear_y", "TYPE": "float", "DEFAULT": 0.0, "MIN": -2.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Upward slant"},
        {"NAME": "sway", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Sway (share of the slant)"},
        {"NAME": "rate", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.0, "MAX": 4.0, "LABEL": "Sway rate (Hz)"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Fixed point"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). A shear moves each row sideways in proportion to its height
// above the fixed point (and each column up by its distance across); the sway scales both by
// 1 - sway + sway * sin, so with sway 1 the picture rocks through straight.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(rate, 0.0, 0.0, 0.0), vec4(1.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float k = 1.0 - sway + sway * sin(WARP_TAU * ph.x);
    vec2 q = p - k * vec2(shear_x * p.y, shear_y * p.x);
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(warp_from_centred(q, centre)));
}

/*{
    "DESCRIPTION": "Fractal fold: space is folded over on itself again and again (mirror, turn, scale, repeat), turning the picture into a crystalline, self-similar pattern.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Recursive"],
    "STEP_BOUND": 0.13,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = flat picture)"},
        {"NAME": "folds", "TYPE": "long", "DEFAULT": 3, "VALUES": [1, 2, 3, 4, 5], "LABEL": "Folds"},
        {"NAME": "angle", "TYPE": "float", "DEFAULT": 0.08, "MIN": 0.0, "MAX": 0.5, "LABEL": "Turn per fold (turns)"},
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 1.4, "MIN": 1.0, "MAX": 2.5, "LABEL": "Scale per fold"},
        {"NAME": "offset", "TYPE": "point2D", "DEFAULT": [0.3, 0.2], "MIN": [-1.0, -1.0], "MAX": [1.0, 1.0], "LABEL": "Fold offset"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.01, "MIN": -0.2, "MAX": 0.2, "LABEL": "Drift of the turn (turns/s)"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). A kaleidoscopic IFS: each fold mirrors both axes (abs),
// turns, scales about the offset; the folded point then indexes the picture, mirror-wrapped.
// `amount` slides the lookup between the flat picture and the folded one.
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
    vec2 p = warp_to_centred(uv, vec2(0.5));
    float turnBy = WARP_TAU * (angle + ph.x);
    for (int i = 0; i < folds; i++) {
        p = abs(p);
        p = warp_rotate(p, turnBy);
        p = p * scale - offset * (scale - 1.0);
    }
    vec2 folded = warp_mirror(warp_from_centred(p, vec2(0.5)));
    gl_FragColor = IMG_NORM_PIXEL(inputImage, mix(uv, folded, clamp(amount, 0.0, 1.0)));
}

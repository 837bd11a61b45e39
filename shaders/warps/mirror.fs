/*{
    "DESCRIPTION": "Mirror: reflects one half (or one quarter) of the picture onto the rest; the source can scroll so the symmetric pattern keeps flowing.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "mode", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2, 3], "LABELS": ["Left onto right", "Bottom onto top", "Four quadrants", "Diagonal"], "LABEL": "Mirror"},
        {"NAME": "scroll", "TYPE": "float", "DEFAULT": 0.0, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Scroll the source (screens/s)"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Mirroring is a fold of the coordinates: x -> 0.5 - |x - 0.5|
// keeps the left half and reflects it onto the right.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

vec2 mirrorWrap(vec2 uv) {
    return 1.0 - abs(1.0 - mod(uv, 2.0));
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(scroll, 0.0, 0.0, 0.0), vec4(2.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec4 original = IMG_NORM_PIXEL(inputImage, uv);
    vec2 q = uv;
    if (mode == 0 || mode == 2) q.x = 0.5 - abs(q.x - 0.5);
    if (mode == 1 || mode == 2) q.y = 0.5 - abs(q.y - 0.5);
    if (mode == 3 && q.y > q.x) q = q.yx;
    // Scrolling moves the source along the mirror axis, so the seam stays still.
    q += vec2(mode == 1 ? ph.x : 0.0, mode == 1 ? 0.0 : ph.x);
    vec4 folded = IMG_NORM_PIXEL(inputImage, mirrorWrap(q));
    gl_FragColor = mix(original, folded, clamp(amount, 0.0, 1.0));
}

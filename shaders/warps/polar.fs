/*{
    "DESCRIPTION": "Polar: wraps the picture round a centre, its left-to-right becoming a turn and its bottom-to-top the distance out; a wide picture becomes a ring or a planet.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp"],
    "STEP_BOUND": 0.11,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = flat picture)"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.1, "MAX": 2.0, "LABEL": "Radius of the picture's top edge (picture heights)"},
        {"NAME": "rotate", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.0, "MAX": 1.0, "LABEL": "Rotation (turns)"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.02, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Spin (turns/s)"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Cartesian to polar: the picture's x is the angle (one turn =
// the whole width) and its y the distance from the centre; beyond `radius` the picture is
// mirrored outwards. `amount` slides the lookup between the flat picture and the wrapped one.
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
    vec2 p = warp_to_centred(uv, centre);
    float r = length(p);
    float turn = (abs(p.x) + abs(p.y) < 1e-6) ? 0.0 : atan(p.y, p.x) / WARP_TAU;
    vec2 wrapped = vec2(fract(turn + rotate + ph.x), warp_mirror(r / max(radius, 1e-3)));
    gl_FragColor = IMG_NORM_PIXEL(inputImage, mix(uv, wrapped, clamp(amount, 0.0, 1.0)));
}

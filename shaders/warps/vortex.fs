/*{
    "DESCRIPTION": "Vortex: a whirlpool turns the picture hardest at its core and drags it inwards, spinning; the bass feeds it.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.1,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "strength", "TYPE": "float", "DEFAULT": 2.0, "MIN": -6.0, "MAX": 6.0, "IDENTITY": 0.0, "LABEL": "Turn at the core (radians)"},
        {"NAME": "suction", "TYPE": "float", "DEFAULT": 0.3, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Suction (+ in, - out)"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.2, "MIN": -2.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Spin of the whirlpool (turns/s)"},
        {"NAME": "core", "TYPE": "float", "DEFAULT": 0.12, "MIN": 0.02, "MAX": 0.6, "LABEL": "Core size (picture heights)"},
        {"NAME": "bass_feed", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 4.0, "IDENTITY": 0.0, "LABEL": "Bass feed (radians)"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). The turn falls off as core / (r + core), like the velocity
// of a real vortex, so the far field turns a little and the core a lot; suction looks further
// out near the core. The spin turns the whole whirlpool (a turn that grew with time at the
// same falloff would wind the picture tighter and tighter into noise over a show).
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
    float falloff = core / (r + core);
    float angle = (strength + bass_feed * clamp(BASS, 0.0, 1.0)) * falloff + WARP_TAU * ph.x;
    float pull = 1.0 + suction * falloff;
    vec2 q = warp_rotate(p, angle) * pull;
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(warp_from_centred(q, centre)));
}

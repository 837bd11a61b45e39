/*{
    "DESCRIPTION": "Twist: turns the picture more and more with the distance from a centre, winding it into a spiral; it can spin, and the bass winds it tighter.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.11,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "twist", "TYPE": "float", "DEFAULT": 2.0, "MIN": -10.0, "MAX": 10.0, "IDENTITY": 0.0, "LABEL": "Twist (radians per picture height)"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.03, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Spin (turns/s)"},
        {"NAME": "bass_twist", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 6.0, "IDENTITY": 0.0, "LABEL": "Bass twist"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Unlike warps/swirl (strongest in the middle, fading out), the
// angle here grows linearly with the distance, so the whole picture becomes a spiral.
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
    float angle = (twist + bass_twist * clamp(BASS, 0.0, 1.0)) * r + WARP_TAU * ph.x;
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(warp_from_centred(warp_rotate(p, angle), centre)));
}

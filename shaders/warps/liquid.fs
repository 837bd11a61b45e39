/*{
    "DESCRIPTION": "Liquid: the picture flows in slow, folding currents, like oil on water; the bass makes the currents surge.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.04,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 2.0, "MIN": 0.5, "MAX": 8.0, "LABEL": "Currents per picture height"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 2.0, "LABEL": "Flow speed"},
        {"NAME": "folding", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 2.0, "LABEL": "Folding (how much the currents bend each other)"},
        {"NAME": "bass_surge", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass surge"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Three rounds of sine currents, each bending the coordinates
// the next round sees (no noise lookups, so it is cheap); the result is the displacement.
// At full amount a pixel moves up to about 0.1 picture heights.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(0.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, vec2(0.5)) * scale * WARP_TAU;
    vec2 q = p;
    float t = ph.x;
    for (int i = 1; i <= 3; i++) {
        float k = float(i);
        q += folding * 0.5 / k * vec2(sin(q.y * 0.9 + t * (1.0 + 0.3 * k) + 1.7 * k),
                                       cos(q.x * 1.1 - t * (0.8 + 0.2 * k) + 0.6 * k));
    }
    float reach = 0.1 * amount * (1.0 + bass_surge * clamp(BASS, 0.0, 1.0));
    vec2 flow = vec2(sin(q.y), cos(q.x));
    vec2 source = warp_from_centred(warp_to_centred(uv, vec2(0.5)) + flow * reach, vec2(0.5));
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(source));
}

/*{
    "DESCRIPTION": "Domain warp: pushes the picture around by a slowly flowing fractal noise field, so it billows like smoke or marbled ink; the bass stirs it harder.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Noise", "Audio reactive"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.35, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 2.5, "MIN": 0.5, "MAX": 10.0, "LABEL": "Noise features per picture height"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.2, "MIN": 0.0, "MAX": 2.0, "LABEL": "Flow speed"},
        {"NAME": "detail", "TYPE": "long", "DEFAULT": 3, "VALUES": [1, 2, 3, 4], "LABEL": "Noise octaves"},
        {"NAME": "bass_boost", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass stir"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). The displacement is a two-component fractal value noise
// (both components from one lattice hash per corner, half the cost of two noises); each octave
// drifts in its own direction, so the field flows instead of sliding as a whole. At full amount
// a pixel moves up to 0.15 picture heights.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/noise.glsl"
#include "common/warp.glsl"
#include "common/phase.glsl"

vec2 warpNoise2(vec2 p) {
    vec2 cell = floor(p);
    vec2 f = noise_fade(p - cell);
    vec2 a = hash2(cell);
    vec2 b = hash2(cell + vec2(1.0, 0.0));
    vec2 c = hash2(cell + vec2(0.0, 1.0));
    vec2 d = hash2(cell + vec2(1.0, 1.0));
    return mix(mix(a, b, f.x), mix(c, d, f.x), f.y);
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(0.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, vec2(0.5)) * scale;
    vec2 sum = vec2(0.0);
    float weight = 0.5;
    float total = 0.0;
    vec2 flow = vec2(0.8, 0.6) * ph.x;
    for (int i = 0; i < detail; i++) {
        sum += weight * warpNoise2(p + flow);
        total += weight;
        p = vec2(1.6 * p.x - 1.2 * p.y, 1.2 * p.x + 1.6 * p.y) + vec2(5.2, 1.3);
        flow = vec2(-flow.y, flow.x) * 1.3;
        weight *= 0.5;
    }
    vec2 field = (sum / max(total, 1e-4)) * 2.0 - 1.0;
    float reach = 0.15 * amount * (1.0 + bass_boost * clamp(BASS, 0.0, 1.0));
    vec2 source = warp_from_centred(warp_to_centred(uv, vec2(0.5)) + field * reach, vec2(0.5));
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(source));
}

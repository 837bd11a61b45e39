/*{
    "DESCRIPTION": "Frosted glass: every pixel shows a random spot nearby, as if seen through frosted or pebbled glass; the frost can shimmer.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Noise"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Scatter (0 = clear glass)"},
        {"NAME": "grain", "TYPE": "float", "DEFAULT": 1.5, "MIN": 1.0, "MAX": 12.0, "LABEL": "Grain size (px at 360 lines)"},
        {"NAME": "shimmer", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Shimmer"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). The scatter offset of each grain is a hash of the grain's
// cell, blended towards the hash of the next frame's pattern by the shimmer, so the frost
// changes smoothly rather than flickering. At full scatter a pixel moves up to 3% of the
// picture height.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/noise.glsl"
#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(shimmer * 6.0, 0.0, 0.0, 0.0), vec4(0.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float cellPx = max(grain * RENDERSIZE.y / 360.0, 1.0);
    vec2 cell = floor(gl_FragCoord.xy / cellPx);
    float shimmerPhase = ph.x;
    float step_ = floor(shimmerPhase);
    vec2 a = hash2(cell + vec2(step_ * 31.0, 0.0));
    vec2 b = hash2(cell + vec2(step_ * 31.0 + 31.0, 0.0));
    vec2 h = mix(a, b, smoothstep(0.0, 1.0, shimmerPhase - step_));
    float angle = WARP_TAU * h.x;
    vec2 offset = sqrt(h.y) * vec2(cos(angle), sin(angle)) * 0.03 * amount;
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(uv + offset / vec2(warp_aspect(), 1.0)));
}

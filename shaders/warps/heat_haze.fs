/*{
    "DESCRIPTION": "Heat haze: the air shimmers and wobbles as if over hot tarmac, strongest at the bottom of the picture and rising upwards.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Noise"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Shimmer (0 = off)"},
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 14.0, "MIN": 2.0, "MAX": 40.0, "LABEL": "Ripples per picture height"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 4.0, "LABEL": "Rising speed"},
        {"NAME": "height", "TYPE": "float", "DEFAULT": 0.7, "MIN": 0.05, "MAX": 1.0, "LABEL": "Height it reaches (share of the picture)"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Two value-noise fields, stretched upwards and scrolling up,
// push each pixel sideways (mostly) and up; the push fades out towards `height`. At full
// shimmer a pixel moves up to 2% of the picture height.
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
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(0.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 p = vec2(uv.x * warp_aspect(), uv.y) * scale;
    float rise = ph.x * 2.0;
    float nx = value_noise(vec2(p.x, p.y * 0.5 - rise));
    float ny = value_noise(vec2(p.x * 0.7 + 31.7, p.y * 0.4 - rise * 0.8));
    float mask = 1.0 - smoothstep(0.0, max(height, 1e-3), uv.y);
    vec2 push = (vec2(nx, ny) * 2.0 - 1.0) * vec2(1.0, 0.5) * 0.02 * amount * mask;
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(uv + push / vec2(warp_aspect(), 1.0)));
}

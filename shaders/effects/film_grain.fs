/*{
    "DESCRIPTION": "Film grain: moving photographic grain, strongest in the mid-tones like real film, in grey or with a little colour.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Noise", "Retro"],
    "STEP_BOUND": 0.06,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.12, "MIN": 0.0, "MAX": 0.5, "IDENTITY": 0.0, "LABEL": "Grain (0 = off)"},
        {"NAME": "size", "TYPE": "float", "DEFAULT": 1.5, "MIN": 1.0, "MAX": 6.0, "LABEL": "Grain size (px at 360 lines)"},
        {"NAME": "colour", "TYPE": "float", "DEFAULT": 0.2, "MIN": 0.0, "MAX": 1.0, "LABEL": "Colour grain (0 = grey)"},
        {"NAME": "midtones", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0, "LABEL": "Keep grain out of blacks and whites"},
        {"NAME": "moving", "TYPE": "bool", "DEFAULT": true, "LABEL": "New grain every frame"}
    ]
}*/

// Runs on the render thread (GPU). Grain is value noise at the grain size, seeded by the frame
// index (when moving), so it is different every frame and identical in every render of that
// frame. The mid-tone weighting 4 y (1 - y) is 1 at mid grey and 0 at black and white.

#include "common/noise.glsl"
#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec4 src = IMG_NORM_PIXEL(inputImage, uv);
    float frame = moving ? float(FRAMEINDEX % 4096) : 0.0;
    vec2 p = gl_FragCoord.xy / max(size * RENDERSIZE.y / 360.0, 1e-3) + vec2(frame * 37.0, frame * 11.0);
    vec3 noise = vec3(value_noise(p), value_noise(p + vec2(57.3, 11.9)), value_noise(p + vec2(23.1, 91.7))) - 0.5;
    vec3 grain = mix(vec3(noise.x), noise, colour);
    float y = warp_luma(src.rgb);
    float weight = mix(1.0, 4.0 * y * (1.0 - y), midtones);
    gl_FragColor = vec4(clamp(src.rgb + 2.0 * amount * weight * grain, 0.0, 1.0), src.a);
}

/*{
    "DESCRIPTION": "Sharpen: an unsharp mask that crisps up edges and fine detail; a threshold leaves flat areas (and noise) alone.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Blur"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 3.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 1.5, "MIN": 0.5, "MAX": 6.0, "LABEL": "Radius (px at 360 lines)"},
        {"NAME": "threshold", "TYPE": "float", "DEFAULT": 0.02, "MIN": 0.0, "MAX": 0.3, "LABEL": "Ignore differences below"}
    ]
}*/

// Runs on the render thread (GPU). The blurred picture is the mean of four diagonal taps (each
// a linear-filtered read that already averages four texels); the picture plus `amount` times its
// difference from that blur is the sharpened result. The threshold fades the boost in over
// differences just above it, so there is no hard edge between sharpened and untouched areas.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 texel = 1.0 / max(IMG_SIZE(inputImage), vec2(1.0));
    vec2 d = max(radius * IMG_SIZE(inputImage).y / 360.0, 0.5) * texel;
    vec4 src = IMG_NORM_PIXEL(inputImage, uv);
    vec4 blur = 0.25 * (IMG_NORM_PIXEL(inputImage, uv + d) + IMG_NORM_PIXEL(inputImage, uv - d)
                      + IMG_NORM_PIXEL(inputImage, uv + vec2(d.x, -d.y)) + IMG_NORM_PIXEL(inputImage, uv + vec2(-d.x, d.y)));
    vec3 detail = src.rgb - blur.rgb;
    float size = abs(warp_luma(detail));
    float gate = smoothstep(threshold, threshold * 2.0 + 1e-4, size);
    gl_FragColor = vec4(clamp(src.rgb + amount * gate * detail, 0.0, 1.0), src.a);
}

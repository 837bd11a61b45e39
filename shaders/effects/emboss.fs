/*{
    "DESCRIPTION": "Emboss: the picture looks pressed into metal or paper, lit from one side so edges stand out in relief; keeps as much of its colour as wanted.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Stylize"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.8, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "angle", "TYPE": "float", "DEFAULT": 0.125, "MIN": 0.0, "MAX": 1.0, "LABEL": "Light direction (turns)"},
        {"NAME": "depth", "TYPE": "float", "DEFAULT": 1.5, "MIN": 0.5, "MAX": 6.0, "LABEL": "Relief width (px at 360 lines)"},
        {"NAME": "colour", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Colour kept (0 = grey relief)"}
    ]
}*/

// Runs on the render thread (GPU). The relief is the brightness difference between two reads on
// either side of the pixel along the light direction, around mid grey; the kept colour
// multiplies that relief (an overlay-like light), so bright edges facing the light glow.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 texel = 1.0 / max(IMG_SIZE(inputImage), vec2(1.0));
    float a = WARP_TAU * angle;
    vec2 d = vec2(cos(a), sin(a)) * max(depth * IMG_SIZE(inputImage).y / 360.0, 0.5) * texel;
    vec4 src = IMG_NORM_PIXEL(inputImage, uv);
    float lit = warp_luma(IMG_NORM_PIXEL(inputImage, uv + d).rgb);
    float shaded = warp_luma(IMG_NORM_PIXEL(inputImage, uv - d).rgb);
    float relief = clamp(0.5 + 2.0 * (lit - shaded), 0.0, 1.0);
    vec3 tinted = mix(vec3(relief), src.rgb * relief * 2.0, colour);
    gl_FragColor = vec4(clamp(mix(src.rgb, tinted, clamp(amount, 0.0, 1.0)), 0.0, 1.0), src.a);
}

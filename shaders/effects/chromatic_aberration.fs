/*{
    "DESCRIPTION": "Chromatic aberration: the colour fringes of a cheap lens, none in the middle and growing towards the edges (red outwards, blue inwards); the bass widens them.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Lens", "Audio reactive"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "curve", "TYPE": "float", "DEFAULT": 2.0, "MIN": 0.5, "MAX": 4.0, "LABEL": "Growth towards the edges (power)"},
        {"NAME": "bass_boost", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass boost"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Optical centre"}
    ]
}*/

// Runs on the render thread (GPU). Lateral chromatic aberration scales each colour's image about
// the optical centre by a slightly different factor; the factor difference grows as r^curve
// (r = 1 at the corners), reaching 3% of the distance at full amount.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float corner = 0.5 * length(vec2(warp_aspect(), 1.0));
    float r = length(p) / corner;
    float k = 0.03 * amount * (1.0 + bass_boost * clamp(BASS, 0.0, 1.0)) * pow(r, curve);
    vec4 g = IMG_NORM_PIXEL(inputImage, uv);
    vec4 red = IMG_NORM_PIXEL(inputImage, warp_from_centred(p * (1.0 - k), centre));
    vec4 blue = IMG_NORM_PIXEL(inputImage, warp_from_centred(p * (1.0 + k), centre));
    float alpha = max(g.a, max(red.a, blue.a));
    vec3 premultiplied = vec3(red.r * red.a, g.g * g.a, blue.b * blue.a);
    gl_FragColor = vec4(clamp(premultiplied / max(alpha, 1e-4), 0.0, 1.0), alpha);
}

/*{
    "DESCRIPTION": "RGB split warp: the red, green and blue pictures each go through their own zoom, turn and wobble, so colour fringes tear around the centre; the bass kicks them apart.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Glitch", "Audio reactive"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "zoom", "TYPE": "float", "DEFAULT": 0.04, "MIN": 0.0, "MAX": 0.2, "LABEL": "Zoom apart"},
        {"NAME": "twist", "TYPE": "float", "DEFAULT": 0.04, "MIN": 0.0, "MAX": 0.5, "LABEL": "Turn apart (radians)"},
        {"NAME": "wobble", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "LABEL": "Wobble"},
        {"NAME": "bass_kick", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 3.0, "IDENTITY": 0.0, "LABEL": "Bass kick"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ]
}*/

// Runs on the render thread (GPU). Red is zoomed in and turned one way, blue the opposite way,
// green stays; a slow sine wobble bends red and blue sideways in opposite phase. Unlike
// effects/rgb_split (a straight offset) the split grows with the distance from the centre.

#include "common/warp.glsl"

vec2 channelSource(vec2 p, float k, float wave) {
    vec2 q = warp_rotate(p, k * twist) / (1.0 + k * zoom);
    return warp_mirror(warp_from_centred(q + vec2(k * wave, 0.0), centre));
}

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float k = amount * (1.0 + bass_kick * clamp(BASS, 0.0, 1.0));
    float wave = 0.02 * wobble * sin(p.y * 9.0 + TIME * 2.3);
    vec4 g = IMG_NORM_PIXEL(inputImage, uv);
    vec4 r = IMG_NORM_PIXEL(inputImage, channelSource(p, k, wave));
    vec4 b = IMG_NORM_PIXEL(inputImage, channelSource(p, -k, wave));
    // Straight alpha: each channel keeps its own coverage; the result covers all three.
    float alpha = max(g.a, max(r.a, b.a));
    vec3 premultiplied = vec3(r.r * r.a, g.g * g.a, b.b * b.a);
    gl_FragColor = vec4(clamp(premultiplied / max(alpha, 1e-4), 0.0, 1.0), alpha);
}

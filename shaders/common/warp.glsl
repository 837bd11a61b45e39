// Coordinate helpers for warps and effects: #include "common/warp.glsl".
//
// Warps work in "centred" coordinates: the origin at a centre point, one unit = the picture's
// height, x scaled by the aspect ratio so circles stay round at any output shape. They map an
// output pixel to the point of the input it shows (a lookup, never a scatter), so every output
// pixel is written exactly once.
#ifndef ECHOEL_WARP_GLSL
#define ECHOEL_WARP_GLSL

const float WARP_TAU = 6.28318530718;
const float WARP_PI = 3.14159265359;

// Width / height of the target being drawn.
float warp_aspect() {
    return RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
}

// Normalised coordinates (0..1) -> centred coordinates around `centre` (also 0..1).
vec2 warp_to_centred(vec2 uv, vec2 centre) {
    return (uv - centre) * vec2(warp_aspect(), 1.0);
}

// Centred coordinates -> normalised coordinates.
vec2 warp_from_centred(vec2 p, vec2 centre) {
    return centre + p / vec2(warp_aspect(), 1.0);
}

// Counter-clockwise rotation by `angle` radians.
vec2 warp_rotate(vec2 p, float angle) {
    float c = cos(angle);
    float s = sin(angle);
    return vec2(c * p.x - s * p.y, s * p.x + c * p.y);
}

// Mirror-repeat: coordinates outside 0..1 are reflected back in (1.2 -> 0.8, -0.3 -> 0.3), so
// a warp that looks past the picture's border never shows a smeared edge or a seam.
vec2 warp_mirror(vec2 uv) {
    return 1.0 - abs(1.0 - mod(uv, 2.0));
}

float warp_mirror(float x) {
    return 1.0 - abs(1.0 - mod(x, 2.0));
}

// 1 inside the picture (0..1 on both axes), 0 outside.
float warp_inside(vec2 uv) {
    vec2 inside = step(vec2(0.0), uv) * step(uv, vec2(1.0));
    return inside.x * inside.y;
}

// Edge handling shared by warps with an "edge" menu: 0 mirror, 1 repeat, 2 clamp; mode 3
// (transparent) keeps the coordinates and lets the caller fade with warp_inside().
vec2 warp_edge(vec2 uv, int mode) {
    vec2 mirrored = warp_mirror(uv);
    vec2 repeated = fract(uv);
    vec2 clamped = clamp(uv, 0.0, 1.0);
    return mode == 0 ? mirrored : (mode == 1 ? repeated : clamped);
}

// Perceived brightness of an sRGB-encoded colour (Rec. 709 weights on the encoded values:
// cheap, and what the eye reads as light or dark in a picture).
float warp_luma(vec3 rgb) {
    return dot(rgb, vec3(0.2126, 0.7152, 0.0722));
}

#endif

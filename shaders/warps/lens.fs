/*{
    "DESCRIPTION": "Lens distortion: the barrel or pincushion bending of a real camera lens (radial k1 and k2 terms), with zoom to fill the frame; outside the lens's view is transparent.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Lens"],
    "STEP_BOUND": 0.03,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "k1", "TYPE": "float", "DEFAULT": 0.3, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Barrel (+) / pincushion (-)"},
        {"NAME": "k2", "TYPE": "float", "DEFAULT": 0.0, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Outer bending (k2)"},
        {"NAME": "zoom", "TYPE": "float", "DEFAULT": 1.15, "MIN": 0.5, "MAX": 2.0, "IDENTITY": 1.0, "LABEL": "Zoom"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Optical centre"}
    ]
}*/

// Runs on the render thread (GPU). The Brown-Conrady radial model: a point at radius r (1 = the
// half diagonal) looks up r (1 + k1 r^2 + k2 r^4) / zoom. Barrel distortion looks further out
// at the edges, so it needs some zoom to fill the frame.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float halfDiagonal = 0.5 * length(vec2(warp_aspect(), 1.0));
    float r2 = dot(p, p) / (halfDiagonal * halfDiagonal);
    float f = 1.0 + k1 * r2 + k2 * r2 * r2;
    vec2 source = warp_from_centred(p * f / max(zoom, 1e-3), centre);
    vec4 colour = IMG_NORM_PIXEL(inputImage, source);
    // Soft one-pixel edge where the lens stops seeing the picture (fully opaque from the outermost
    // pixel centres inwards, so zoom 1 without bending keeps every pixel).
    vec2 px = 1.0 / max(RENDERSIZE, vec2(1.0));
    vec2 inner = smoothstep(-0.5 * px, 0.5 * px, source) * smoothstep(-0.5 * px, 0.5 * px, 1.0 - source);
    float keep = f > 0.0 ? inner.x * inner.y : 0.0;
    gl_FragColor = vec4(colour.rgb, colour.a * keep);
}

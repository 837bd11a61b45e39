/*{
    "DESCRIPTION": "Hexagon tiling: the picture is seen through a honeycomb of lenses, each magnifying (or shrinking, or turning) the part under it; the bass swells the lenses.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.08,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "cells", "TYPE": "float", "DEFAULT": 6.0, "MIN": 1.0, "MAX": 40.0, "LABEL": "Cells per picture height"},
        {"NAME": "zoom", "TYPE": "float", "DEFAULT": 1.8, "MIN": 0.2, "MAX": 4.0, "IDENTITY": 1.0, "LABEL": "Lens zoom (1 = none)"},
        {"NAME": "rotate", "TYPE": "float", "DEFAULT": 0.0, "MIN": -0.5, "MAX": 0.5, "IDENTITY": 0.0, "LABEL": "Turn inside each cell (turns)"},
        {"NAME": "border", "TYPE": "float", "DEFAULT": 0.08, "MIN": 0.0, "MAX": 0.5, "IDENTITY": 0.0, "LABEL": "Dark border"},
        {"NAME": "bass_zoom", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass zoom"}
    ]
}*/

// Runs on the render thread (GPU). The nearest hexagon centre is the nearer of the two
// rectangular lattices (1, sqrt 3) offset by half a cell; each cell then looks at the picture
// around its own centre, scaled and turned. Zoom 1 with no turn looks exactly where the pixel is.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, vec2(0.5)) * cells;
    vec2 lattice = vec2(1.0, 1.7320508);
    vec2 a = (floor(p / lattice) + 0.5) * lattice;
    vec2 b = (floor((p - 0.5 * lattice) / lattice) + 1.0) * lattice;
    vec2 centreA = a;
    vec2 centreB = b;
    vec2 centre = dot(p - centreA, p - centreA) < dot(p - centreB, p - centreB) ? centreA : centreB;
    vec2 local = p - centre;
    float z = max(zoom * (1.0 + bass_zoom * clamp(BASS, 0.0, 1.0)), 1e-3);
    vec2 q = centre + warp_rotate(local, WARP_TAU * rotate) / z;
    vec4 colour = IMG_NORM_PIXEL(inputImage, warp_mirror(warp_from_centred(q / max(cells, 1e-3), vec2(0.5))));
    // Distance to the hexagon's edge: 0.5 at the edge (hexagon of inner radius 0.5).
    vec2 h = abs(local);
    float edge = max(dot(h, vec2(0.8660254, 0.5)), h.y);
    float px = cells / max(RENDERSIZE.y, 1.0);
    float shade = 1.0 - border * 2.0 * smoothstep(0.5 - border - px, 0.5 + px, edge) * step(1e-6, border);
    gl_FragColor = vec4(colour.rgb * clamp(shade, 0.0, 1.0), colour.a);
}

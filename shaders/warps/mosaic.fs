/*{
    "DESCRIPTION": "Mosaic: the picture is cut into square tiles that are each nudged and turned a little at random, with dark grout between them, like a cracked mosaic; onsets shake the tiles.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Glitch", "Audio reactive"],
    "STEP_BOUND": 0.1,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "tiles", "TYPE": "float", "DEFAULT": 8.0, "MIN": 2.0, "MAX": 40.0, "LABEL": "Tiles per picture height"},
        {"NAME": "scatter", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Nudge (tile sizes)"},
        {"NAME": "turn", "TYPE": "float", "DEFAULT": 0.2, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Turn (up to half a turn)"},
        {"NAME": "grout", "TYPE": "float", "DEFAULT": 0.08, "MIN": 0.0, "MAX": 0.4, "IDENTITY": 0.0, "LABEL": "Grout width (tile sizes)"},
        {"NAME": "onset_shake", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Onset shake"}
    ]
}*/

// Runs on the render thread (GPU). Each tile shows the picture around its own centre, turned
// and nudged by amounts hashed from the tile (fixed per tile, so the mosaic does not flicker);
// with no nudge and no turn every tile shows exactly what lies under it.

#include "common/noise.glsl"
#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, vec2(0.5)) * tiles;
    vec2 cell = floor(p);
    vec2 local = p - cell - 0.5;
    vec2 h = hash2(cell + 41.0);
    float shake = 1.0 + 2.0 * onset_shake * clamp(ONSET, 0.0, 1.0);
    float angle = (hash1(cell + 7.0) - 0.5) * WARP_TAU * 0.5 * turn * shake;
    vec2 nudge = (h - 0.5) * scatter * shake;
    vec2 q = cell + 0.5 + warp_rotate(local, angle) + nudge;
    vec4 colour = IMG_NORM_PIXEL(inputImage, warp_mirror(warp_from_centred(q / max(tiles, 1e-3), vec2(0.5))));
    // Grout: dark where the pixel is within `grout` of its tile's edge.
    vec2 edge = 0.5 - abs(local);
    float px = tiles / max(RENDERSIZE.y, 1.0);
    float inTile = smoothstep(grout * 0.5 - px, grout * 0.5 + px, min(edge.x, edge.y));
    float shade = mix(1.0, mix(0.15, 1.0, inTile), step(1e-6, grout));
    gl_FragColor = vec4(colour.rgb * shade, colour.a);
}

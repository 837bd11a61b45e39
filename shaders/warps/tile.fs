/*{
    "DESCRIPTION": "Tile: repeats the picture in a grid that grows from the middle, plain or mirrored so neighbours join seamlessly; the tiles can scroll.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp"],
    "STEP_BOUND": 0.12,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "tiles", "TYPE": "float", "DEFAULT": 3.0, "MIN": 1.0, "MAX": 12.0, "IDENTITY": 1.0, "LABEL": "Tiles across"},
        {"NAME": "mirror", "TYPE": "bool", "DEFAULT": true, "LABEL": "Mirror alternate tiles"},
        {"NAME": "scroll_x", "TYPE": "float", "DEFAULT": 0.05, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Scroll right (tiles/s)"},
        {"NAME": "scroll_y", "TYPE": "float", "DEFAULT": 0.0, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Scroll up (tiles/s)"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). The grid is scaled about the middle, so raising `tiles`
// pushes new tiles in from the edges instead of shrinking everything into a corner.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(scroll_x, scroll_y, 0.0, 0.0), vec4(2.0, 2.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 q = (uv - 0.5) * max(tiles, 1e-3) + 0.5 - ph.xy;
    vec2 repeated = mirror ? warp_mirror(q) : fract(q);
    gl_FragColor = IMG_NORM_PIXEL(inputImage, repeated);
}

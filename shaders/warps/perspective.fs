/*{
    "DESCRIPTION": "Perspective floor: the picture becomes an endless tiled floor (and ceiling) running to the horizon, scrolling towards the viewer and turning, like an old console's racing game.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "3D", "Retro"],
    "STEP_BOUND": 0.09,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "horizon", "TYPE": "float", "DEFAULT": 0.55, "MIN": 0.1, "MAX": 0.9, "LABEL": "Horizon height"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.3, "MIN": -3.0, "MAX": 3.0, "LABEL": "Speed (tiles/s)"},
        {"NAME": "turn", "TYPE": "float", "DEFAULT": 0.02, "MIN": -0.5, "MAX": 0.5, "LABEL": "Turn (turns/s)"},
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.2, "MAX": 5.0, "LABEL": "Tiles per unit of floor"},
        {"NAME": "fog", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 2.0, "LABEL": "Fog towards the horizon"},
        {"NAME": "sky", "TYPE": "long", "DEFAULT": 1, "VALUES": [0, 1, 2], "LABELS": ["Transparent", "Ceiling", "Picture"], "LABEL": "Above the horizon"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Below the horizon a row at height h under it sees the floor
// at depth 1/h (camera one unit above the floor); its x spreads with the depth. Mirror-wrapping
// makes the tiles join. Fog fades the far floor to black, hiding the shimmer of tiles smaller
// than a pixel near the horizon.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(turn, speed, 0.0, 0.0), vec4(1.0, 2.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float below = horizon - uv.y;
    float h = sky == 1 ? abs(below) : max(below, 0.0);
    float depth = 0.4 / max(h, 1e-3);
    vec2 floorPoint = vec2((uv.x - 0.5) * warp_aspect() * depth, depth);
    floorPoint = warp_rotate(floorPoint, WARP_TAU * ph.x) * scale;
    // The scroll is added after scaling: it counts tiles, so a new scale does not slide the floor.
    floorPoint.y += ph.y;
    vec4 tiles = IMG_NORM_PIXEL(inputImage, warp_mirror(floorPoint));
    vec4 picture = IMG_NORM_PIXEL(inputImage, uv);
    float haze = exp(-fog * 0.3 * depth) * smoothstep(0.0, 0.01, h);
    vec4 ground = vec4(tiles.rgb * haze, tiles.a);
    bool isFloor = below > 0.0 || sky == 1;
    vec4 skyColour = sky == 2 ? picture : vec4(picture.rgb, 0.0);
    gl_FragColor = isFloor ? ground : skyColour;
}

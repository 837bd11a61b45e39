/*{
    "DESCRIPTION": "Melt: the picture runs down in drips, column by column, as if the screen were melting in the heat; the bass makes it drip further.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Noise", "Audio reactive"],
    "STEP_BOUND": 0.03,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Drip length (0 = off)"},
        {"NAME": "columns", "TYPE": "float", "DEFAULT": 24.0, "MIN": 2.0, "MAX": 100.0, "LABEL": "Drips across the picture"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 2.0, "LABEL": "How fast the drips change"},
        {"NAME": "bass_drip", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass drip"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Each column's drip length is value noise along the picture
// (two octaves, so drips have thin and broad parts) moving slowly in time; a pixel shows the
// picture from higher up by that length, scaled down towards the top so the top edge stays put.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/noise.glsl"
#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(0.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float t = ph.x;
    float n = 0.7 * value_noise(vec2(uv.x * columns, t)) + 0.3 * value_noise(vec2(uv.x * columns * 3.1 + 17.0, t * 1.7));
    float drip = amount * (1.0 + bass_drip * clamp(BASS, 0.0, 1.0)) * 0.35 * n * n;
    float y = uv.y + drip * (1.0 - uv.y);
    gl_FragColor = IMG_NORM_PIXEL(inputImage, vec2(uv.x, min(y, 1.0)));
}

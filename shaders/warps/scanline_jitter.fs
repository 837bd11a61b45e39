/*{
    "DESCRIPTION": "Scanline jitter: bands of lines slip sideways like a TV losing horizontal sync, with an optional vertical roll; onsets shake it harder.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Glitch", "Audio reactive"],
    "STEP_BOUND": 0.06,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Slip (0 = off)"},
        {"NAME": "lines", "TYPE": "float", "DEFAULT": 60.0, "MIN": 4.0, "MAX": 400.0, "LABEL": "Bands per picture height"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 8.0, "MIN": 0.0, "MAX": 30.0, "LABEL": "Jitter speed"},
        {"NAME": "roll", "TYPE": "float", "DEFAULT": 0.0, "MIN": -2.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Vertical roll (screens/s)"},
        {"NAME": "onset_shake", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Onset shake"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Each band's sideways slip is value noise over (band, time):
// bands differ from each other but each one moves smoothly in time, and the cube of the noise
// keeps most bands nearly still with a few slipping far, as a real sync fault does. Slip wraps
// round the picture.
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
        gl_FragColor = phase_advance(ph, vec4(speed, roll, 0.0, 0.0), vec4(0.0, 1.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float y = fract(uv.y + ph.y);
    float band = floor(y * lines);
    float n = value_noise(vec2(band * 1.37, ph.x)) * 2.0 - 1.0;
    float slip = n * n * n * (amount + onset_shake * clamp(ONSET, 0.0, 1.0)) * 0.25;
    gl_FragColor = IMG_NORM_PIXEL(inputImage, vec2(fract(uv.x + slip), y));
}

/*{
    "DESCRIPTION": "Wave: the picture waves sideways (each row shifted by a sine of its height) and/or up and down; the bass makes the waves bigger.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.06,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amp_x", "TYPE": "float", "DEFAULT": 0.03, "MIN": 0.0, "MAX": 0.2, "IDENTITY": 0.0, "LABEL": "Sideways wave (picture heights)"},
        {"NAME": "amp_y", "TYPE": "float", "DEFAULT": 0.01, "MIN": 0.0, "MAX": 0.2, "IDENTITY": 0.0, "LABEL": "Up-down wave (picture heights)"},
        {"NAME": "frequency", "TYPE": "float", "DEFAULT": 3.0, "MIN": 0.25, "MAX": 20.0, "LABEL": "Waves per picture height"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.5, "MIN": -4.0, "MAX": 4.0, "LABEL": "Speed (waves/s)"},
        {"NAME": "bass_boost", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass boost"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). The sideways shift depends on the row, the vertical shift on
// the column (in picture heights, so the waves keep their shape at any aspect ratio).
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, speed * 0.87, 0.0, 0.0), vec4(1.0, 1.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float aspect = warp_aspect();
    float gain = 1.0 + bass_boost * clamp(BASS, 0.0, 1.0);
    float dx = amp_x * gain * sin(WARP_TAU * (frequency * uv.y - ph.x));
    float dy = amp_y * gain * sin(WARP_TAU * (frequency * uv.x * aspect - ph.y + 0.25));
    vec2 source = uv + vec2(dx / aspect, dy);
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(source));
}

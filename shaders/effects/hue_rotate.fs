/*{
    "DESCRIPTION": "Hue rotate: turns the colours round the colour wheel, by a fixed amount, continuously, and/or a step on every beat; also sets saturation.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Colour"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "shift", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Hue shift (turns)"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.05, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Hue drift (turns/s)"},
        {"NAME": "beat_step", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 0.5, "IDENTITY": 0.0, "LABEL": "Hue step per beat (turns)"},
        {"NAME": "saturation", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 1.0, "LABEL": "Saturation"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Rotation about the grey axis (Rodrigues' formula) is exact at
// 0 (identity), cheap, and leaves greys alone. The beat step uses the beat count, so the colour
// jumps exactly on the beat at any tempo.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(1.0, 0.0, 0.0, 0.0));
        return;
    }
    vec4 src = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
    float turns = shift + ph.x + beat_step * floor(max(BEAT, 0.0));
    float a = 6.2831853 * fract(turns);
    vec3 k = vec3(0.57735027);
    float c = cos(a);
    vec3 rgb = src.rgb * c + cross(k, src.rgb) * sin(a) + k * dot(k, src.rgb) * (1.0 - c);
    float grey = dot(rgb, vec3(0.2126, 0.7152, 0.0722));
    rgb = mix(vec3(grey), rgb, saturation);
    gl_FragColor = vec4(clamp(rgb, 0.0, 1.0), src.a);
}

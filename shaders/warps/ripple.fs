/*{
    "DESCRIPTION": "Ripple: rings of waves run outwards from a centre, like a stone dropped in water; the bass makes them deeper.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.03,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Depth (0 = off)"},
        {"NAME": "wavelength", "TYPE": "float", "DEFAULT": 0.12, "MIN": 0.02, "MAX": 0.5, "LABEL": "Wavelength (picture heights)"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 1.0, "MIN": -4.0, "MAX": 4.0, "LABEL": "Speed (waves/s outwards)"},
        {"NAME": "falloff", "TYPE": "float", "DEFAULT": 1.5, "MIN": 0.0, "MAX": 6.0, "LABEL": "Falloff with distance"},
        {"NAME": "bass_boost", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass boost"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Each pixel looks up the picture a little nearer to or further
// from the centre, by a sine of its distance: 3% of the picture height at full depth.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(1.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float r = length(p);
    float depth = amount * (1.0 + bass_boost * clamp(BASS, 0.0, 1.0)) * 0.03;
    float wave = sin(WARP_TAU * (r / wavelength - ph.x)) * exp(-falloff * r);
    // p / r is the outward direction; far from zero wherever the sine is not.
    vec2 outward = p / max(r, 1e-5);
    vec2 source = warp_from_centred(p + outward * depth * wave, centre);
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(source));
}

/*{
    "DESCRIPTION": "Calm, dark, slowly drifting colour gradient. Needs nothing but GL (no audio, no includes): the safe idle picture.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Safe"],
    "INPUTS": [
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.0, "MAX": 2.0, "LABEL": "Drift speed"},
        {"NAME": "brightness", "TYPE": "float", "DEFAULT": 0.45, "MIN": 0.0, "MAX": 1.0, "LABEL": "Brightness"},
        {"NAME": "hue", "TYPE": "float", "DEFAULT": 0.68, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue"},
        {"NAME": "spread", "TYPE": "float", "DEFAULT": 0.18, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue spread"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Two soft sine fields drift against each other; their product
// gives slow, large blobs of light over a floor that never reaches black.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

vec3 gradientHue(float h) {
    // Smooth hue wheel (0 red, 1/3 green, 2/3 blue), periodic in h; fract keeps mod() positive.
    vec3 k = abs(fract(h + vec3(0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0;
    return clamp(k, 0.0, 1.0);
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(200.0 * 3.14159265, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - 0.5) * vec2(aspect, 1.0) * 2.0;
    // Every frequency below is a multiple of 0.01 rad/s, so 200 pi is a common period.
    float t = ph.x;

    float waveA = 0.5 + 0.5 * sin(p.x * 1.3 + t * 0.7 + sin(p.y * 1.7 - t * 0.5));
    vec2 centre = 0.6 * vec2(sin(t * 0.31), cos(t * 0.43));
    float waveB = 0.5 + 0.5 * sin(length(p - centre) * 2.5 - t);

    vec3 col = gradientHue(hue + spread * (waveA - 0.5) + 0.5 * spread * waveB);
    // Desaturate towards a deep blue-grey so the idle picture stays calm.
    col = mix(vec3(0.35, 0.4, 0.55), col, 0.6);
    float light = 0.25 + 0.75 * waveA * waveB;
    gl_FragColor = vec4(clamp(col * light * brightness, 0.0, 1.0), 1.0);
}

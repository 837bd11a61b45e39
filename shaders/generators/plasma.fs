/*{
    "DESCRIPTION": "Classic sine plasma with domain warp and a choice of palettes; the bass pushes the zoom and the light, the beat breathes through the colours.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Audio reactive"],
    "INPUTS": [
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 4.0, "LABEL": "Speed"},
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 6.0, "MIN": 0.5, "MAX": 16.0, "LABEL": "Scale"},
        {"NAME": "warp", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 2.0, "LABEL": "Warp"},
        {"NAME": "hue", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue offset"},
        {"NAME": "hue_speed", "TYPE": "float", "DEFAULT": 0.03, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue drift (turns/s)"},
        {"NAME": "palette", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2, 3], "LABELS": ["Rainbow", "Fire", "Ocean", "Neon"], "LABEL": "Palette"},
        {"NAME": "bands", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.2, "MAX": 4.0, "LABEL": "Colour bands"},
        {"NAME": "brightness", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 2.0, "LABEL": "Brightness"},
        {"NAME": "punch", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "LABEL": "Bass punch"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Four sine fields summed (the demoscene plasma), read through
// a palette. Audio only displaces and brightens: speed stays constant so motion never jerks.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

vec3 plasmaPalette(float t, int which) {
    // Cosine palettes: a + b * cos(2pi (c t + d)); each set was tuned by eye.
    vec3 a = vec3(0.5), b = vec3(0.5), c = vec3(1.0), d = vec3(0.0, 0.33, 0.67);
    if (which == 1) { a = vec3(0.55, 0.3, 0.15); b = vec3(0.45, 0.35, 0.15); c = vec3(1.0, 1.0, 1.0); d = vec3(0.0, 0.1, 0.2); }
    else if (which == 2) { a = vec3(0.1, 0.35, 0.5); b = vec3(0.1, 0.3, 0.4); c = vec3(1.0, 1.0, 1.0); d = vec3(0.3, 0.2, 0.1); }
    else if (which == 3) { a = vec3(0.5, 0.3, 0.6); b = vec3(0.5, 0.5, 0.4); c = vec3(2.0, 1.0, 1.0); d = vec3(0.5, 0.2, 0.25); }
    return a + b * cos(6.2831853 * (c * t + d));
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, hue_speed, 0.0, 0.0), vec4(200.0 * 3.14159265, 1.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    float bass = clamp(BASS, 0.0, 1.0);
    float pulse = exp(-4.0 * clamp(BEAT_PHASE, 0.0, 1.0));
    vec2 p = (uv - 0.5) * vec2(aspect, 1.0);
    // Bass zooms in a little: a displacement, not a speed change, so it springs back cleanly.
    p *= scale / (1.0 + 0.25 * punch * bass);
    // Every frequency below is a multiple of 0.01 rad/s, so 200 pi is a common period.
    float t = ph.x;

    p += warp * 0.35 * vec2(sin(p.y * 1.7 + t * 1.1), cos(p.x * 1.3 - t * 0.9));
    float v = sin(p.x + t);
    v += sin((p.y + t) * 0.5);
    v += sin((p.x + p.y + t) * 0.5);
    vec2 c = p + 2.0 * vec2(sin(t * 0.33), cos(t * 0.5));
    v += sin(sqrt(dot(c, c) + 1.0) + t);
    v *= 0.5;   // roughly -2..2 -> -1..1

    float h = v * 0.5 * bands + hue + ph.y + 0.08 * pulse;
    vec3 col = plasmaPalette(h, palette);
    // Soft contour light where the field crosses zero gives the plasma its glow lines.
    col += 0.25 * (1.0 - smoothstep(0.0, 0.25, abs(v))) * (0.5 + punch * bass);
    col *= brightness * (0.85 + 0.3 * punch * bass);
    gl_FragColor = vec4(clamp(col, 0.0, 1.0), 1.0);
}

/*{
    "DESCRIPTION": "Synthwave horizon: a neon perspective grid scrolls towards the viewer under a striped retro sun; the sun swells with the bass and the grid flashes on the beat.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Retro", "Audio reactive"],
    "INPUTS": [
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 6.0, "LABEL": "Scroll speed (cells/s)"},
        {"NAME": "horizon", "TYPE": "float", "DEFAULT": 0.42, "MIN": 0.1, "MAX": 0.9, "LABEL": "Horizon height"},
        {"NAME": "cells", "TYPE": "float", "DEFAULT": 10.0, "MIN": 2.0, "MAX": 40.0, "LABEL": "Grid cells across"},
        {"NAME": "line_width", "TYPE": "float", "DEFAULT": 1.5, "MIN": 0.5, "MAX": 6.0, "LABEL": "Line width (px)"},
        {"NAME": "grid_hue", "TYPE": "float", "DEFAULT": 0.85, "MIN": 0.0, "MAX": 1.0, "LABEL": "Grid hue"},
        {"NAME": "sun_size", "TYPE": "float", "DEFAULT": 0.22, "MIN": 0.0, "MAX": 0.5, "LABEL": "Sun size"},
        {"NAME": "sun_punch", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "LABEL": "Sun bass punch"},
        {"NAME": "beat_flash", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 2.0, "LABEL": "Grid beat flash"},
        {"NAME": "mountains", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0, "LABEL": "Mountain height"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Below the horizon the floor is a plane seen in perspective:
// depth = 1 / (horizon - y). Lines are measured in pixels with fwidth so they stay crisp up to
// the horizon, where they fade into a glow instead of aliasing.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

vec3 gridHue(float h) {
    vec3 k = abs(fract(h + vec3(0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0;
    return clamp(k, 0.0, 1.0);
}

float ridgeHash(float x) {
    return fract(sin(x * 127.1) * 43758.5453);
}

float ridge(float x) {
    // 1-D value noise, two octaves: a mountain silhouette.
    float i = floor(x);
    float f = fract(x);
    float s = f * f * (3.0 - 2.0 * f);
    float a = mix(ridgeHash(i), ridgeHash(i + 1.0), s);
    float x2 = x * 2.3 + 5.1;
    float i2 = floor(x2);
    float s2 = fract(x2) * fract(x2) * (3.0 - 2.0 * fract(x2));
    float b = mix(ridgeHash(i2), ridgeHash(i2 + 1.0), s2);
    return 0.7 * a + 0.3 * b;
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(1.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    float x = (uv.x - 0.5) * aspect;
    float y = uv.y;
    float bass = clamp(BASS, 0.0, 1.0);
    float beat = exp(-5.0 * clamp(BEAT_PHASE, 0.0, 1.0));
    vec3 lineColour = gridHue(grid_hue);
    vec3 col;

    if (y < horizon) {
        float below = max(horizon - y, 1e-4);
        float depth = 0.3 / below;
        vec2 g = vec2(x * depth * cells * 0.35, depth * cells * 0.35 + ph.x);
        vec2 w = max(fwidth(g), vec2(1e-4));
        vec2 dist = abs(fract(g + 0.5) - 0.5) / w;
        float px = line_width * 0.5;
        float lines = 1.0 - smoothstep(px, px + 1.0, min(dist.x, dist.y));
        // Lines closer together than a few pixels become an even glow.
        float crowd = smoothstep(0.15, 0.6, max(w.x, w.y));
        lines = mix(lines, 0.18, crowd);
        float glow = exp(-min(dist.x, dist.y) / (px * 4.0 + 1.0)) * (1.0 - crowd) * 0.4;
        float nearFade = smoothstep(0.0, 0.6, below / horizon);
        col = vec3(0.03, 0.0, 0.06) + lineColour * (lines + glow) * (0.55 + 0.45 * nearFade)
              * (1.0 + beat_flash * beat);
        // Haze at the horizon line.
        col += lineColour * 0.6 * exp(-below * 40.0);
    } else {
        float above = y - horizon;
        // Sky: deep violet to warm magenta at the horizon.
        col = mix(vec3(0.55, 0.12, 0.45), vec3(0.05, 0.01, 0.12), smoothstep(0.0, 0.5, above));
        // Sun with the classic horizontal cut-outs that widen towards the horizon.
        float sunR = sun_size * (1.0 + 0.2 * sun_punch * bass);
        vec2 sunCentre = vec2(0.0, horizon + sun_size * 0.6);
        float d = length(vec2(x, y) - sunCentre);
        float disc = 1.0 - smoothstep(sunR - 0.004, sunR, d);
        float band = (sunCentre.y - y) / max(sunR, 1e-3);
        float stripes = step(0.0, band) * step(fract(band * 5.0 - TIME * 0.3), 0.15 + 0.5 * max(band, 0.0));
        disc *= 1.0 - stripes;
        vec3 sunColour = mix(vec3(1.0, 0.85, 0.2), vec3(1.0, 0.15, 0.5), clamp((sunCentre.y + sunR - y) / max(2.0 * sunR, 1e-3), 0.0, 1.0));
        col = mix(col, sunColour, disc);
        col += vec3(1.0, 0.3, 0.5) * exp(-max(d - sunR, 0.0) * 12.0) * 0.25 * (1.0 + sun_punch * bass);
        // Mountains in front of the sun.
        float m = horizon + mountains * 0.25 * ridge(x * 3.0 + 11.0) * smoothstep(0.1, 0.9, abs(x) / max(aspect * 0.5, 1e-3) + 0.15);
        float inMountain = 1.0 - smoothstep(m - 0.002, m, y);
        col = mix(col, vec3(0.06, 0.0, 0.1) + lineColour * 0.15 * (1.0 - (y - horizon) / max(m - horizon, 1e-3)), inMountain);
    }
    gl_FragColor = vec4(clamp(col, 0.0, 1.0), 1.0);
}

/*{
    "DESCRIPTION": "Domain-warped fbm clouds: slow nebula gas that the mids stir and the bass lights from within.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Noise", "Audio reactive"],
    "INPUTS": [
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.15, "MIN": 0.0, "MAX": 2.0, "LABEL": "Speed"},
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 2.5, "MIN": 0.5, "MAX": 10.0, "LABEL": "Scale"},
        {"NAME": "warp", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 3.0, "LABEL": "Domain warp"},
        {"NAME": "octaves", "TYPE": "long", "DEFAULT": 5, "MIN": 1, "MAX": 5, "VALUES": [1, 2, 3, 4, 5], "LABELS": ["1", "2", "3", "4", "5"], "LABEL": "Detail (octaves)"},
        {"NAME": "hue", "TYPE": "float", "DEFAULT": 0.72, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue"},
        {"NAME": "hue_spread", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue spread"},
        {"NAME": "contrast", "TYPE": "float", "DEFAULT": 1.4, "MIN": 0.2, "MAX": 4.0, "LABEL": "Contrast"},
        {"NAME": "brightness", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 2.0, "LABEL": "Brightness"},
        {"NAME": "stir", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "LABEL": "Mid-range stir"},
        {"NAME": "glow", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "LABEL": "Bass glow"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). fbm(p + warp * fbm(p + ...)): the classic two-level domain
// warp. Value noise with a cheap sine-free hash keeps 3 x 5 octaves inside the CPU budget.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

float cloudHash(vec2 p) {
    // Integer-lattice hash without sin(): stable at large coordinates (long shows).
    vec3 q = fract(vec3(p.xyx) * 0.1031);
    q += dot(q, q.yzx + 33.33);
    return fract((q.x + q.y) * q.z);
}

float cloudNoise(vec2 p) {
    vec2 i = floor(p);
    vec2 f = fract(p);
    vec2 s = f * f * (3.0 - 2.0 * f);
    float a = cloudHash(i);
    float b = cloudHash(i + vec2(1.0, 0.0));
    float c = cloudHash(i + vec2(0.0, 1.0));
    float d = cloudHash(i + vec2(1.0, 1.0));
    return mix(mix(a, b, s.x), mix(c, d, s.x), s.y);
}

float cloudFbm(vec2 p, int count) {
    float sum = 0.0;
    float amp = 0.5;
    float norm = 0.0;
    // Rotating each octave hides the lattice axes.
    mat2 turn = mat2(0.8, 0.6, -0.6, 0.8);
    for (int i = 0; i < 5; i++) {
        if (i >= count) break;
        sum += amp * cloudNoise(p);
        norm += amp;
        p = turn * p * 2.03 + vec2(1.7, 9.2);
        amp *= 0.5;
    }
    return sum / max(norm, 1e-4);
}

vec3 cloudHue(float h) {
    vec3 k = abs(fract(h + vec3(0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0;
    return clamp(k, 0.0, 1.0);
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(0.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - 0.5) * vec2(aspect, 1.0) * scale;
    float t = ph.x;   // not wrapped: it moves through noise, which never repeats
    float mid = clamp(MID, 0.0, 1.0);
    float bass = clamp(BASS, 0.0, 1.0);
    int count = clamp(octaves, 1, 5);

    vec2 q = vec2(cloudFbm(p + vec2(0.0, t), count), cloudFbm(p + vec2(5.2, 1.3) - t * 0.7, count));
    float w = warp * (1.0 + stir * mid);
    float n = cloudFbm(p + w * 2.0 * q + vec2(t * 0.4, -t * 0.3), count);

    // Contrast around the middle grey, then a gentle curve so highlights bloom.
    float v = clamp((n - 0.5) * contrast + 0.5, 0.0, 1.0);
    vec3 base = cloudHue(hue + hue_spread * (q.x - 0.5) * 2.0);
    vec3 accent = cloudHue(hue + 0.5 * hue_spread + 0.1);
    vec3 col = mix(base * 0.15, base, v);
    col = mix(col, accent, smoothstep(0.55, 1.0, q.y) * v);
    col += vec3(1.0, 0.9, 0.8) * pow(v, 4.0) * glow * (0.3 + bass);
    col *= brightness * v * 1.4;
    gl_FragColor = vec4(clamp(col, 0.0, 1.0), 1.0);
}

/*{
    "DESCRIPTION": "Liquid metaballs: glossy blobs orbit and merge; the bass swells them, the beat makes them shiver. Transparent outside the blobs apart from a soft glow.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Overlay", "Audio reactive"],
    "INPUTS": [
        {"NAME": "count", "TYPE": "long", "DEFAULT": 6, "MIN": 2, "MAX": 8, "VALUES": [2, 3, 4, 5, 6, 7, 8], "LABELS": ["2", "3", "4", "5", "6", "7", "8"], "LABEL": "Number of blobs"},
        {"NAME": "size", "TYPE": "float", "DEFAULT": 0.09, "MIN": 0.02, "MAX": 0.4, "LABEL": "Blob size"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 3.0, "LABEL": "Orbit speed"},
        {"NAME": "spread", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Orbit spread"},
        {"NAME": "swell", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 2.0, "LABEL": "Bass swell"},
        {"NAME": "glow", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0, "LABEL": "Outer glow"},
        {"NAME": "hue", "TYPE": "float", "DEFAULT": 0.05, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue"},
        {"NAME": "hue_spread", "TYPE": "float", "DEFAULT": 0.15, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue spread"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). The field is a sum of r^2 / d^2 terms; the iso-surface
// field = 1 is the blob edge. The field gradient (computed analytically in the same loop) gives
// a normal for the glossy highlight without extra passes.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

vec3 blobHue(float h) {
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
    vec2 p = (uv - 0.5) * vec2(aspect, 1.0);
    float bass = clamp(BASS, 0.0, 1.0);
    float shiver = exp(-6.0 * clamp(BEAT_PHASE, 0.0, 1.0));
    // Every orbit frequency is a multiple of 0.01 rad/s, so 200 pi is a common period.
    float t = ph.x;
    int n = clamp(count, 2, 8);

    float field = 0.0;
    vec2 gradient = vec2(0.0);
    float hueMix = 0.0;
    for (int i = 0; i < 8; i++) {
        if (i >= n) break;
        float k = float(i);
        vec2 centre = spread * vec2(0.55 * aspect * sin(t * (0.6 + 0.13 * k) + k * 2.1),
                                    0.38 * cos(t * (0.45 + 0.11 * k) + k * 1.3));
        // Triangle waves instead of sin/cos: the shiver needs no smoothness, and this loop
        // runs per pixel per blob, where every transcendental counts on a CPU rasteriser.
        vec2 jitter = abs(fract(vec2(k * 0.37 + TIME * 6.4, k * 0.61 + TIME * 5.9)) - 0.5) * 4.0 - 1.0;
        centre += 0.01 * shiver * jitter;
        float r = size * (1.0 + swell * bass * 0.6) * (0.8 + 0.4 * fract(k * 0.618));
        vec2 d = p - centre;
        float d2 = max(dot(d, d), 1e-6);
        float term = r * r / d2;
        field += term;
        // d(r^2/|d|^2)/dp = -2 r^2 d / |d|^4
        gradient += -2.0 * term * d / d2;
        hueMix += term * k / 8.0;
    }
    hueMix /= max(field, 1e-6);

    float pixel = 1.5 / max(RENDERSIZE.y, 1.0);
    // Edge in screen units: (field - 1) / |grad field| approximates the distance to the surface.
    float gradLen = max(length(gradient), 1e-4);
    float dist = (1.0 - field) / gradLen;
    float inside = 1.0 - smoothstep(-pixel, pixel, dist);

    vec3 base = blobHue(hue + hue_spread * hueMix);
    // Fake lighting on the height h = 1 - 1/field (0 at the edge, 1 at a centre): its slope
    // grad / field^2 is steep at the rim and flat over the centres, like a drop of liquid.
    vec2 slope = gradient / max(field * field, 1e-6);
    vec3 normal = normalize(vec3(-slope * size * 0.6, 1.0));
    vec3 lightDir = normalize(vec3(-0.5, 0.6, 0.7));
    float diffuse = clamp(dot(normal, lightDir), 0.0, 1.0);
    float spec = pow(clamp(dot(reflect(-lightDir, normal), vec3(0.0, 0.0, 1.0)), 0.0, 1.0), 24.0);
    vec3 surface = base * (0.35 + 0.75 * diffuse) + vec3(spec);
    float rim = exp(-max(dist, 0.0) / 0.02) * glow;

    float alpha = clamp(inside + (1.0 - inside) * rim * 0.8, 0.0, 1.0);
    vec3 col = mix(mix(base, vec3(1.0), 0.3), surface, inside);
    gl_FragColor = vec4(clamp(col, 0.0, 1.0), alpha);
}

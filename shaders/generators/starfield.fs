/*{
    "DESCRIPTION": "Warp-speed starfield: layers of stars fly out from the centre, stretching into streaks with the bass and twinkling with the treble. Transparent between the stars.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Overlay", "Particles", "Audio reactive"],
    "INPUTS": [
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.15, "MIN": 0.0, "MAX": 2.0, "LABEL": "Flight speed"},
        {"NAME": "density", "TYPE": "float", "DEFAULT": 12.0, "MIN": 2.0, "MAX": 40.0, "LABEL": "Density"},
        {"NAME": "size", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.2, "MAX": 4.0, "LABEL": "Star size"},
        {"NAME": "streak", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 3.0, "LABEL": "Bass streaks"},
        {"NAME": "twinkle", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Treble twinkle"},
        {"NAME": "hue", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue"},
        {"NAME": "saturation", "TYPE": "float", "DEFAULT": 0.35, "MIN": 0.0, "MAX": 1.0, "LABEL": "Colour saturation"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Vanishing point"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Four depth layers, each a grid with one star per cell; a
// layer's depth cycles with time, so stars are born far away (small, dim) and pass the viewer.
// Streaks: each star's distance is measured squashed along the radius, stretching it outwards.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

const int STAR_LAYERS = 4;

vec3 starHash3(vec2 p) {
    vec3 q = fract(vec3(p.xyx) * vec3(0.1031, 0.1030, 0.0973));
    q += dot(q, q.yxz + 33.33);
    return fract((q.xxy + q.yzz) * q.zyx);
}

vec3 starHue(float h) {
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
    // ph.x is not wrapped: its whole part picks each layer's stars (a hash), so a wrap would swap them.
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - centre) * vec2(aspect, 1.0);
    float bass = clamp(BASS, 0.0, 1.0);
    float treb = clamp(TREB, 0.0, 1.0);
    float r = length(p);
    vec2 radial = r > 1e-5 ? p / r : vec2(1.0, 0.0);
    vec2 tangent = vec2(-radial.y, radial.x);
    // Squash along the radius: 1 = round stars, larger = longer streaks.
    float stretch = 1.0 + streak * bass * 4.0 * clamp(r * 2.0, 0.0, 1.0);

    float light = 0.0;
    vec3 colour = vec3(0.0);
    for (int layer = 0; layer < STAR_LAYERS; layer++) {
        float offset = float(layer) / float(STAR_LAYERS);
        float depth = fract(offset + ph.x);   // 0 far .. 1 near
        float zoom = mix(density, density * 0.08, depth);
        float fade = smoothstep(0.0, 0.3, depth) * (1.0 - smoothstep(0.85, 1.0, depth));
        vec2 s = p * zoom + float(layer) * 17.31;
        vec2 cell = floor(s);
        vec2 f = fract(s) - 0.5;
        vec3 h = starHash3(cell + floor(offset + ph.x) * 3.7);
        vec2 pos = (h.xy - 0.5) * 0.6;
        vec2 diff = f - pos;
        // Stretch each star along the radius (not the grid), capped so a streak stays in its cell.
        float radius = 0.035 * size * (0.5 + h.z) * (0.4 + depth);
        float along = dot(diff, radial) / min(stretch, 0.3 / max(radius, 1e-3));
        float d = length(vec2(along, dot(diff, tangent)));
        float core = 1.0 - smoothstep(radius * 0.5, radius, d);
        float halo = exp(-d / max(radius, 1e-4) * 1.5) * 0.35;
        float blink = 1.0 - twinkle * treb * step(0.5, fract(h.z * 7.0 + TIME * 6.0));
        float star = (core + halo) * fade * blink * step(0.35, h.z);
        light += star;
        colour += star * mix(vec3(1.0), starHue(hue + (h.x - 0.5) * 0.3), saturation);
    }
    float alpha = clamp(light, 0.0, 1.0);
    vec3 straight = colour / max(light, 1e-3);
    gl_FragColor = vec4(clamp(straight, 0.0, 1.0), alpha);
}

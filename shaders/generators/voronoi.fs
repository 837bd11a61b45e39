/*{
    "DESCRIPTION": "Living Voronoi cells: each cell listens to one of the 16 bands and lights up with it, the cell walls glow with the treble.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Audio reactive"],
    "INPUTS": [
        {"NAME": "scale", "TYPE": "float", "DEFAULT": 6.0, "MIN": 1.0, "MAX": 30.0, "LABEL": "Cells across the height"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 4.0, "LABEL": "Cell motion"},
        {"NAME": "drift", "TYPE": "float", "DEFAULT": 0.1, "MIN": -2.0, "MAX": 2.0, "LABEL": "Drift upwards"},
        {"NAME": "edge_width", "TYPE": "float", "DEFAULT": 0.06, "MIN": 0.0, "MAX": 0.5, "LABEL": "Wall width"},
        {"NAME": "edge_glow", "TYPE": "float", "DEFAULT": 0.8, "MIN": 0.0, "MAX": 2.0, "LABEL": "Wall glow (treble)"},
        {"NAME": "fill", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Cell fill"},
        {"NAME": "band_react", "TYPE": "float", "DEFAULT": 0.8, "MIN": 0.0, "MAX": 2.0, "LABEL": "Band reaction"},
        {"NAME": "hue", "TYPE": "float", "DEFAULT": 0.45, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue"},
        {"NAME": "hue_spread", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue spread"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Nearest and second-nearest feature points over the 3x3
// neighbourhood (9 iterations); F2 - F1 is the distance to the wall between two cells.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

vec2 cellHash2(vec2 p) {
    vec3 q = fract(vec3(p.xyx) * vec3(0.1031, 0.1030, 0.0973));
    q += dot(q, q.yzx + 33.33);
    return fract((q.xx + q.yz) * q.zy);
}

vec3 cellHue(float h) {
    vec3 k = abs(fract(h + vec3(0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0;
    return clamp(k, 0.0, 1.0);
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, drift, 0.0, 0.0), vec4(6.2831853, 0.0, 0.0, 0.0));
        return;
    }
    // ph.x only feeds a sine (wrapped at 2 pi); ph.y, the drift, picks cells by hash (not wrapped).
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - 0.5) * vec2(aspect, 1.0) * scale + vec2(0.0, -ph.y);
    float t = ph.x;
    float treb = clamp(TREB, 0.0, 1.0);

    vec2 cell = floor(p);
    vec2 f = fract(p);
    float f1 = 8.0;
    float f2 = 8.0;
    vec2 nearest = vec2(0.0);
    for (int j = -1; j <= 1; j++) {
        for (int i = -1; i <= 1; i++) {
            vec2 g = vec2(float(i), float(j));
            vec2 h = cellHash2(cell + g);
            vec2 point = g + 0.5 + 0.4 * sin(t + 6.2831853 * h);
            float d = length(point - f);
            if (d < f1) { f2 = f1; f1 = d; nearest = cell + g; }
            else if (d < f2) { f2 = d; }
        }
    }
    vec2 id = cellHash2(nearest + 17.0);
    int band = int(clamp(floor(id.x * 16.0), 0.0, 15.0));
    float level = clamp(BANDS[band], 0.0, 1.0);

    float wall = f2 - f1;
    float edge = 1.0 - smoothstep(edge_width * 0.5, edge_width * 0.5 + 0.04, wall);
    float halo = exp(-wall * 12.0);
    vec3 tint = cellHue(hue + hue_spread * (id.y - 0.5) * 2.0);

    // Cells: darker towards their centre, lit by their band; walls: white-hot with treble.
    float shade = 0.35 + 0.65 * smoothstep(0.0, 0.8, f1);
    vec3 col = tint * fill * shade * (0.35 + band_react * level);
    col += mix(tint, vec3(1.0), 0.5) * (edge * (0.5 + edge_glow * treb) + halo * 0.25 * edge_glow);
    col += tint * 0.2 * exp(-3.0 * clamp(BEAT_PHASE, 0.0, 1.0)) * halo;
    gl_FragColor = vec4(clamp(col, 0.0, 1.0), 1.0);
}

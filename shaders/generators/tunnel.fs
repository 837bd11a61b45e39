/*{
    "DESCRIPTION": "Endless neon tunnel: glowing rings and spokes rush towards the viewer, kicks punch the rings forward and flash the walls.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Audio reactive"],
    "INPUTS": [
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.5, "MIN": -4.0, "MAX": 4.0, "LABEL": "Speed (depth units/s)"},
        {"NAME": "twist", "TYPE": "float", "DEFAULT": 0.2, "MIN": -2.0, "MAX": 2.0, "LABEL": "Twist"},
        {"NAME": "rings", "TYPE": "float", "DEFAULT": 4.0, "MIN": 1.0, "MAX": 16.0, "LABEL": "Rings per unit depth"},
        {"NAME": "spokes", "TYPE": "float", "DEFAULT": 8.0, "MIN": 0.0, "MAX": 32.0, "LABEL": "Spokes"},
        {"NAME": "line_width", "TYPE": "float", "DEFAULT": 0.08, "MIN": 0.01, "MAX": 0.5, "LABEL": "Line width"},
        {"NAME": "hue", "TYPE": "float", "DEFAULT": 0.55, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue"},
        {"NAME": "hue_spread", "TYPE": "float", "DEFAULT": 0.35, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue spread with depth"},
        {"NAME": "fog", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0, "LABEL": "Dark centre"},
        {"NAME": "punch", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 2.0, "LABEL": "Kick punch"},
        {"NAME": "flash", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "LABEL": "Beat flash"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Polar mapping: depth = 1/radius, so equal steps in depth crowd
// towards the centre and the rings appear to rush outwards as depth scrolls with time.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are. The rings scroll at
// speed x rings (rings/s), so a new ring count changes their pace, not their position.

#include "common/phase.glsl"

vec3 tunnelHue(float h) {
    vec3 k = abs(fract(h + vec3(0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0;
    return clamp(k, 0.0, 1.0);
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them. x: ring scroll
    // (rings; wrapped at 2 so fract and the panels' odd/even stay exact), y: depth scroll for the
    // hue (wrapped at the period of sin(0.7 z)).
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed * rings, speed, 0.0, 0.0),
                                     vec4(2.0, 6.2831853 / 0.7, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - 0.5) * vec2(aspect, 1.0);
    float bass = clamp(BASS, 0.0, 1.0);
    float beat = exp(-5.0 * clamp(BEAT_PHASE, 0.0, 1.0));

    float r = max(length(p), 1e-3);
    float angle = (abs(p.x) + abs(p.y) < 1e-6) ? 0.0 : atan(p.y, p.x);
    float depth = 0.35 / r;
    // The kick shoves the rings forward by a fraction of a ring and lets them settle back.
    float kick = punch * bass * 0.25;
    float z = depth + ph.y + kick;
    float u = angle / 6.2831853 + twist * depth * 0.1 + TIME * 0.02;

    // Line distances are converted to screen units with fwidth so lines keep their width at any
    // depth and stay antialiased where they crowd into the centre.
    float ringPhase = (depth + kick) * rings + ph.x;
    float ringDist = abs(fract(ringPhase + 0.5) - 0.5) / max(fwidth(ringPhase), 1e-4);
    float spokeCount = max(floor(spokes), 0.0);
    float spokePhase = u * spokeCount;
    float spokeDist = abs(fract(spokePhase + 0.5) - 0.5) / max(fwidth(spokePhase), 1e-4);
    float px = line_width * RENDERSIZE.y * 0.05;
    // Where rings get closer than a few pixels they only make moire: fade them into the fog.
    float ringVisible = 1.0 - smoothstep(0.08, 0.3, fwidth(ringPhase));
    float ring = (1.0 - smoothstep(px * 0.5, px * 0.5 + 1.5, ringDist)) * ringVisible;
    float ringGlow = exp(-ringDist / (px * 2.0 + 1.0)) * 0.45 * ringVisible;
    float spoke = spokeCount < 0.5 ? 0.0 : (1.0 - smoothstep(px * 0.3, px * 0.3 + 1.5, spokeDist)) * 0.6;

    // Wall panels between the lines alternate in shade, which reads as a surface in motion.
    float panel = mod(floor(ringPhase) + floor(spokePhase), 2.0);
    vec3 wall = tunnelHue(hue + hue_spread * 0.5 * sin(z * 0.7));
    vec3 col = wall * (ring + ringGlow + spoke);
    col += wall * (0.05 + 0.06 * panel);
    col += vec3(1.0) * flash * beat * 0.3 * (ring + spoke);
    col *= 1.0 + punch * bass * 0.6;
    // Fog: the far end (small radius) fades to black.
    float far = smoothstep(0.02, 0.45, r);
    col *= mix(1.0, far * far, fog);
    gl_FragColor = vec4(clamp(col, 0.0, 1.0), 1.0);
}

/*{
    "DESCRIPTION": "Droste: the picture contains a smaller copy of itself, which contains a smaller copy, and so on, endlessly zooming in (the Droste cocoa tin effect).",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Recursive"],
    "STEP_BOUND": 0.04,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = flat picture)"},
        {"NAME": "inner", "TYPE": "float", "DEFAULT": 0.45, "MIN": 0.05, "MAX": 0.8, "LABEL": "Size of the copy inside"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.2, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Zoom (copies/s; + in)"},
        {"NAME": "frame", "TYPE": "float", "DEFAULT": 0.015, "MIN": 0.0, "MAX": 0.1, "IDENTITY": 0.0, "LABEL": "Dark frame round each copy"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). In log space the nesting is a repeat: with L = -ln(inner),
// the "frame radius" m (1 at the picture's border, measured with the max norm so copies are
// rectangles) has ln m wrapped into (-L, 0], and the zoom is a shift of ln m by the zoom phase
// times L; one copy of zoom gives the same picture again, so the phase wraps at 1 (and a new
// copy size never slides the zoom). `amount` slides the lookup between the flat picture and
// the nested one.
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
    vec2 p = (uv - centre) * 2.0;
    float m = max(max(abs(p.x), abs(p.y)), 1e-6);
    float L = -log(clamp(inner, 0.01, 0.95));
    float l = log(m) - ph.x * L;   // looking nearer the centre over time: zooming in
    // How many times the point is wrapped outwards; then its position inside that copy.
    float wraps = floor(-l / L + 1e-4);
    float shift = (l + wraps * L) - log(m);
    vec2 q = p * exp(shift);
    float a = clamp(amount, 0.0, 1.0);
    vec2 source = mix(uv, warp_mirror(centre + q * 0.5), a);
    vec4 colour = IMG_NORM_PIXEL(inputImage, source);
    // The frame: a dark line along each copy's border (where the wrapped radius nears 1), but
    // not along the picture's own border, which is not a copy.
    float mWrapped = exp(l + wraps * L);
    float px = 2.0 * exp(shift) / max(RENDERSIZE.y, 1.0);
    float nearBorder = smoothstep(1.0 - frame - px, 1.0 - frame + px, mWrapped);
    float ownBorder = smoothstep(1.0 - frame - 2.0 * px, 1.0 - frame, m);
    float line = frame > 0.0 ? nearBorder * (1.0 - ownBorder) * a : 0.0;
    gl_FragColor = vec4(colour.rgb * (1.0 - 0.85 * line), colour.a);
}

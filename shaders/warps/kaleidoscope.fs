/*{
    "DESCRIPTION": "Kaleidoscope: folds the picture into mirrored wedges around a centre; the wedges turn slowly and the bass kicks them round.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.09,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "segments", "TYPE": "float", "DEFAULT": 6.0, "MIN": 1.0, "MAX": 24.0, "LABEL": "Mirror wedges (between whole numbers it crossfades)"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.03, "MIN": -1.0, "MAX": 1.0, "LABEL": "Spin (turns/s)"},
        {"NAME": "zoom", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.25, "MAX": 4.0, "LABEL": "Zoom"},
        {"NAME": "kick", "TYPE": "float", "DEFAULT": 0.1, "MIN": 0.0, "MAX": 1.0, "LABEL": "Bass kick (turns)"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). In polar coordinates the angle is folded into one wedge and
// mirrored inside it, so neighbouring wedges join seamlessly; the lookup then goes back to the
// picture, whose edges are mirrored too, so zooming out never shows a smeared border. A wedge
// count between two whole numbers crossfades the two mandalas, so a mapped or automated count
// changes smoothly instead of jumping from one pattern to the next.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

vec2 kaleidoMirrorRepeat(vec2 uv) {
    // Reflect coordinates outside 0..1 back inside: 1.2 -> 0.8, -0.3 -> 0.3.
    return 1.0 - abs(1.0 - mod(uv, 2.0));
}

vec2 kaleidoFold(vec2 p, float r, float angle, float wedges, float turn, float aspect) {
    float wedge = 6.2831853 / wedges;
    float a = mod(angle + turn, wedge);
    a = abs(a - 0.5 * wedge);
    vec2 q = r * vec2(cos(a), sin(a)) / max(zoom, 1e-3);
    return kaleidoMirrorRepeat(centre + q / vec2(aspect, 1.0));
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(spin, 0.0, 0.0, 0.0), vec4(1.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec4 original = IMG_NORM_PIXEL(inputImage, uv);
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - centre) * vec2(aspect, 1.0);
    float r = length(p);
    float angle = (abs(p.x) + abs(p.y) < 1e-6) ? 0.0 : atan(p.y, p.x);
    float turn = 6.2831853 * (ph.x + kick * clamp(BASS, 0.0, 1.0));
    float count = max(segments, 1.0);
    float whole = floor(count);
    vec4 folded = IMG_NORM_PIXEL(inputImage, kaleidoFold(p, r, angle, whole, turn, aspect));
    vec4 next = IMG_NORM_PIXEL(inputImage, kaleidoFold(p, r, angle, whole + 1.0, turn, aspect));
    folded = mix(folded, next, count - whole);
    gl_FragColor = mix(original, folded, clamp(amount, 0.0, 1.0));
}

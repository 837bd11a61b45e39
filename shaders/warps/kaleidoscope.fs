/*{
    "DESCRIPTION": "Kaleidoscope: folds the picture into mirrored wedges around a centre; the wedges turn slowly and the bass kicks them round.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "segments", "TYPE": "float", "DEFAULT": 6.0, "MIN": 1.0, "MAX": 24.0, "LABEL": "Mirror wedges"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.03, "MIN": -1.0, "MAX": 1.0, "LABEL": "Spin (turns/s)"},
        {"NAME": "zoom", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.25, "MAX": 4.0, "LABEL": "Zoom"},
        {"NAME": "kick", "TYPE": "float", "DEFAULT": 0.1, "MIN": 0.0, "MAX": 1.0, "LABEL": "Bass kick (turns)"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ]
}*/

// Runs on the render thread (GPU). In polar coordinates the angle is folded into one wedge and
// mirrored inside it, so neighbouring wedges join seamlessly; the lookup then goes back to the
// picture, whose edges are mirrored too, so zooming out never shows a smeared border.

vec2 kaleidoMirrorRepeat(vec2 uv) {
    // Reflect coordinates outside 0..1 back inside: 1.2 -> 0.8, -0.3 -> 0.3.
    return 1.0 - abs(1.0 - mod(uv, 2.0));
}

void main() {
    vec2 uv = isf_FragNormCoord;
    vec4 original = IMG_NORM_PIXEL(inputImage, uv);
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - centre) * vec2(aspect, 1.0);
    float r = length(p);
    float angle = (abs(p.x) + abs(p.y) < 1e-6) ? 0.0 : atan(p.y, p.x);

    float wedge = 6.2831853 / max(floor(segments), 1.0);
    float turn = 6.2831853 * (TIME * spin + kick * clamp(BASS, 0.0, 1.0));
    float a = mod(angle + turn, wedge);
    a = abs(a - 0.5 * wedge);
    vec2 q = r * vec2(cos(a), sin(a)) / max(zoom, 1e-3);
    vec2 source = kaleidoMirrorRepeat(centre + q / vec2(aspect, 1.0));
    vec4 folded = IMG_NORM_PIXEL(inputImage, source);
    gl_FragColor = mix(original, folded, clamp(amount, 0.0, 1.0));
}

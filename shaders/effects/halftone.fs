/*{
    "DESCRIPTION": "Halftone: prints the picture as a screen of dots on paper, black dots or four-colour (CMYK) rosettes, dots growing with the ink each area needs.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Stylize", "Print"],
    "STEP_BOUND": 0.14,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "cell", "TYPE": "float", "DEFAULT": 6.0, "MIN": 2.0, "MAX": 40.0, "LABEL": "Dot spacing (px at 360 lines)"},
        {"NAME": "angle", "TYPE": "float", "DEFAULT": 0.125, "MIN": 0.0, "MAX": 0.25, "LABEL": "Screen angle (turns)"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "mode", "TYPE": "long", "DEFAULT": 1, "VALUES": [0, 1], "LABELS": ["Black dots", "CMYK"], "LABEL": "Inks"},
        {"NAME": "paper", "TYPE": "color", "DEFAULT": [0.97, 0.95, 0.9, 1.0], "LABEL": "Paper"},
        {"NAME": "softness", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Dot edge softness"}
    ]
}*/

// Runs on the render thread (GPU). Each ink has its own rotated dot grid (CMYK at the printing
// angles 15, 75, 0 and 45 degrees plus `angle`); a dot's area matches the ink its cell's centre
// needs, so its radius is sqrt(ink / pi) of a cell. Inks multiply on the paper like real ink.
// Black-dot mode is the same four screens with all the ink on the black one (its ink is the
// darkness), so both modes cost the same four reads, one per screen at its dot's centre, with
// no branch for llvmpipe to run both sides of. The screens are centred on the picture, so a
// change of spacing moves the dots near the middle least.

#include "common/warp.glsl"

// Coverage (0..1) of the dot of ink `channel` at `pixel` (pixels from the picture's middle),
// for a screen turned by `turns`.
float inkDot(vec2 pixel, float turns, float spacing, int channel, float edge) {
    // One sine and cosine per screen: the turn back to the picture is the transpose.
    float c = cos(WARP_TAU * turns);
    float s = sin(WARP_TAU * turns);
    vec2 rotated = vec2(c * pixel.x + s * pixel.y, c * pixel.y - s * pixel.x) / spacing;
    vec2 cellCentre = (floor(rotated) + 0.5) * spacing;
    vec2 centrePixel = vec2(c * cellCentre.x - s * cellCentre.y, s * cellCentre.x + c * cellCentre.y)
                       + 0.5 * RENDERSIZE;
    vec3 rgb = textureLod(inputImage, centrePixel / max(RENDERSIZE, vec2(1.0)), 0.0).rgb;
    float k = 1.0 - max(rgb.r, max(rgb.g, rgb.b));
    float colourInk = channel == 3 ? k : (1.0 - rgb[channel] - k) / max(1.0 - k, 1e-3);
    float monoInk = channel == 3 ? 1.0 - warp_luma(rgb) : 0.0;
    float ink = mode == 1 ? colourInk : monoInk;
    float radius = sqrt(clamp(ink, 0.0, 1.0) / WARP_PI) * (mode == 1 ? 1.0 : 1.2);
    float d = length(rotated - cellCentre / spacing);
    return 1.0 - smoothstep(radius - edge, radius + edge, d);
}

void main() {
    vec2 uv = isf_FragNormCoord;
    vec4 src = IMG_NORM_PIXEL(inputImage, uv);
    float spacing = max(cell * RENDERSIZE.y / 360.0, 1.0);
    float edge = mix(0.5, 1.5, clamp(softness, 0.0, 1.0)) / spacing;
    vec2 pixel = gl_FragCoord.xy - 0.5 * RENDERSIZE;
    // In black-dot mode the black screen uses `angle` itself.
    float blackTurn = mode == 1 ? 45.0 / 360.0 : 0.0;
    float c = inkDot(pixel, angle + 15.0 / 360.0, spacing, 0, edge);
    float m = inkDot(pixel, angle + 75.0 / 360.0, spacing, 1, edge);
    float y = inkDot(pixel, angle, spacing, 2, edge);
    float k = inkDot(pixel, angle + blackTurn, spacing, 3, edge);
    vec3 printed = paper.rgb * mix(vec3(1.0), vec3(0.0, 0.68, 0.94), c) * mix(vec3(1.0), vec3(0.93, 0.0, 0.55), m)
                   * mix(vec3(1.0), vec3(1.0, 0.95, 0.0), y) * mix(vec3(1.0), vec3(0.08), k);
    gl_FragColor = vec4(mix(src.rgb, printed, clamp(amount, 0.0, 1.0)), src.a);
}

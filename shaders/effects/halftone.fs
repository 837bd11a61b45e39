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
// The picture is read once per ink at the dot's centre: one read for black dots, four for CMYK,
// in a loop whose length depends on the mode (llvmpipe skips what a loop does not run). The
// screens are centred on the picture, so a change of spacing moves the dots near the middle
// least.

#include "common/warp.glsl"

// Coverage (0..1) of the dot of ink `channel` at this pixel, for screen angle `turns`.
float inkDot(vec2 pixel, float turns, float spacing, int channel, float edge) {
    vec2 rotated = warp_rotate(pixel, -WARP_TAU * turns) / spacing;
    vec2 cellCentre = floor(rotated) + 0.5;
    vec2 centrePixel = warp_rotate(cellCentre * spacing, WARP_TAU * turns);
    vec3 rgb = textureLod(inputImage, (centrePixel + 0.5 * RENDERSIZE) / max(RENDERSIZE, vec2(1.0)), 0.0).rgb;
    float k = 1.0 - max(rgb.r, max(rgb.g, rgb.b));
    float ink = channel == 3 ? k : (1.0 - rgb[channel] - k) / max(1.0 - k, 1e-3);
    float radius = sqrt(clamp(ink, 0.0, 1.0) / WARP_PI);
    float d = length(rotated - cellCentre);
    return 1.0 - smoothstep(radius - edge, radius + edge, d);
}

void main() {
    vec2 uv = isf_FragNormCoord;
    vec4 src = IMG_NORM_PIXEL(inputImage, uv);
    float spacing = max(cell * RENDERSIZE.y / 360.0, 1.0);
    float edge = mix(0.5, 1.5, clamp(softness, 0.0, 1.0)) / spacing;
    vec3 printed = paper.rgb;
    int inks = mode == 1 ? 4 : 0;
    for (int i = 0; i < inks; i++) {
        float turns = angle + (i == 0 ? 15.0 : (i == 1 ? 75.0 : (i == 2 ? 0.0 : 45.0))) / 360.0;
        float cover = inkDot(gl_FragCoord.xy - 0.5 * RENDERSIZE, turns, spacing, i, edge);
        vec3 inkColour = i == 0 ? vec3(0.0, 0.68, 0.94) : (i == 1 ? vec3(0.93, 0.0, 0.55) :
                         (i == 2 ? vec3(1.0, 0.95, 0.0) : vec3(0.08)));
        printed *= mix(vec3(1.0), inkColour, cover);
    }
    int blacks = mode == 0 ? 1 : 0;
    for (int i = 0; i < blacks; i++) {
        // Black dots: the ink needed is the darkness.
        vec2 rotated = warp_rotate(gl_FragCoord.xy - 0.5 * RENDERSIZE, -WARP_TAU * angle) / spacing;
        vec2 cellCentre = floor(rotated) + 0.5;
        vec2 centrePixel = warp_rotate(cellCentre * spacing, WARP_TAU * angle);
        vec3 rgb = textureLod(inputImage, (centrePixel + 0.5 * RENDERSIZE) / max(RENDERSIZE, vec2(1.0)), 0.0).rgb;
        float radius = sqrt(clamp(1.0 - warp_luma(rgb), 0.0, 1.0) / WARP_PI) * 1.2;
        float cover = 1.0 - smoothstep(radius - edge, radius + edge, length(rotated - cellCentre));
        printed *= 1.0 - 0.92 * cover;
    }
    gl_FragColor = vec4(mix(src.rgb, printed, clamp(amount, 0.0, 1.0)), src.a);
}

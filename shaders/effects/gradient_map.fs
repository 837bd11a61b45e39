/*{
    "DESCRIPTION": "Gradient map: replaces the picture's brightness with a colour from a palette (fire, ocean, neon, sunset, ice, rainbow), which can be shifted and cycled.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Colour"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "palette", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2, 3, 4, 5], "LABELS": ["Fire", "Ocean", "Neon", "Sunset", "Ice", "Rainbow"], "LABEL": "Palette"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "offset", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "LABEL": "Shift along the palette"},
        {"NAME": "cycle", "TYPE": "float", "DEFAULT": 0.0, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Cycle (palettes/s)"},
        {"NAME": "repeats", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.5, "MAX": 4.0, "LABEL": "Palette repeats over the brightness range"},
        {"NAME": "contrast", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.25, "MAX": 4.0, "LABEL": "Contrast"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Palettes are smooth curves of one variable. The brightness
// goes through contrast, repeats, offset and cycle and is then folded back and forth
// (a triangle wave) rather than wrapped, so palettes whose ends differ (fire: black to white)
// never show a hard edge when shifted.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/color.glsl"
#include "common/warp.glsl"
#include "common/phase.glsl"

vec3 paletteColour(float t) {
    vec3 fire = clamp(vec3(3.0 * t, 3.0 * t - 1.0, 3.0 * t - 2.0), 0.0, 1.0);
    vec3 ocean = cosine_palette(t, vec3(0.2, 0.45, 0.6), vec3(0.2, 0.35, 0.4), vec3(1.0), vec3(0.5, 0.45, 0.4));
    vec3 neon = cosine_palette(t, vec3(0.5), vec3(0.5), vec3(1.0, 1.0, 1.0), vec3(0.8, 0.1, 0.5));
    vec3 sunset = cosine_palette(t, vec3(0.6, 0.35, 0.35), vec3(0.4, 0.35, 0.3), vec3(0.8, 0.9, 0.7), vec3(0.5, 0.65, 0.85));
    vec3 ice = mix(vec3(0.02, 0.05, 0.15), vec3(0.85, 0.95, 1.0), t) + vec3(0.0, 0.1, 0.2) * sin(WARP_PI * t);
    vec3 rainbow = hsv2rgb(vec3(0.85 * t, 0.85, 0.35 + 0.65 * t));
    vec3 c = palette == 0 ? fire : (palette == 1 ? ocean : (palette == 2 ? neon :
             (palette == 3 ? sunset : (palette == 4 ? ice : rainbow))));
    return clamp(c, 0.0, 1.0);
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(cycle, 0.0, 0.0, 0.0), vec4(2.0, 0.0, 0.0, 0.0));
        return;
    }
    vec4 src = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
    float y = clamp((warp_luma(src.rgb) - 0.5) * contrast + 0.5, 0.0, 1.0);
    float t = warp_mirror(y * repeats + offset + ph.x);
    gl_FragColor = vec4(mix(src.rgb, paletteColour(t), clamp(amount, 0.0, 1.0)), src.a);
}

/*{
    "DESCRIPTION": "Strobe: flashes in time with the beat (every bar, beat, half or quarter beat), to a colour, to black, or to the negative. On the program output the flash guard (live/render/safety.py, on by default) limits any flashing to 3 flashes per second over a quarter of the screen, so fast rates are damped there (WCAG 2.3.1).",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Colour", "Audio reactive"],
    "STEP_BOUND": 0.08,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.8, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Flash strength (0 = off)"},
        {"NAME": "rate", "TYPE": "long", "DEFAULT": 1, "VALUES": [0, 1, 2, 3], "LABELS": ["Every bar", "Every beat", "2 per beat", "4 per beat"], "LABEL": "Rate"},
        {"NAME": "duty", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.05, "MAX": 0.9, "LABEL": "Flash length (share of each period)"},
        {"NAME": "softness", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Fade-out (0 = hard cut)"},
        {"NAME": "colour", "TYPE": "color", "DEFAULT": [1.0, 1.0, 1.0, 1.0], "LABEL": "Flash colour"},
        {"NAME": "mode", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2], "LABELS": ["Flash to colour", "Black between flashes", "Negative flash"], "LABEL": "Style"}
    ]
}*/

// Runs on the render thread (GPU). The flash envelope follows the beat clock (BEAT, BAR), so it
// is locked to the tempo and the same in every render. Each period starts lit; the light holds
// for (1 - softness) of the flash length and fades out over the rest of it. This effect makes
// flashes on purpose: the program output's flash guard is what keeps a show safe, so do not
// switch that guard off for a strobe (see docs/safety.md).

void main() {
    vec4 src = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
    float perBeat = rate == 0 ? 0.0 : (rate == 1 ? 1.0 : (rate == 2 ? 2.0 : 4.0));
    float phase = rate == 0 ? fract(max(BAR, 0.0)) : fract(max(BEAT, 0.0) * perBeat);
    float hold = duty * (1.0 - clamp(softness, 0.0, 1.0));
    float lit = 1.0 - smoothstep(hold, duty + 1e-4, phase);
    float k = clamp(amount, 0.0, 1.0) * lit;
    vec3 flash = mix(src.rgb, colour.rgb, k);
    vec3 blackout = src.rgb * (1.0 - clamp(amount, 0.0, 1.0) * (1.0 - lit));
    vec3 negative = mix(src.rgb, 1.0 - src.rgb, k);
    vec3 rgb = mode == 0 ? flash : (mode == 1 ? blackout : negative);
    float alpha = mode == 0 ? max(src.a, k * colour.a) : src.a;
    gl_FragColor = vec4(clamp(rgb, 0.0, 1.0), alpha);
}

/*{
    "DESCRIPTION": "Levels and curves: sets the black and white points and the mid-tone gamma of the picture, the output range, and an S-curve for contrast (or a flat curve to soften it).",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Colour"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "in_black", "TYPE": "float", "DEFAULT": 0.05, "MIN": 0.0, "MAX": 0.9, "IDENTITY": 0.0, "LABEL": "Input black point"},
        {"NAME": "in_white", "TYPE": "float", "DEFAULT": 0.95, "MIN": 0.1, "MAX": 1.0, "IDENTITY": 1.0, "LABEL": "Input white point"},
        {"NAME": "gamma", "TYPE": "float", "DEFAULT": 1.1, "MIN": 0.2, "MAX": 5.0, "IDENTITY": 1.0, "LABEL": "Mid-tones (gamma; > 1 brighter)"},
        {"NAME": "out_black", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Output black"},
        {"NAME": "out_white", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 1.0, "LABEL": "Output white"},
        {"NAME": "contrast", "TYPE": "float", "DEFAULT": 0.25, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "S-curve (+ more contrast, - less)"}
    ]
}*/

// Runs on the render thread (GPU). The classic levels pipeline per channel: map the input black
// and white points to 0 and 1, apply the gamma, bend with the curve, map to the output range.
// The curve adds c (smoothstep(x) - x): an S for c > 0, its mirror for c < 0; both stay
// monotonic, so tones never swap order. A white point at or below the black point is read as
// a thousandth above it.

void main() {
    vec4 src = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
    float span = max(in_white - in_black, 1e-3);
    vec3 x = clamp((src.rgb - in_black) / span, 0.0, 1.0);
    x = pow(x, vec3(1.0 / max(gamma, 1e-3)));
    x += contrast * (x * x * (3.0 - 2.0 * x) - x);
    gl_FragColor = vec4(clamp(mix(vec3(out_black), vec3(out_white), x), 0.0, 1.0), src.a);
}

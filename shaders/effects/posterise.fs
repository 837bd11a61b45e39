/*{
    "DESCRIPTION": "Posterise: reduces each colour channel to a few flat levels, like a screen print; softness rounds the steps off.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Colour", "Stylize"],
    "STEP_BOUND": 0.07,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "levels", "TYPE": "float", "DEFAULT": 4.0, "MIN": 2.0, "MAX": 32.0, "LABEL": "Levels per channel"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "gamma", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.4, "MAX": 2.5, "LABEL": "Level spacing (1 = even, > 1 more dark levels)"},
        {"NAME": "softness", "TYPE": "float", "DEFAULT": 0.15, "MIN": 0.0, "MAX": 1.0, "LABEL": "Step softness"}
    ]
}*/

// Runs on the render thread (GPU). Channels are quantised in a gamma-bent space. Each step is a
// smoothstep of the fractional part instead of a hard floor: softness 0 gives hard posters,
// more softness gives rounded ones, and a level count between whole numbers still works (the
// top step is simply narrower), so mapped levels never jump.

void main() {
    vec4 src = IMG_NORM_PIXEL(inputImage, isf_FragNormCoord);
    float n = max(levels - 1.0, 1.0);
    vec3 x = pow(clamp(src.rgb, 0.0, 1.0), vec3(1.0 / gamma)) * n;
    vec3 whole = floor(x);
    float edge = 0.5 * clamp(softness, 0.0, 1.0);
    vec3 rounded = whole + smoothstep(0.5 - edge - 1e-4, 0.5 + edge + 1e-4, x - whole);
    vec3 poster = pow(clamp(rounded / n, 0.0, 1.0), vec3(gamma));
    gl_FragColor = vec4(mix(src.rgb, poster, clamp(amount, 0.0, 1.0)), src.a);
}

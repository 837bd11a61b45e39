/*{
    "DESCRIPTION": "MilkDrop-style feedback: the previous frame is zoomed, rotated, warped, tinted and faded, and the picture below is drawn over it, so everything leaves spiralling echoes. Use as a layer of kind \"feedback\".",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Feedback", "Audio reactive"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "zoom", "TYPE": "float", "DEFAULT": 1.02, "MIN": 0.8, "MAX": 1.25, "IDENTITY": 1.0, "LABEL": "Zoom per frame (1 = none)"},
        {"NAME": "rotate", "TYPE": "float", "DEFAULT": 0.2, "MIN": -3.0, "MAX": 3.0, "IDENTITY": 0.0, "LABEL": "Rotation (radians/s)"},
        {"NAME": "decay", "TYPE": "float", "DEFAULT": 0.9, "MIN": 0.0, "MAX": 0.99, "IDENTITY": 0.0, "LABEL": "Echo decay per frame (0 = no echo)"},
        {"NAME": "warp", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Warp"},
        {"NAME": "hue_shift", "TYPE": "float", "DEFAULT": 0.15, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Echo hue drift (turns/s)"},
        {"NAME": "input_gain", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 1.0, "LABEL": "New picture gain"},
        {"NAME": "mode", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1], "LABELS": ["Lighten (stable)", "Screen (brighter)"], "LABEL": "Combine"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Zoom centre"}
    ]
}*/

// Runs on the render thread (GPU). Per-frame amounts (zoom, decay) are given for 30 fps and
// raised to the power TIMEDELTA * 30, so the echo looks the same at any frame rate and offline.
// PREV_FRAME is this layer's own previous output; it is black on the first frame.

vec3 echoHueRotate(vec3 c, float turns) {
    // Rotation about the grey axis (Rodrigues): keeps luminance roughly and greys exactly.
    float a = 6.2831853 * turns;
    vec3 k = vec3(0.57735027);
    float cosA = cos(a);
    return c * cosA + cross(k, c) * sin(a) + k * dot(k, c) * (1.0 - cosA);
}

void main() {
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    float frames = clamp(TIMEDELTA, 0.0, 0.25) * 30.0;

    vec2 p = (uv - centre) * vec2(aspect, 1.0);
    float z = pow(clamp(zoom, 0.5, 2.0), frames);
    float angle = -rotate * clamp(TIMEDELTA, 0.0, 0.25);
    float c = cos(angle);
    float s = sin(angle);
    p = vec2(c * p.x - s * p.y, s * p.x + c * p.y) / z;
    // MilkDrop's signature wobble: a slow, smooth displacement field.
    p += warp * 0.004 * frames * vec2(sin(p.y * 6.0 + TIME * 1.3) + sin(p.y * 2.3 - TIME * 0.7),
                                      cos(p.x * 5.0 - TIME * 1.1) + cos(p.x * 2.9 + TIME * 0.5));
    vec2 source = centre + p / vec2(aspect, 1.0);

    vec4 echo = IMG_NORM_PIXEL(PREV_FRAME, source);
    // Outside the previous frame there is nothing to echo (avoid smearing the edge pixels).
    vec2 inside = step(vec2(0.0), source) * step(source, vec2(1.0));
    float fade = pow(clamp(decay, 0.0, 0.99), frames) * inside.x * inside.y;
    vec3 echoColour = clamp(echoHueRotate(echo.rgb, hue_shift * clamp(TIMEDELTA, 0.0, 0.25)), 0.0, 1.0)
                      * echo.a * fade;   // premultiplied, like freshColour
    float echoAlpha = echo.a * fade;

    vec4 fresh = IMG_NORM_PIXEL(inputImage, uv);
    vec3 freshColour = fresh.rgb * fresh.a * input_gain;   // over black
    vec3 col = mode == 1 ? 1.0 - (1.0 - freshColour) * (1.0 - echoColour) : max(freshColour, echoColour);
    float alpha = max(fresh.a * step(1e-4, input_gain), echoAlpha);
    // Stored straight alpha: un-premultiply what was composited over black.
    vec3 straight = col / max(alpha, 1e-3);
    gl_FragColor = vec4(clamp(straight, 0.0, 1.0), clamp(alpha, 0.0, 1.0));
}

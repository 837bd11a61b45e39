/*{
    "DESCRIPTION": "Trails: bright things leave fading streaks that can drift in a direction. Use as a layer of kind \"feedback\" (it reads the picture below and its own previous frame).",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Feedback"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "decay", "TYPE": "float", "DEFAULT": 0.85, "MIN": 0.0, "MAX": 0.99, "IDENTITY": 0.0, "LABEL": "Trail length (decay per frame)"},
        {"NAME": "drift_x", "TYPE": "float", "DEFAULT": 0.0, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Drift right (screens/s)"},
        {"NAME": "drift_y", "TYPE": "float", "DEFAULT": 0.05, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Drift up (screens/s)"},
        {"NAME": "tint", "TYPE": "color", "DEFAULT": [1.0, 1.0, 1.0, 1.0], "IDENTITY": [1.0, 1.0, 1.0, 1.0], "LABEL": "Trail tint (per frame)"}
    ]
}*/

// Runs on the render thread (GPU). new = max(picture, drifted previous * decay): the lighten
// combine cannot run away to white, whatever the settings. Decay is per 1/30 s.

void main() {
    vec2 uv = isf_FragNormCoord;
    float dt = clamp(TIMEDELTA, 0.0, 0.25);
    float frames = dt * 30.0;
    vec2 source = uv - vec2(drift_x, drift_y) * dt;
    vec4 previous = IMG_NORM_PIXEL(PREV_FRAME, source);
    vec2 inside = step(vec2(0.0), source) * step(source, vec2(1.0));
    float fade = pow(clamp(decay, 0.0, 0.99), frames) * inside.x * inside.y;
    // The tint multiplies once per 1/30 s, so trails slowly change colour as they fade.
    vec3 tintPerFrame = pow(clamp(tint.rgb, 0.0, 1.0), vec3(frames));
    vec3 echo = previous.rgb * previous.a * fade * tintPerFrame;
    vec4 fresh = IMG_NORM_PIXEL(inputImage, uv);
    vec3 col = max(fresh.rgb * fresh.a, echo);
    float alpha = max(fresh.a, previous.a * fade);
    gl_FragColor = vec4(clamp(col / max(alpha, 1e-4), 0.0, 1.0), clamp(alpha, 0.0, 1.0));
}

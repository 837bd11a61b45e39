/*{
    "DESCRIPTION": "Vignette and film grain: darkens the corners (tightening on the beat if wanted) and adds moving grain.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Lens"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Darkening (0 = off)"},
        {"NAME": "size", "TYPE": "float", "DEFAULT": 0.75, "MIN": 0.1, "MAX": 1.5, "LABEL": "Size of the clear centre"},
        {"NAME": "softness", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.05, "MAX": 1.0, "LABEL": "Softness"},
        {"NAME": "roundness", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "LABEL": "Roundness (1 = circle, 0 = frame shape)"},
        {"NAME": "beat_pulse", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Beat pulse"},
        {"NAME": "grain", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 0.3, "IDENTITY": 0.0, "LABEL": "Film grain"}
    ]
}*/

// Runs on the render thread (GPU). The grain hash is seeded with the frame index, so it changes
// every frame yet is identical in every offline render of the same frame.

float grainHash(vec2 p) {
    vec3 q = fract(vec3(p.xyx) * 0.1031);
    q += dot(q, q.yzx + 33.33);
    return fract((q.x + q.y) * q.z);
}

void main() {
    vec2 uv = isf_FragNormCoord;
    vec4 src = IMG_NORM_PIXEL(inputImage, uv);
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - 0.5) * 2.0;
    p.x *= mix(1.0, aspect, clamp(roundness, 0.0, 1.0));
    float pulse = beat_pulse * exp(-5.0 * clamp(BEAT_PHASE, 0.0, 1.0));
    float inner = size * (1.0 - 0.3 * pulse);
    float shade = smoothstep(inner, inner + softness, length(p));
    vec3 rgb = src.rgb * (1.0 - amount * shade);
    float noise = grainHash(gl_FragCoord.xy + vec2(float(FRAMEINDEX) * 37.0, float(FRAMEINDEX) * 11.0)) - 0.5;
    rgb += grain * noise;
    gl_FragColor = vec4(clamp(rgb, 0.0, 1.0), src.a);
}

/*{
    "DESCRIPTION": "RGB split: pulls the red and blue channels apart from green, along a direction or outwards from the centre; a glitchy chromatic kick when mapped to the bass.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Glitch"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.1, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "angle", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "LABEL": "Direction (turns)"},
        {"NAME": "radial", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Radial (0 = along direction, 1 = from centre)"},
        {"NAME": "jitter", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Onset jitter"}
    ]
}*/

// Runs on the render thread (GPU). At full amount the channels sit 4% of the picture height
// apart; radial mode scales the offset with the distance from the centre, like a cheap lens.

void main() {
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 fromCentre = (uv - 0.5) * vec2(aspect, 1.0);
    float a = 6.2831853 * (angle + jitter * clamp(ONSET, 0.0, 1.0) * fract(TIME * 7.31));
    vec2 direction = mix(vec2(cos(a), sin(a)), fromCentre * 2.0, clamp(radial, 0.0, 1.0));
    vec2 offset = direction * 0.04 * clamp(amount, 0.0, 1.0) / vec2(aspect, 1.0);

    vec4 centre = IMG_NORM_PIXEL(inputImage, uv);
    vec4 red = IMG_NORM_PIXEL(inputImage, uv + offset);
    vec4 blue = IMG_NORM_PIXEL(inputImage, uv - offset);
    // Straight alpha: each channel keeps its own coverage, the result covers all three.
    float alpha = max(centre.a, max(red.a, blue.a));
    vec3 premultiplied = vec3(red.r * red.a, centre.g * centre.a, blue.b * blue.a);
    gl_FragColor = vec4(clamp(premultiplied / max(alpha, 1e-4), 0.0, 1.0), alpha);
}

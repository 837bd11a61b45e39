/*{
    "DESCRIPTION": "Bloom: bright parts of the picture glow into their surroundings; the glow can swell with the bass. Blurs at quarter size in separate passes, so a wide glow stays cheap.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Glow", "Audio reactive"],
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "intensity", "TYPE": "float", "DEFAULT": 0.8, "MIN": 0.0, "MAX": 3.0, "IDENTITY": 0.0, "LABEL": "Glow intensity (0 = off)"},
        {"NAME": "threshold", "TYPE": "float", "DEFAULT": 0.55, "MIN": 0.0, "MAX": 0.95, "LABEL": "Brightness threshold"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.04, "MIN": 0.005, "MAX": 0.15, "LABEL": "Radius (fraction of height)"},
        {"NAME": "bass_swell", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass swell"}
    ],
    "PASSES": [
        {"TARGET": "bloomBright", "WIDTH": "$WIDTH/4", "HEIGHT": "$HEIGHT/4", "DESCRIPTION": "threshold + 4x4 downsample"},
        {"TARGET": "bloomBlurX", "WIDTH": "$WIDTH/4", "HEIGHT": "$HEIGHT/4", "DESCRIPTION": "horizontal blur"},
        {"TARGET": "bloomBlurY", "WIDTH": "$WIDTH/4", "HEIGHT": "$HEIGHT/4", "DESCRIPTION": "vertical blur"},
        {"DESCRIPTION": "picture + glow"}
    ]
}*/

// Runs on the render thread (GPU). Texture reads are what costs on a CPU rasteriser, so the
// bright parts are extracted and blurred at a sixteenth of the pixels (separable 9-tap Gaussian)
// and the full-size pass reads only two textures.
//
// Why every pass's reads sit in a loop with a pass-dependent count instead of in if/else:
// Mesa's llvmpipe runs both sides of an if (masked), even when the condition is the same for
// every pixel, but it leaves a loop as soon as no pixel wants another turn. A loop that runs 0
// times costs nothing, so each pass only pays for its own texture reads.

const float BLOOM_WEIGHTS_TOTAL = 5.0128;   // sum of exp(-k*k/8) for k = -4..4

void main() {
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    float bass = clamp(BASS, 0.0, 1.0);
    vec3 result = vec3(0.0);
    float alpha = 1.0;

    // Pass 0: average 4 bilinear taps (each a 2x2 average) = the 4x4 input pixels under one
    // small pixel, keeping only what is brighter than the threshold.
    int downTaps = PASSINDEX == 0 ? 4 : 0;
    vec2 inputTexel = 1.0 / max(IMG_SIZE(inputImage), vec2(1.0));
    vec3 sum = vec3(0.0);
    for (int i = 0; i < downTaps; i++) {
        vec2 corner = vec2(float(i - (i / 2) * 2), float(i / 2)) * 2.0 - 1.0;
        vec4 tap = IMG_NORM_PIXEL(inputImage, uv + corner * inputTexel);
        sum += tap.rgb * tap.a;
    }
    vec3 bright = clamp(max(sum * 0.25 - threshold, 0.0) / max(1.0 - threshold, 1e-3), 0.0, 1.0);

    // Passes 1 and 2: separable Gaussian, horizontal then vertical, in quarter-size pixels.
    float reach = radius * (1.0 + bass_swell * bass) * 0.25;
    int blurX = PASSINDEX == 1 ? 9 : 0;
    int blurY = PASSINDEX == 2 ? 9 : 0;
    vec3 blurred = vec3(0.0);
    for (int k = 0; k < blurX; k++) {
        float o = float(k - 4);
        blurred += IMG_NORM_PIXEL(bloomBright, uv + vec2(reach / aspect * o, 0.0)).rgb * exp(-o * o / 8.0);
    }
    for (int k = 0; k < blurY; k++) {
        float o = float(k - 4);
        blurred += IMG_NORM_PIXEL(bloomBlurX, uv + vec2(0.0, reach * o)).rgb * exp(-o * o / 8.0);
    }
    blurred /= BLOOM_WEIGHTS_TOTAL;

    // Pass 3: the picture plus the glow.
    int finalTaps = PASSINDEX == 3 ? 1 : 0;
    vec4 src = vec4(0.0);
    vec3 glow = vec3(0.0);
    for (int i = 0; i < finalTaps; i++) {
        src = IMG_NORM_PIXEL(inputImage, uv);
        glow = IMG_NORM_PIXEL(bloomBlurY, uv).rgb;
    }
    float gain = intensity * (1.0 + bass_swell * bass * 0.5);
    glow *= gain;
    float outAlpha = clamp(max(src.a, dot(glow, vec3(0.3333))), 0.0, 1.0);
    vec4 bloomed = vec4(clamp((src.rgb * src.a + glow) / max(outAlpha, 1e-4), 0.0, 1.0), outAlpha);
    // With no gain the picture passes through untouched (no rounding from the division).
    vec4 composite = gain > 0.0 ? bloomed : src;

    if (PASSINDEX == 0) gl_FragColor = vec4(bright, 1.0);
    else if (PASSINDEX == 3) gl_FragColor = composite;
    else gl_FragColor = vec4(blurred, 1.0);
}

/*{
    "DESCRIPTION": "Bloom: bright parts of the picture glow into their surroundings; the glow can swell with the bass. The glow is gathered at quarter size, so a wide glow stays cheap.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Glow", "Audio reactive"],
    "STEP_BOUND": 0.006,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "intensity", "TYPE": "float", "DEFAULT": 0.8, "MIN": 0.0, "MAX": 3.0, "IDENTITY": 0.0, "LABEL": "Glow intensity (0 = off)"},
        {"NAME": "threshold", "TYPE": "float", "DEFAULT": 0.55, "MIN": 0.0, "MAX": 0.95, "LABEL": "Brightness threshold"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.04, "MIN": 0.005, "MAX": 0.15, "LABEL": "Radius (fraction of height)"},
        {"NAME": "bass_swell", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass swell"}
    ],
    "PASSES": [
        {"TARGET": "bloomGlow", "WIDTH": "$WIDTH/4", "HEIGHT": "$HEIGHT/4", "DESCRIPTION": "bright parts, blurred, at quarter size"},
        {"DESCRIPTION": "picture + glow"}
    ]
}*/

// Runs on the render thread (GPU). On a CPU rasteriser every pass has a fixed cost and every
// texture read a cost per pixel, so the glow is gathered in one pass at a sixteenth of the
// pixels (16 taps on a golden-angle spiral, Gaussian-weighted, thresholded per tap) and the
// full-size pass reads just the picture and the glow.
//
// Why each pass's reads sit in a loop with a pass-dependent count instead of in if/else:
// Mesa's llvmpipe runs both sides of an if (masked), even when the condition is the same for
// every pixel, but it leaves a loop as soon as no pixel wants another turn. A loop that runs 0
// times costs nothing, so each pass only pays for its own texture reads.

const int BLOOM_TAPS = 16;

void main() {
    vec2 uv = isf_FragNormCoord;
    float bass = clamp(BASS, 0.0, 1.0);
    // The aspect of the picture (not of this pass's buffer, which has the same shape anyway).
    vec2 size = max(IMG_SIZE(inputImage), vec2(1.0));
    float aspect = size.x / size.y;
    float reach = radius * (1.0 + bass_swell * bass);
    float knee = max(1.0 - threshold, 1e-3);

    // Pass 0: gather the glow.
    int gatherTaps = PASSINDEX == 0 ? BLOOM_TAPS : 0;
    vec3 glowSum = vec3(0.0);
    float weightSum = 0.0;
    for (int i = 0; i < gatherTaps; i++) {
        float k = (float(i) + 0.5) / float(BLOOM_TAPS);
        float a = float(i) * 2.39996323;   // golden angle: even cover without a pattern
        vec2 offset = sqrt(k) * reach * vec2(cos(a) / aspect, sin(a));
        vec4 tap = IMG_NORM_PIXEL(inputImage, uv + offset);
        float weight = exp(-2.5 * k);
        glowSum += max(tap.rgb * tap.a - threshold, 0.0) / knee * weight;
        weightSum += weight;
    }
    vec3 gathered = clamp(glowSum / max(weightSum, 1e-4), 0.0, 1.0);

    // Pass 1: the picture plus the glow.
    int finalTaps = PASSINDEX == 1 ? 1 : 0;
    vec4 src = vec4(0.0);
    vec3 glow = vec3(0.0);
    for (int i = 0; i < finalTaps; i++) {
        src = IMG_NORM_PIXEL(inputImage, uv);
        glow = IMG_NORM_PIXEL(bloomGlow, uv).rgb;
    }
    float gain = intensity * (1.0 + bass_swell * bass * 0.5);
    glow *= gain;
    float outAlpha = clamp(max(src.a, dot(glow, vec3(0.3333))), 0.0, 1.0);
    vec4 bloomed = vec4(clamp((src.rgb * src.a + glow) / max(outAlpha, 1e-4), 0.0, 1.0), outAlpha);
    // With no gain the picture passes through untouched (no rounding from the division).
    vec4 composite = gain > 0.0 ? bloomed : src;

    gl_FragColor = PASSINDEX == 0 ? vec4(gathered, 1.0) : composite;
}

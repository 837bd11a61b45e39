/*{
    "DESCRIPTION": "Blur: a smooth Gaussian blur, horizontal then vertical (two passes at half size, so even a wide blur stays cheap); the bass can widen it.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Blur", "Audio reactive"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 6.0, "MIN": 0.0, "MAX": 32.0, "IDENTITY": 0.0, "LABEL": "Radius (px at 360 lines)"},
        {"NAME": "bass_radius", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 16.0, "IDENTITY": 0.0, "LABEL": "Bass widens by (px at 360 lines)"}
    ],
    "PASSES": [
        {"TARGET": "blurAcross", "WIDTH": "max(floor($WIDTH/2),1)", "HEIGHT": "max(floor($HEIGHT/2),1)", "DESCRIPTION": "horizontal blur at half size"},
        {"TARGET": "blurUp", "WIDTH": "max(floor($WIDTH/2),1)", "HEIGHT": "max(floor($HEIGHT/2),1)", "DESCRIPTION": "vertical blur of that"},
        {"DESCRIPTION": "the blurred picture, blended with the sharp one below one pixel of radius"}
    ]
}*/

// Runs on the render thread (GPU). Radii are given for a 360-line picture and scaled with the
// output, so a layer at half scale looks the same. Each blur pass takes 5 taps along its axis,
// 0.8 sigma apart (sigma = radius / 2, so the radius is two standard deviations); the taps fall
// between texels, so linear filtering averages in the texels they skip. The half-size buffers
// halve the pixels per axis; below a radius of one output pixel the result fades back to the
// sharp picture, which it equals at radius 0. Colours are blurred premultiplied, so transparent
// pixels do not darken the edges, then divided again.
//
// On llvmpipe both sides of an if run (masked) even when every pixel agrees, but a loop nobody
// needs is skipped (a read inside a loop costs about twice a plain one, though): the two blur
// passes' taps sit in loops that run only in their pass; the last pass's two reads are a plain
// if, which the half-size passes pay for at a quarter of the pixels.

const int BLUR_TAPS = 5;

vec4 premultiply(vec4 c) {
    return vec4(c.rgb * c.a, c.a);
}

void main() {
    vec2 uv = isf_FragNormCoord;
    float radiusPx = (radius + bass_radius * clamp(BASS, 0.0, 1.0)) * IMG_SIZE(inputImage).y / 360.0;
    float sigma = max(radiusPx * 0.5, 1e-3);
    vec4 sum = vec4(0.0);
    float weights = 0.0;

    // Pass 0: across, reading the picture; pass 1: up, reading pass 0. Offsets in picture pixels.
    int across = PASSINDEX == 0 ? BLUR_TAPS : 0;
    vec2 texelIn = 1.0 / max(IMG_SIZE(inputImage), vec2(1.0));
    for (int i = 0; i < across; i++) {
        float k = float(i - BLUR_TAPS / 2) * 0.8;
        float w = exp(-0.5 * k * k);
        sum += w * premultiply(textureLod(inputImage, uv + vec2(k * sigma * texelIn.x, 0.0), 0.0));
        weights += w;
    }
    int up = PASSINDEX == 1 ? BLUR_TAPS : 0;
    for (int i = 0; i < up; i++) {
        float k = float(i - BLUR_TAPS / 2) * 0.8;
        float w = exp(-0.5 * k * k);
        sum += w * textureLod(blurAcross, uv + vec2(0.0, k * sigma * texelIn.y), 0.0);
        weights += w;
    }
    vec4 blurred = sum / max(weights, 1e-4);

    // Pass 2: blend the blur with the sharp picture.
    vec4 result = blurred;
    if (PASSINDEX == 2) {
        vec4 sharp = textureLod(inputImage, uv, 0.0);
        vec4 soft = textureLod(blurUp, uv, 0.0);
        vec4 straightSoft = vec4(soft.rgb / max(soft.a, 1e-4), soft.a);
        result = mix(sharp, straightSoft, clamp(radiusPx, 0.0, 1.0));
    }
    gl_FragColor = result;
}

/*{
    "DESCRIPTION": "Pixelate: big square pixels or round LED dots; the blocks can grow with the bass.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Effect", "Stylize", "Audio reactive"],
    "STEP_BOUND": 0.07,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "cell", "TYPE": "float", "DEFAULT": 8.0, "MIN": 1.0, "MAX": 64.0, "IDENTITY": 1.0, "LABEL": "Block size (px at 360 lines)"},
        {"NAME": "bass_grow", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 32.0, "IDENTITY": 0.0, "LABEL": "Bass growth (px)"},
        {"NAME": "dots", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "LED dots (0 = squares)"}
    ]
}*/

// Runs on the render thread (GPU). Block sizes are given for a 360-line picture and scaled with
// RENDERSIZE, so a layer rendered at half scale looks the same. Size 1 with no growth samples
// every pixel at its own centre: the picture passes through unchanged.

void main() {
    vec2 uv = isf_FragNormCoord;
    float pixels = cell + bass_grow * clamp(BASS, 0.0, 1.0);
    // Blocks below one pixel mean "off": keep the original lookup exactly.
    float block = max(pixels * RENDERSIZE.y / 360.0, 1.0);
    vec2 size = RENDERSIZE / block;
    vec2 grid = uv * size;
    vec2 centreUv = (floor(grid) + 0.5) / size;
    vec2 lookup = pixels <= 1.0 ? uv : centreUv;
    vec4 src = IMG_NORM_PIXEL(inputImage, lookup);
    float d = length(fract(grid) - 0.5);
    float dot_ = 1.0 - smoothstep(0.38, 0.5, d);
    float mask = mix(1.0, dot_, clamp(dots, 0.0, 1.0) * step(1.5, block));
    gl_FragColor = vec4(src.rgb, src.a * mask);
}

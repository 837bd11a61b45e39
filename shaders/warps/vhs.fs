/*{
    "DESCRIPTION": "VHS: a worn videotape; the lines wobble, a noisy tracking band rolls down the picture, the colour bleeds to the right of things and snow crawls over it.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Glitch", "Retro"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "wobble", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Line wobble"},
        {"NAME": "tracking", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Tracking band"},
        {"NAME": "bleed", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Colour bleed"},
        {"NAME": "snow", "TYPE": "float", "DEFAULT": 0.15, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Snow"},
        {"NAME": "saturation", "TYPE": "float", "DEFAULT": 0.8, "MIN": 0.0, "MAX": 1.5, "IDENTITY": 1.0, "LABEL": "Colour saturation"}
    ]
}*/

// Runs on the render thread (GPU). Brightness is read at the wobbled position, colour (the
// picture minus its brightness, which tape stores at low resolution) from two reads further
// left, averaged, so colour smears behind edges while the brightness stays sharp. Splitting a
// colour into brightness plus colour difference is exact, so with every knob at its neutral
// value the picture passes through unchanged. The snow is hashed from the pixel and the frame
// index: different every frame, identical in every render of that frame.

#include "common/noise.glsl"
#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    float line = uv.y * 240.0;   // a VHS field has about 240 visible lines
    float dx = wobble * 0.003 * sin(uv.y * 23.0 + TIME * 2.1) * sin(uv.y * 5.0 - TIME * 0.7);
    float bandY = fract(-TIME * 0.12);
    float inBand = exp(-pow((uv.y - bandY) / 0.04, 2.0));
    float bandNoise = hash1(vec2(floor(line), float(FRAMEINDEX))) - 0.5;
    dx += tracking * inBand * bandNoise * 0.04;
    vec2 at = vec2(clamp(uv.x + dx, 0.0, 1.0), uv.y);
    vec4 sharp = IMG_NORM_PIXEL(inputImage, at);
    float smear = bleed * 0.016 / warp_aspect();   // 6 px at 360 lines at full bleed
    vec4 c1 = IMG_NORM_PIXEL(inputImage, vec2(max(at.x - smear, 0.0), at.y));
    vec4 c2 = IMG_NORM_PIXEL(inputImage, vec2(max(at.x - 2.0 * smear, 0.0), at.y));
    float y = warp_luma(sharp.rgb);
    vec3 ownColour = sharp.rgb - y;
    vec3 smeared = 0.5 * (c1.rgb + c2.rgb);
    vec3 colour = mix(ownColour, smeared - warp_luma(smeared), clamp(bleed * 2.0, 0.0, 1.0)) * saturation;
    float grain = hash1(vec3(gl_FragCoord.xy, float(FRAMEINDEX))) - 0.5;
    y += snow * (grain * 0.5 + inBand * tracking * abs(bandNoise));
    gl_FragColor = vec4(clamp(y + colour, 0.0, 1.0), sharp.a);
}

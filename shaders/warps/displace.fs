/*{
    "DESCRIPTION": "Displace: moves each pixel by the brightness of another layer (the displacement map): bright parts push one way, dark parts the other. As an effect layer, `input` names the map layer and the picture below is displaced; where the map is transparent (or in an fx chain, where there is no map) the picture displaces itself by its own brightness.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.007,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "displaceMap", "TYPE": "image", "LABEL": "Displacement map"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = off)"},
        {"NAME": "angle", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.0, "MAX": 1.0, "LABEL": "Direction (turns, 0.25 = up)"},
        {"NAME": "midpoint", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Brightness that stays put"},
        {"NAME": "radial", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "LABEL": "Radial (0 = along the direction, 1 = out from the centre)"},
        {"NAME": "bass_boost", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "IDENTITY": 0.0, "LABEL": "Bass boost"}
    ]
}*/

// Runs on the render thread (GPU). The map's brightness is blended with the picture's own by
// the map's alpha (an unbound map reads as transparent black, so a lone fx falls back to the
// picture itself). At full amount a pixel moves up to 0.2 picture heights per unit of
// brightness away from the midpoint.

#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    vec4 map = IMG_NORM_PIXEL(displaceMap, uv);
    vec4 own = IMG_NORM_PIXEL(inputImage, uv);
    float level = mix(warp_luma(own.rgb), warp_luma(map.rgb), clamp(map.a, 0.0, 1.0)) - midpoint;
    float a = WARP_TAU * angle;
    vec2 outward = warp_to_centred(uv, vec2(0.5));
    outward = outward / max(length(outward), 1e-4);
    vec2 direction = normalize(mix(vec2(cos(a), sin(a)), outward, clamp(radial, 0.0, 1.0)) + vec2(1e-6));
    float reach = 0.2 * amount * (1.0 + bass_boost * clamp(BASS, 0.0, 1.0)) * level;
    vec2 source = warp_from_centred(warp_to_centred(uv, vec2(0.5)) - direction * reach, vec2(0.5));
    gl_FragColor = IMG_NORM_PIXEL(inputImage, warp_mirror(source));
}

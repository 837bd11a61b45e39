/*{
    "DESCRIPTION": "Spherize: a glass ball sits on the picture, magnifying what is under its middle and bending its rim, with a soft highlight and shading; the view inside can turn.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Lens"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "strength", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Bulge (0 = flat)"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.05, "MAX": 1.0, "LABEL": "Radius (picture heights)"},
        {"NAME": "shade", "TYPE": "float", "DEFAULT": 0.35, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Shading and highlight"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.05, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Inner spin (turns/s)"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). A sphere seen from the front: the point at distance t (of the
// radius) looks up asin(t) / (pi/2), which magnifies the middle and compresses the rim. The shade
// darkens towards the rim and adds a highlight up and to the left; bending and shade fade in
// with `strength`, so 0 is the flat picture. The spin turns the view inside the ball as a
// whole; the ball's one-pixel rim blends its colour with the picture outside (an angle that
// grew with time and was scaled by the strength would jump when the strength moved).
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(spin, 0.0, 0.0, 0.0), vec4(1.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float R = max(radius, 1e-3);
    float t = length(p) / R;
    float k = clamp(strength, 0.0, 1.0);
    float inside = 1.0 - smoothstep(1.0 - 1.5 / (R * RENDERSIZE.y), 1.0, t);
    float tc = min(t, 1.0);
    float bent = asin(tc) / (0.5 * WARP_PI);
    float scale = mix(1.0, bent / max(tc, 1e-5), k * inside);
    vec2 q = warp_rotate(p * scale, WARP_TAU * ph.x);
    vec4 ball = IMG_NORM_PIXEL(inputImage, warp_mirror(warp_from_centred(q, centre)));
    vec4 flat_ = IMG_NORM_PIXEL(inputImage, uv);
    vec4 colour = mix(flat_, ball, inside);
    // Lambert shading of the sphere's normal plus a small highlight.
    float z = sqrt(max(1.0 - tc * tc, 0.0));
    vec3 normal = vec3(p / R, z);
    float light = 0.55 + 0.45 * dot(normal, normalize(vec3(-0.4, 0.5, 0.75)));
    float highlight = pow(max(dot(normal, normalize(vec3(-0.35, 0.45, 0.82))), 0.0), 40.0);
    float amountShade = shade * k * inside;
    vec3 rgb = colour.rgb * mix(1.0, light, amountShade) + highlight * amountShade * 0.6;
    gl_FragColor = vec4(clamp(rgb, 0.0, 1.0), colour.a);
}

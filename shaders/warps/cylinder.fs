/*{
    "DESCRIPTION": "Cylinder: the picture is wrapped round a turning drum (standing or lying), its sides curving away into shade.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "3D"],
    "STEP_BOUND": 0.008,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "curve", "TYPE": "float", "DEFAULT": 0.8, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Curvature (0 = flat, 1 = half a drum)"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.05, "MIN": -1.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Spin (pictures/s)"},
        {"NAME": "shade", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Shade at the sides"},
        {"NAME": "axis", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1], "LABELS": ["Standing (turns sideways)", "Lying (turns upwards)"], "LABEL": "Drum"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Across the drum, screen position x (-1..1) is sin(theta) of
// the surface angle, so the picture coordinate is theta / theta_max, with theta_max = curve x
// pi/2; as the curve goes to 0 this tends to x itself, which is used below a tiny curve to avoid
// dividing by zero.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(spin, 0.0, 0.0, 0.0), vec4(2.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 q = axis == 0 ? uv : uv.yx;
    float x = q.x * 2.0 - 1.0;
    float thetaMax = clamp(curve, 0.0, 1.0) * 0.5 * WARP_PI;
    float theta = asin(clamp(x * sin(thetaMax), -1.0, 1.0));
    float u = thetaMax > 1e-3 ? theta / thetaMax : x;
    vec2 surface = vec2(warp_mirror(0.5 + 0.5 * u + ph.x), q.y);
    vec4 colour = IMG_NORM_PIXEL(inputImage, axis == 0 ? surface : surface.yx);
    float light = mix(1.0, cos(theta), shade);
    gl_FragColor = vec4(colour.rgb * light, colour.a);
}

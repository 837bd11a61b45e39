/*{
    "DESCRIPTION": "3D tunnel: a camera flies down a round or square tunnel lined with the picture, looking about as it goes, with fog in the distance; the bass pushes it faster.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "3D", "Audio reactive"],
    "STEP_BOUND": 0.07,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.4, "MIN": -3.0, "MAX": 3.0, "LABEL": "Flight speed (pictures/s)"},
        {"NAME": "fov", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.3, "MAX": 3.0, "LABEL": "Lens (higher = longer)"},
        {"NAME": "shape", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "LABEL": "Shape (0 = round, 1 = square)"},
        {"NAME": "wraps", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.5, "MAX": 6.0, "LABEL": "Pictures round the wall"},
        {"NAME": "twist", "TYPE": "float", "DEFAULT": 0.05, "MIN": -1.0, "MAX": 1.0, "LABEL": "Twist (turns per picture length)"},
        {"NAME": "look", "TYPE": "point2D", "DEFAULT": [0.15, 0.1], "MIN": [-1.0, -1.0], "MAX": [1.0, 1.0], "LABEL": "Look sideways/up"},
        {"NAME": "sway", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "LABEL": "Camera sway"},
        {"NAME": "fog", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "LABEL": "Fog"},
        {"NAME": "bass_rush", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 2.0, "LABEL": "Bass push"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). A ray from the camera at the tunnel's axis hits the wall
// (radius 1) at distance 1 / |ray.xy|, with the round and square (max-norm) distances blended
// by `shape`. Angle round the wall and distance along it index the picture, mirror-wrapped so
// it has no seams; fog darkens with distance, which also hides the far end, where the picture
// would shrink below a pixel.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, 0.0, 0.0, 0.0), vec4(2.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, vec2(0.5));
    vec3 ray = normalize(vec3(p, fov));
    vec2 turnTo = look * 0.6 + sway * 0.25 * vec2(sin(TIME * 0.37), sin(TIME * 0.29 + 1.0));
    // Yaw then pitch.
    ray.xz = warp_rotate(ray.xz, turnTo.x);
    ray.yz = warp_rotate(ray.yz, turnTo.y);
    float round_ = length(ray.xy);
    float square = max(abs(ray.x), abs(ray.y));
    float dist = 1.0 / max(mix(round_, square, shape), 1e-4);
    vec3 hit = ray * dist;
    float along = hit.z * 0.25 + ph.x + 0.3 * bass_rush * clamp(BASS, 0.0, 1.0);
    float around = atan(hit.y, hit.x) / WARP_TAU + twist * hit.z * 0.25;
    vec2 wall = warp_mirror(vec2(2.0 * around * wraps, along));
    vec4 colour = IMG_NORM_PIXEL(inputImage, wall);
    float haze = exp(-fog * 0.25 * max(dist, 0.0)) * smoothstep(0.0, 0.02, ray.z);
    gl_FragColor = vec4(colour.rgb * haze, colour.a);
}

/*{
    "DESCRIPTION": "Sphere map: the picture is wrapped round a turning globe, lit from the side; around the globe the picture shows through as much as wanted.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "3D", "Audio reactive"],
    "STEP_BOUND": 0.03,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.42, "MIN": 0.05, "MAX": 1.0, "LABEL": "Radius (picture heights)"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.06, "MIN": -1.0, "MAX": 1.0, "LABEL": "Spin (turns/s)"},
        {"NAME": "tilt", "TYPE": "float", "DEFAULT": 0.06, "MIN": -0.25, "MAX": 0.25, "LABEL": "Tilt (turns)"},
        {"NAME": "light", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0, "LABEL": "Side lighting"},
        {"NAME": "background", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.0, "MAX": 1.0, "LABEL": "Picture around the globe (0 = transparent)"},
        {"NAME": "bass_swell", "TYPE": "float", "DEFAULT": 0.1, "MIN": 0.0, "MAX": 0.5, "LABEL": "Bass swell"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Each pixel inside the disc is a point on the front of a unit
// sphere (orthographic view); it is turned back by the tilt and the spin, and its longitude and
// latitude index the picture (twice round, mirrored, so the globe has no seam). The disc's edge
// is anti-aliased over one pixel.
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
    float R = radius * (1.0 + bass_swell * clamp(BASS, 0.0, 1.0));
    vec2 p = warp_to_centred(uv, centre) / R;
    float r2 = dot(p, p);
    vec3 n = vec3(p, sqrt(max(1.0 - r2, 0.0)));
    vec3 s = n;
    s.yz = warp_rotate(s.yz, WARP_TAU * tilt);
    s.xz = warp_rotate(s.xz, WARP_TAU * ph.x);
    float lon = atan(s.x, s.z) / WARP_TAU + 0.5;
    float lat = asin(clamp(s.y, -1.0, 1.0)) / WARP_PI + 0.5;
    vec4 globe = IMG_NORM_PIXEL(inputImage, vec2(warp_mirror(2.0 * lon), lat));
    float shade = mix(1.0, clamp(0.25 + 0.9 * dot(n, normalize(vec3(-0.6, 0.4, 0.7))), 0.0, 1.0), light);
    vec4 behind = IMG_NORM_PIXEL(inputImage, uv);
    float edge = clamp((1.0 - sqrt(r2)) * R * RENDERSIZE.y + 0.5, 0.0, 1.0);
    // Straight alpha: blend premultiplied, then divide.
    vec4 front = vec4(globe.rgb * shade, globe.a);
    vec4 back = vec4(behind.rgb, behind.a * background);
    float alpha = front.a * edge + back.a * (1.0 - front.a * edge);
    vec3 premultiplied = front.rgb * front.a * edge + back.rgb * back.a * (1.0 - front.a * edge);
    gl_FragColor = vec4(clamp(premultiplied / max(alpha, 1e-4), 0.0, 1.0), alpha);
}

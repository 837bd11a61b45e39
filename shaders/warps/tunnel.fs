/*{
    "DESCRIPTION": "Tunnel: the picture lines the walls of an endless tunnel rushing towards the viewer (the classic demo tunnel), twisting as it goes; the bass pushes it forward.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.09,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Amount (0 = flat picture)"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.3, "MIN": -2.0, "MAX": 2.0, "LABEL": "Speed (pictures/s)"},
        {"NAME": "twist", "TYPE": "float", "DEFAULT": 0.1, "MIN": -1.0, "MAX": 1.0, "LABEL": "Twist with depth"},
        {"NAME": "depth", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.1, "MAX": 2.0, "LABEL": "Picture length along the tunnel"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.03, "MIN": -1.0, "MAX": 1.0, "LABEL": "Spin (turns/s)"},
        {"NAME": "bass_rush", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 2.0, "LABEL": "Bass push"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Vanishing point"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). Angle around the centre becomes the picture's x and 1/distance
// (depth) its y; both are mirror-wrapped so the walls show no seam. The middle fades to black,
// where the depth (and so the texture coordinate) runs off to infinity.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/warp.glsl"
#include "common/phase.glsl"

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(speed, spin, 0.0, 0.0), vec4(2.0, 1.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float r = max(length(p), 1e-3);
    float z = depth / r;
    float angle = atan(p.y, p.x) / WARP_TAU;
    vec2 wall = vec2(2.0 * (angle + ph.y + twist * z),
                     z + ph.x + 0.25 * bass_rush * clamp(BASS, 0.0, 1.0));
    float a = clamp(amount, 0.0, 1.0);
    vec2 source = mix(uv, warp_mirror(wall), a);
    vec4 colour = IMG_NORM_PIXEL(inputImage, source);
    float fog = mix(1.0, smoothstep(0.0, 0.35, r), a);
    gl_FragColor = vec4(colour.rgb * fog, colour.a);
}

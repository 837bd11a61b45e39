/*{
    "DESCRIPTION": "Shockwave: each onset (or each beat, or a trigger) sends a ring of distortion racing out from a centre, like the blast wave of an explosion.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive", "Triggered"],
    "STEP_BOUND": 0.02,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Strength (0 = off)"},
        {"NAME": "speed", "TYPE": "float", "DEFAULT": 0.7, "MIN": 0.2, "MAX": 4.0, "LABEL": "Speed (picture heights/s)"},
        {"NAME": "width", "TYPE": "float", "DEFAULT": 0.1, "MIN": 0.02, "MAX": 0.5, "LABEL": "Ring width (picture heights)"},
        {"NAME": "threshold", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.05, "MAX": 1.0, "LABEL": "Onset strength that fires"},
        {"NAME": "source", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2], "LABELS": ["Onsets", "Beats", "Trigger only"], "LABEL": "Fired by"},
        {"NAME": "trigger", "TYPE": "event", "LABEL": "Fire now"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ],
    "PASSES": [
        {"TARGET": "wave", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "state: seconds since the last firing, its strength, the last beat phase"},
        {"DESCRIPTION": "the ring"}
    ]
}*/

// Runs on the render thread (GPU). A one-pixel float buffer remembers when the wave fired and
// how hard (strength 0 = never fired), and the beat phase of the previous frame (a beat is the
// phase wrapping round). The ring is a derivative of a Gaussian of the distance from its radius:
// the picture is pushed out just ahead of the ring and pulled in behind it, and the ring fades
// as it grows. A new firing less than 0.1 s after the last one is ignored, so one onset that
// lasts several frames fires once.

#include "common/warp.glsl"

void main() {
    // Pass 0 (one pixel) advances the state; pass 1 reads the state pass 0 just wrote.
    vec4 state = IMG_NORM_PIXEL(wave, vec2(0.5));
    float age = state.r + clamp(TIMEDELTA, 0.0, 0.25);
    float fired = state.g;
    bool onBeat = BEAT_PHASE < state.b - 0.5;   // the phase wrapped round: a new beat
    bool fire = trigger || (source == 0 && ONSET >= threshold) || (source == 1 && onBeat);
    if (fire && (fired <= 0.0 || age > 0.1)) {
        age = 0.0;
        fired = source == 0 ? clamp(ONSET, 0.0, 1.0) : 1.0;
    }
    vec4 nextState = vec4(age, fired, BEAT_PHASE, 1.0);
    float ringAge = state.r;
    float strength = state.g;

    vec2 uv = isf_FragNormCoord;
    vec2 p = warp_to_centred(uv, centre);
    float r = length(p);
    float d = (r - ringAge * speed) / max(width, 1e-3);
    float ring = d * exp(-d * d) * 1.6487;   // d e^(-d^2) peaks at 1/sqrt(2e): scaled to 1
    float fade = strength * exp(-0.8 * ringAge);
    vec2 outward = p / max(r, 1e-5);
    vec2 lookup = warp_from_centred(p - outward * ring * fade * amount * 0.12, centre);
    vec4 picture = IMG_NORM_PIXEL(inputImage, warp_mirror(lookup));
    gl_FragColor = PASSINDEX == 0 ? nextState : picture;
}

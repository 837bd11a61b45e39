// Integrated phases for our own shaders: #include "common/phase.glsl".
//
// A shader that moves at a rate set by a parameter (speed, spin, scroll) must not compute its
// position as TIME * rate: when the rate changes, every position jumps by (change x TIME), so
// ten minutes into a show a 1% nudge of a mapped speed leaps six seconds ahead, and audio
// jitter on it scrambles the picture. Instead the position is summed frame by frame,
// position += rate * TIMEDELTA, so a new rate changes how fast things move from now on,
// never where they are.
//
// The sums live in a one-pixel persistent float pass target named "phases" (up to four
// phases, one per channel), declared first in PASSES:
//     {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1"}
// Pass 0 writes phase_advance(...) into it; later passes read phase_read(phases). The target
// starts at zero when the layer starts, like TIME. (live/render/effects_preview.py knows this
// name: a shader whose only persistent target is "phases" shows its look in one frame.)
#ifndef ECHOEL_PHASE_GLSL
#define ECHOEL_PHASE_GLSL

// The current phases (all four channels).
vec4 phase_read(sampler2D phases_) {
    return texelFetch(phases_, ivec2(0, 0), 0);
}

// The phases one frame on: old + rates * TIMEDELTA. A channel with a period > 0 wraps into
// [0, period), which keeps full float precision through a long show; use it wherever the phase
// only feeds something periodic (an angle, a sine, a mirror-wrapped coordinate), and 0 (no
// wrap) where it feeds noise or other non-repeating functions.
vec4 phase_advance(vec4 old, vec4 rates, vec4 periods) {
    vec4 next = old + rates * max(TIMEDELTA, 0.0);
    vec4 wrapped = mod(next, max(periods, vec4(1e-6)));
    return mix(next, wrapped, step(vec4(1e-9), periods));
}

#endif

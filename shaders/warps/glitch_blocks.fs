/*{
    "DESCRIPTION": "Glitch blocks: random rectangles of the picture jump sideways with their colours torn apart, a new pattern a few times per beat; onsets bring bursts.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Glitch", "Audio reactive"],
    "STEP_BOUND": 0.14,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "amount", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Share of blocks that jump (0 = off)"},
        {"NAME": "block", "TYPE": "float", "DEFAULT": 0.08, "MIN": 0.01, "MAX": 0.5, "LABEL": "Block height (picture heights)"},
        {"NAME": "shift", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "LABEL": "Jump distance (picture widths)"},
        {"NAME": "split", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "LABEL": "Colour tear in jumped blocks"},
        {"NAME": "rate", "TYPE": "long", "DEFAULT": 2, "VALUES": [1, 2, 4, 8], "LABELS": ["1 per beat", "2 per beat", "4 per beat", "8 per beat"], "LABEL": "New pattern"},
        {"NAME": "onset_burst", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Onset burst"}
    ]
}*/

// Runs on the render thread (GPU). The pattern is a hash of the block and of the beat count
// times `rate`, so it changes in time with the music and is the same in every render of the
// same moment. Blocks are three times wider than high, on two overlapping grids so the jumps
// do not line up. A block jumps when its random value is below the share: raising the share a
// little makes a few more blocks jump, never reshuffles them.

#include "common/noise.glsl"
#include "common/warp.glsl"

void main() {
    vec2 uv = isf_FragNormCoord;
    float aspect = warp_aspect();
    float step_ = floor(max(BEAT, 0.0) * float(rate));
    vec2 p = vec2(uv.x * aspect, uv.y) / max(block, 1e-3);
    vec2 cellA = floor(p / vec2(3.0, 1.0));
    vec2 cellB = floor((p + vec2(1.3, 0.5)) / vec2(5.0, 1.5));
    vec2 hashA = hash2(cellA + vec2(step_ * 17.0, step_ * 3.0));
    vec2 hashB = hash2(cellB + vec2(step_ * 7.0 + 101.0, step_ * 13.0));
    float share = clamp(amount + onset_burst * clamp(ONSET, 0.0, 1.0), 0.0, 1.0);
    // Each grid jumps on its own; where both jump, the larger offset wins.
    float jumpA = step(hashA.x, share * 0.6) * (hashA.y - 0.5);
    float jumpB = step(hashB.x, share * 0.4) * (hashB.y - 0.5);
    float jump = abs(jumpA) > abs(jumpB) ? jumpA : jumpB;
    float dx = jump * 2.0 * shift;
    float tear = abs(jump) * 2.0 * split * 0.03;
    vec2 base = vec2(fract(uv.x + dx), uv.y);
    vec4 g = IMG_NORM_PIXEL(inputImage, base);
    vec4 r = IMG_NORM_PIXEL(inputImage, vec2(fract(base.x + tear), uv.y));
    vec4 b = IMG_NORM_PIXEL(inputImage, vec2(fract(base.x - tear), uv.y));
    float alpha = max(g.a, max(r.a, b.a));
    vec3 premultiplied = vec3(r.r * r.a, g.g * g.a, b.b * b.a);
    gl_FragColor = vec4(clamp(premultiplied / max(alpha, 1e-4), 0.0, 1.0), alpha);
}

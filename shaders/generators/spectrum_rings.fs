/*{
    "DESCRIPTION": "Circular spectrum: the FFT wrapped around a ring as glowing bars, mirrored left/right, with an inner ring that pulses on the beat. Transparent where empty, made for layering.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Overlay", "Audio reactive"],
    "INPUTS": [
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.22, "MIN": 0.02, "MAX": 0.6, "LABEL": "Ring radius"},
        {"NAME": "height", "TYPE": "float", "DEFAULT": 0.25, "MIN": 0.0, "MAX": 0.8, "LABEL": "Bar height"},
        {"NAME": "bars", "TYPE": "float", "DEFAULT": 64.0, "MIN": 8.0, "MAX": 180.0, "LABEL": "Bars around the ring"},
        {"NAME": "gap", "TYPE": "float", "DEFAULT": 0.35, "MIN": 0.0, "MAX": 0.9, "LABEL": "Gap between bars"},
        {"NAME": "floor_level", "TYPE": "float", "DEFAULT": 0.35, "MIN": 0.0, "MAX": 0.95, "LABEL": "Spectrum floor (dB scale)"},
        {"NAME": "spin", "TYPE": "float", "DEFAULT": 0.05, "MIN": -1.0, "MAX": 1.0, "LABEL": "Spin (turns/s)"},
        {"NAME": "hue", "TYPE": "float", "DEFAULT": 0.55, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue"},
        {"NAME": "hue_spread", "TYPE": "float", "DEFAULT": 0.4, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue spread (low to high)"},
        {"NAME": "glow", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 2.0, "LABEL": "Glow"},
        {"NAME": "pulse", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 2.0, "LABEL": "Beat pulse"}
    ],
    "PASSES": [
        {"TARGET": "phases", "PERSISTENT": true, "FLOAT": true, "WIDTH": "1", "HEIGHT": "1", "DESCRIPTION": "integrated phases of the rate parameters (common/phase.glsl)"},
        {"DESCRIPTION": "the picture"}
    ]
}*/

// Runs on the render thread (GPU). AUDIO_FFT bins are linear in frequency, so the bar index is
// mapped exponentially onto bins: low frequencies get as many bars as the highs.
//
// Rates are integrated frame by frame (common/phase.glsl), so changing one (by hand or from a
// mapping) changes how fast things move, never where they are.

#include "common/phase.glsl"

vec3 ringHue(float h) {
    vec3 k = abs(fract(h + vec3(0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0;
    return clamp(k, 0.0, 1.0);
}

float spectrumAt(float x) {
    // x in 0..1 from low to high: 2^(9x) / 512 spans bin 1 (23 Hz) to bin 512 (12 kHz).
    float bin = exp2(9.0 * clamp(x, 0.0, 1.0)) / 512.0;
    float level = IMG_NORM_PIXEL(AUDIO_FFT, vec2(bin, 0.5)).r;
    return clamp((level - floor_level) / max(1.0 - floor_level, 1e-3), 0.0, 1.0);
}

void main() {
    // Pass 0 (one pixel) advances the phases; the picture pass reads them.
    vec4 ph = phase_read(phases);
    if (PASSINDEX == 0) {
        gl_FragColor = phase_advance(ph, vec4(spin, 0.0, 0.0, 0.0), vec4(1.0, 0.0, 0.0, 0.0));
        return;
    }
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - 0.5) * vec2(aspect, 1.0);
    float beat = exp(-4.0 * clamp(BEAT_PHASE, 0.0, 1.0));
    float bass = clamp(BASS, 0.0, 1.0);

    float r = length(p);
    float angle = (abs(p.x) + abs(p.y) < 1e-6) ? 0.0 : atan(p.x, p.y);   // 0 at the top
    float turn = fract(angle / 6.2831853 + ph.x);
    // Mirror: both halves run low -> high from the top, so the picture stays symmetric.
    float half_ = 1.0 - abs(turn * 2.0 - 1.0);
    float count = max(floor(bars * 0.5), 1.0);
    float slot = floor(half_ * count);
    float inSlot = fract(half_ * count);
    float x = (slot + 0.5) / count;
    float level = spectrumAt(x);

    float base = radius * (1.0 + 0.15 * pulse * beat + 0.1 * bass);
    float top = base + 0.01 + height * level;
    float pixel = 1.5 / max(RENDERSIZE.y, 1.0);
    float gapMask = smoothstep(gap * 0.5, gap * 0.5 + 0.05, min(inSlot, 1.0 - inSlot));
    float bar = smoothstep(base - pixel, base, r) * (1.0 - smoothstep(top, top + pixel, r)) * gapMask;

    float ringWidth = 0.004 + 0.006 * pulse * beat;
    float ring = 1.0 - smoothstep(ringWidth, ringWidth + pixel, abs(r - base * 0.92));
    float halo = exp(-abs(r - base) * 30.0) * glow * (0.3 + 0.7 * beat * pulse);
    float tipGlow = exp(-max(r - top, 0.0) * 60.0) * step(base, r) * glow * level * gapMask;

    vec3 colour = ringHue(hue + hue_spread * x);
    float intensity = clamp(bar + ring + 0.5 * halo + 0.5 * tipGlow, 0.0, 1.0);
    vec3 col = colour * (bar + 0.5 * tipGlow) + mix(colour, vec3(1.0), 0.6) * (ring + 0.5 * halo);
    // Straight alpha: colour normalised by coverage so layering shows what is under the gaps.
    vec3 straight = col / max(intensity, 1e-3);
    gl_FragColor = vec4(clamp(straight, 0.0, 1.0), intensity);
}

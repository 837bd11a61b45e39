/*{
    "DESCRIPTION": "Oscilloscope: the audio waveform as a glowing line across the screen, optionally mirrored into a ribbon. Transparent away from the line.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Generator", "Overlay", "Audio reactive"],
    "INPUTS": [
        {"NAME": "amplitude", "TYPE": "float", "DEFAULT": 0.35, "MIN": 0.0, "MAX": 1.0, "LABEL": "Amplitude"},
        {"NAME": "position", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Vertical position"},
        {"NAME": "thickness", "TYPE": "float", "DEFAULT": 2.0, "MIN": 0.5, "MAX": 12.0, "LABEL": "Line thickness (px)"},
        {"NAME": "glow", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.0, "MAX": 2.0, "LABEL": "Glow"},
        {"NAME": "smoothing", "TYPE": "float", "DEFAULT": 2.0, "MIN": 0.0, "MAX": 16.0, "LABEL": "Smoothing (samples)"},
        {"NAME": "mirror", "TYPE": "bool", "DEFAULT": false, "LABEL": "Mirror into a ribbon"},
        {"NAME": "idle_wave", "TYPE": "float", "DEFAULT": 0.02, "MIN": 0.0, "MAX": 0.2, "LABEL": "Idle ripple (keeps it alive in silence)"},
        {"NAME": "hue", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue"},
        {"NAME": "hue_spread", "TYPE": "float", "DEFAULT": 0.2, "MIN": 0.0, "MAX": 1.0, "LABEL": "Hue across the screen"}
    ]
}*/

// Runs on the render thread (GPU). AUDIO_WAVE holds the newest 512 samples mapped to 0..1
// (0.5 = silence). Three reads per pixel give both a smoothed height (1-2-1 filter) and the
// slope; the core line is measured perpendicular to the curve so steep parts keep their width,
// while the halo uses the vertical distance so a jagged wave never smears into vertical streaks.

vec3 waveHue(float h) {
    vec3 k = abs(fract(h + vec3(0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0;
    return clamp(k, 0.0, 1.0);
}

float waveRaw(float x) {
    return IMG_NORM_PIXEL(AUDIO_WAVE, vec2(clamp(x, 0.0, 1.0), 0.5)).r - 0.5;
}

void main() {
    vec2 uv = isf_FragNormCoord;
    float h = max(RENDERSIZE.y, 1.0);
    float x = uv.x;
    float d = max(smoothing, 1.0) / 512.0;
    float left = waveRaw(x - d);
    float centre = waveRaw(x);
    float right = waveRaw(x + d);
    // Taper the ends so the line starts and stops at the rest position.
    float taper = smoothstep(0.0, 0.08, x) * smoothstep(1.0, 0.92, x);
    float ripple = idle_wave * sin(x * 18.0 - TIME * 2.0) * sin(x * 3.1 + TIME * 0.7);
    float smoothed = smoothing > 0.0 ? (left + 2.0 * centre + right) * 0.25 : centre;
    float y = (smoothed * 2.0 * amplitude + ripple) * taper;
    float slope = (right - left) * 2.0 * amplitude * taper / (2.0 * d);   // heights per width
    float offset = uv.y - position;
    if (mirror) {
        offset = abs(offset);
        y = abs(y);
    }
    float vertical = abs(offset - y) * h;
    // Perpendicular distance in pixels; the slope is in picture heights per picture width.
    float aspect = RENDERSIZE.x / h;
    float steep = clamp(slope / max(aspect, 1e-3), -8.0, 8.0);
    float dist = vertical / sqrt(1.0 + steep * steep);
    float core = 1.0 - smoothstep(thickness * 0.5, thickness * 0.5 + 1.0, dist);
    float halo = exp(-vertical / (6.0 + 10.0 * glow)) * glow * 0.6;
    float fillRibbon = mirror ? (1.0 - smoothstep(y * h - 1.0, y * h, offset * h)) * 0.25 : 0.0;
    float alpha = clamp(core + halo + fillRibbon, 0.0, 1.0);
    vec3 colour = waveHue(hue + hue_spread * (uv.x - 0.5));
    vec3 col = mix(colour, vec3(1.0), core * 0.6);
    gl_FragColor = vec4(clamp(col, 0.0, 1.0), alpha);
}

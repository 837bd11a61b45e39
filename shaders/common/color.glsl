// Colour helpers for our own shaders: #include "common/color.glsl".
//
// Layers output straight-alpha, sRGB-encoded values (ARCHITECTURE.md "Compositing maths");
// convert to linear only for maths that needs physical light (blurs, additive glow).
#ifndef ECHOEL_COLOR_GLSL
#define ECHOEL_COLOR_GLSL

// Hue (0..1, wraps), saturation, value -> RGB.
vec3 hsv2rgb(vec3 hsv) {
    // Each channel is a clamped triangle wave of the hue, offset by a third of a turn.
    float h = fract(hsv.x) * 6.0;
    vec3 ramp = clamp(abs(mod(h + vec3(0.0, 4.0, 2.0), 6.0) - 3.0) - 1.0, 0.0, 1.0);
    return hsv.z * mix(vec3(1.0), ramp, hsv.y);
}

// RGB -> hue (0..1), saturation, value. Grey gives hue 0 and saturation 0.
vec3 rgb2hsv(vec3 rgb) {
    float hi = max(rgb.r, max(rgb.g, rgb.b));
    float lo = min(rgb.r, min(rgb.g, rgb.b));
    float chroma = hi - lo;
    float hue = 0.0;
    if (chroma > 0.0) {
        if (hi == rgb.r) {
            hue = mod((rgb.g - rgb.b) / chroma, 6.0);
        } else if (hi == rgb.g) {
            hue = (rgb.b - rgb.r) / chroma + 2.0;
        } else {
            hue = (rgb.r - rgb.g) / chroma + 4.0;
        }
        hue /= 6.0;
    }
    float saturation = hi > 0.0 ? chroma / hi : 0.0;
    return vec3(hue, saturation, hi);
}

// sRGB transfer function (IEC 61966-2-1), both directions, per channel.
vec3 srgb_to_linear(vec3 c) {
    vec3 low = c / 12.92;
    vec3 high = pow((c + 0.055) / 1.055, vec3(2.4));
    return mix(high, low, vec3(lessThanEqual(c, vec3(0.04045))));
}

vec3 linear_to_srgb(vec3 c) {
    vec3 low = c * 12.92;
    vec3 high = 1.055 * pow(max(c, vec3(0.0)), vec3(1.0 / 2.4)) - 0.055;
    return mix(high, low, vec3(lessThanEqual(c, vec3(0.0031308))));
}

// Relative luminance of a linear RGB colour (Rec. 709 / sRGB primaries).
float luminance(vec3 linear_rgb) {
    return dot(linear_rgb, vec3(0.2126, 0.7152, 0.0722));
}

// Cosine gradient palette: offset + amplitude * cos(2 pi (frequency * t + phase)).
vec3 cosine_palette(float t, vec3 offset, vec3 amplitude, vec3 frequency, vec3 phase) {
    return offset + amplitude * cos(6.28318530718 * (frequency * t + phase));
}

#endif

// Hashes and noise for our own shaders: #include "common/noise.glsl".
//
// Everything is built on an integer hash, so results are identical on every GPU and driver
// (sin()-based hashes differ between vendors at large arguments). All noise returns 0..1.
#ifndef ECHOEL_NOISE_GLSL
#define ECHOEL_NOISE_GLSL

// 32-bit integer mix: xor-shifts spread high bits down, odd multipliers spread low bits up.
uint noise_hash(uint x) {
    x ^= x >> 16;
    x *= 0x9E3779B1U;   // odd constant from the golden ratio
    x ^= x >> 13;
    x *= 0x85EBCA77U;
    x ^= x >> 16;
    return x;
}

uint noise_hash(uvec2 v) { return noise_hash(v.x ^ noise_hash(v.y + 0x632BE5ABU)); }
uint noise_hash(uvec3 v) { return noise_hash(v.x ^ noise_hash(v.y ^ noise_hash(v.z + 0x1B873593U))); }

// Top 24 bits as a float in [0, 1): exact, so equal inputs give equal floats everywhere.
float noise_unit(uint h) { return float(h >> 8) * (1.0 / 16777216.0); }

// Random value in [0, 1) for an integer lattice point (or any point: coordinates are floored).
float hash1(vec2 p) { return noise_unit(noise_hash(uvec2(ivec2(floor(p))))); }
float hash1(vec3 p) { return noise_unit(noise_hash(uvec3(ivec3(floor(p))))); }

// Two independent random values in [0, 1) for a lattice point.
vec2 hash2(vec2 p) {
    uint h = noise_hash(uvec2(ivec2(floor(p))));
    return vec2(noise_unit(h), noise_unit(noise_hash(h)));
}

// Quintic fade: zero first and second derivative at 0 and 1, so no grid creases.
vec2 noise_fade(vec2 t) { return t * t * t * (t * (t * 6.0 - 15.0) + 10.0); }
vec3 noise_fade(vec3 t) { return t * t * t * (t * (t * 6.0 - 15.0) + 10.0); }

// Value noise: random values at integer points, smoothly interpolated. Range [0, 1].
float value_noise(vec2 p) {
    vec2 cell = floor(p);
    vec2 f = noise_fade(p - cell);
    float a = hash1(cell);
    float b = hash1(cell + vec2(1.0, 0.0));
    float c = hash1(cell + vec2(0.0, 1.0));
    float d = hash1(cell + vec2(1.0, 1.0));
    return mix(mix(a, b, f.x), mix(c, d, f.x), f.y);
}

float value_noise(vec3 p) {
    vec3 cell = floor(p);
    vec3 f = noise_fade(p - cell);
    float n000 = hash1(cell);
    float n100 = hash1(cell + vec3(1.0, 0.0, 0.0));
    float n010 = hash1(cell + vec3(0.0, 1.0, 0.0));
    float n110 = hash1(cell + vec3(1.0, 1.0, 0.0));
    float n001 = hash1(cell + vec3(0.0, 0.0, 1.0));
    float n101 = hash1(cell + vec3(1.0, 0.0, 1.0));
    float n011 = hash1(cell + vec3(0.0, 1.0, 1.0));
    float n111 = hash1(cell + vec3(1.0, 1.0, 1.0));
    float bottom = mix(mix(n000, n100, f.x), mix(n010, n110, f.x), f.y);
    float top = mix(mix(n001, n101, f.x), mix(n011, n111, f.x), f.y);
    return mix(bottom, top, f.z);
}

// Fractal sum of value noise: each octave doubles the frequency and halves the weight.
// Normalised back to [0, 1]. The offset between octaves hides the lattice alignment.
float fbm(vec2 p, int octaves) {
    float sum = 0.0;
    float weight = 0.5;
    float total = 0.0;
    for (int i = 0; i < octaves; ++i) {
        sum += weight * value_noise(p);
        total += weight;
        p = p * 2.0 + vec2(17.31, 9.17);
        weight *= 0.5;
    }
    return total > 0.0 ? sum / total : 0.0;
}

float fbm(vec3 p, int octaves) {
    float sum = 0.0;
    float weight = 0.5;
    float total = 0.0;
    for (int i = 0; i < octaves; ++i) {
        sum += weight * value_noise(p);
        total += weight;
        p = p * 2.0 + vec3(17.31, 9.17, 5.71);
        weight *= 0.5;
    }
    return total > 0.0 ? sum / total : 0.0;
}

#endif

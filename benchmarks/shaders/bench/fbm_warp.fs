/*{
  "DESCRIPTION": "Benchmark load: a light fbm domain warp (three fbm levels, 4 octaves)",
  "CREDIT": "Echoel Live contributors",
  "ISFVSN": "2",
  "CATEGORIES": ["benchmark"],
  "INPUTS": [
    { "NAME": "speed", "TYPE": "float", "DEFAULT": 0.2, "MIN": 0.0, "MAX": 2.0 },
    { "NAME": "scale", "TYPE": "float", "DEFAULT": 3.0, "MIN": 0.5, "MAX": 10.0 }
  ]
}*/
float hash21(vec2 p) {
    p = fract(p * vec2(123.34, 456.21));
    p += dot(p, p + 45.32);
    return fract(p.x * p.y);
}

float vnoise(vec2 p) {
    vec2 i = floor(p);
    vec2 f = fract(p);
    vec2 u = f * f * (3.0 - 2.0 * f);
    float a = hash21(i);
    float b = hash21(i + vec2(1.0, 0.0));
    float c = hash21(i + vec2(0.0, 1.0));
    float d = hash21(i + vec2(1.0, 1.0));
    return mix(mix(a, b, u.x), mix(c, d, u.x), u.y);
}

float fbm(vec2 p) {
    float v = 0.0;
    float a = 0.5;
    for (int i = 0; i < 4; i++) {
        v += a * vnoise(p);
        p = p * 2.03 + vec2(1.7, 9.2);
        a *= 0.5;
    }
    return v;
}

void main() {
    vec2 uv = isf_FragNormCoord * scale;
    float t = TIME * speed;
    vec2 q = vec2(fbm(uv + vec2(0.0, t)), fbm(uv + vec2(5.2, 1.3 - t)));
    vec2 r = vec2(fbm(uv + 3.0 * q + vec2(1.7, 9.2)), fbm(uv + 3.0 * q + vec2(8.3, 2.8)));
    float f = fbm(uv + 2.0 * r + vec2(t, 0.0));
    vec3 col = mix(vec3(0.1, 0.2, 0.4), vec3(0.9, 0.6, 0.3), f);
    col = mix(col, vec3(0.2, 0.8, 0.7), q.x * 0.6);
    gl_FragColor = vec4(col, 1.0);
}

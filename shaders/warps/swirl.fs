/*{
    "DESCRIPTION": "Swirl: twists the picture around a centre, strongest in the middle; the bass winds it tighter.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Audio reactive"],
    "STEP_BOUND": 0.04,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "strength", "TYPE": "float", "DEFAULT": 2.0, "MIN": -10.0, "MAX": 10.0, "IDENTITY": 0.0, "LABEL": "Twist (radians at the centre)"},
        {"NAME": "radius", "TYPE": "float", "DEFAULT": 0.6, "MIN": 0.05, "MAX": 2.0, "LABEL": "Radius"},
        {"NAME": "wobble", "TYPE": "float", "DEFAULT": 0.3, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Slow wobble"},
        {"NAME": "bass_twist", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 6.0, "IDENTITY": 0.0, "LABEL": "Bass twist (radians)"},
        {"NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5], "MIN": [0.0, 0.0], "MAX": [1.0, 1.0], "LABEL": "Centre"}
    ]
}*/

// Runs on the render thread (GPU). Each pixel is rotated about the centre by an angle that falls
// off smoothly to 0 at `radius` (a squared falloff, so the border of the swirl is invisible).

void main() {
    vec2 uv = isf_FragNormCoord;
    float aspect = RENDERSIZE.x / max(RENDERSIZE.y, 1.0);
    vec2 p = (uv - centre) * vec2(aspect, 1.0);
    float r = length(p);
    float falloff = clamp(1.0 - r / max(radius, 1e-3), 0.0, 1.0);
    float twist = strength * (1.0 + wobble * sin(TIME * 0.7)) + bass_twist * clamp(BASS, 0.0, 1.0);
    float angle = twist * falloff * falloff;
    float c = cos(angle);
    float s = sin(angle);
    vec2 q = vec2(c * p.x - s * p.y, s * p.x + c * p.y);
    vec2 source = centre + q / vec2(aspect, 1.0);
    gl_FragColor = IMG_NORM_PIXEL(inputImage, source);
}

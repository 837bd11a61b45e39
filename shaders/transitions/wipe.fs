/*{
    "DESCRIPTION": "Wipe: the incoming scene replaces the outgoing one behind a straight edge that crosses the picture in the chosen direction.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Transition"],
    "INPUTS": [
        {"NAME": "startImage", "TYPE": "image"},
        {"NAME": "endImage", "TYPE": "image"},
        {"NAME": "progress", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0},
        {"NAME": "angle", "TYPE": "float", "DEFAULT": 180.0, "MIN": -360.0, "MAX": 360.0, "LABEL": "Direction the edge travels (degrees; 0 = right, 90 = up)"},
        {"NAME": "softness", "TYPE": "float", "DEFAULT": 0.05, "MIN": 0.0, "MAX": 1.0, "LABEL": "Edge width (fraction of the picture)"}
    ]
}*/

// Runs on the render thread (GPU). `s` is the pixel's place along the direction of travel,
// 0 at the corner where the wipe starts and 1 at the corner where it ends, whatever the angle.
// The edge starts one edge-width before 0 and ends at 1, so progress 0 shows only the outgoing
// scene and progress 1 only the incoming one, soft edge or not.

void main() {
    vec2 uv = isf_FragNormCoord;
    float a = radians(angle);
    vec2 dir = vec2(cos(a), sin(a));
    float half_extent = 0.5 * (abs(dir.x) + abs(dir.y));
    float s = dot(uv - vec2(0.5), dir) / (2.0 * half_extent) + 0.5;
    float w = clamp(softness, 0.0, 1.0);
    float edge = progress * (1.0 + w) - w;
    float incoming = w > 0.0 ? 1.0 - smoothstep(edge, edge + w, s) : 1.0 - step(edge, s);
    vec4 from = IMG_NORM_PIXEL(startImage, uv);
    vec4 to = IMG_NORM_PIXEL(endImage, uv);
    gl_FragColor = mix(from, to, incoming);
}

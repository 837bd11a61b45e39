/*{
    "DESCRIPTION": "Crossfade: the outgoing scene fades into the incoming one (the progress carries the easing).",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Transition"],
    "INPUTS": [
        {"NAME": "startImage", "TYPE": "image"},
        {"NAME": "endImage", "TYPE": "image"},
        {"NAME": "progress", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0}
    ]
}*/

// Runs on the render thread (GPU). A plain linear mix: the show eases `progress` itself
// (a crossfade with `ease` in its [transition]), so the curve is the scene author's choice.

void main() {
    vec2 uv = isf_FragNormCoord;
    gl_FragColor = mix(IMG_NORM_PIXEL(startImage, uv), IMG_NORM_PIXEL(endImage, uv), progress);
}

/*{
    "DESCRIPTION": "Slit-scan: each part of the picture shows a different moment of the recent past (up to 15 frames back), from top to bottom, side to side or from the centre out, so moving things bend, stretch and ripple in time.",
    "CREDIT": "Echoel Live contributors",
    "ISFVSN": "2",
    "CATEGORIES": ["Warp", "Time"],
    "STEP_BOUND": 0.005,
    "INPUTS": [
        {"NAME": "inputImage", "TYPE": "image"},
        {"NAME": "depth", "TYPE": "float", "DEFAULT": 12.0, "MIN": 0.0, "MAX": 15.0, "IDENTITY": 0.0, "LABEL": "Delay across the picture (frames)"},
        {"NAME": "direction", "TYPE": "long", "DEFAULT": 0, "VALUES": [0, 1, 2, 3, 4, 5], "LABELS": ["Top is oldest", "Bottom is oldest", "Left is oldest", "Right is oldest", "Centre is oldest", "Edges are oldest"], "LABEL": "Delay runs"},
        {"NAME": "wave", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0, "IDENTITY": 0.0, "LABEL": "Wavy delay"},
        {"NAME": "history", "TYPE": "long", "DEFAULT": 4, "VALUES": [4, 2], "LABELS": ["Quarter size (cheap)", "Half size (sharper; for GPUs)"], "LABEL": "Size of the stored frames"}
    ],
    "PASSES": [
        {"TARGET": "frames", "PERSISTENT": true, "WIDTH": "4*max(floor($WIDTH/$history),1)", "HEIGHT": "4*max(floor($HEIGHT/$history),1)", "DESCRIPTION": "the last 16 frames at 1/history size, 4 x 4 tiles; only the newest tile is drawn"},
        {"DESCRIPTION": "each pixel reads the frame its delay asks for"}
    ]
}*/

// Runs on the render thread (GPU). The history is a persistent atlas of 16 small frames (4 x 4
// tiles of a quarter or half of the output's size). Frame n draws only tile n mod 16: every
// other pixel of that pass is discarded, and since the shader discards, the renderer carries the
// atlas over with a framebuffer copy (far cheaper on llvmpipe than drawing it). The output blends
// the two stored frames either side of each pixel's fractional delay, so the delay varies
// smoothly; a delay under one frame blends with the full-size current picture, so depth 0 is the
// picture itself. The delay is capped by the frames seen so far: a fresh layer never shows the
// black of an empty history.
//
// On llvmpipe both sides of an if run (masked) even when every pixel agrees, and a read inside
// a loop costs about twice a plain one; measured, the cheapest shape here is a tile pass that
// returns early and an output pass with plain reads.

const int SLOTS = 16;
const float SLOTS_PER_ROW = 4.0;

// Normalised atlas coordinates of `uv` inside slot `slot`, kept half a texel off the slot's
// border so linear filtering never bleeds a neighbouring frame in.
vec2 slotCoord(int slot, vec2 uv, vec2 atlasSize) {
    vec2 slotSize = atlasSize / SLOTS_PER_ROW;
    vec2 pixel = clamp(uv * slotSize, vec2(0.5), slotSize - 0.5);
    vec2 origin = vec2(float(slot % 4), float(slot / 4)) * slotSize;
    return (origin + pixel) / atlasSize;
}

int slotFor(int framesAgo) {
    return ((FRAMEINDEX - framesAgo) % SLOTS + SLOTS) % SLOTS;
}

void main() {
    vec2 uv = isf_FragNormCoord;

    // Pass 0: draw this frame into its tile, and nothing else.
    if (PASSINDEX == 0) {
        vec2 slotSize = RENDERSIZE / SLOTS_PER_ROW;
        vec2 cell = floor(gl_FragCoord.xy / slotSize);
        if (int(cell.x) + 4 * int(cell.y) != slotFor(0)) {
            discard;
        }
        gl_FragColor = textureLod(inputImage, (gl_FragCoord.xy - cell * slotSize) / slotSize, 0.0);
        return;
    }

    // Pass 1: each pixel shows the moment its delay asks for.
    float along = 1.0 - uv.y;
    vec2 fromCentre = abs(uv - 0.5) * 2.0;
    if (direction == 1) along = uv.y;
    if (direction == 2) along = 1.0 - uv.x;
    if (direction == 3) along = uv.x;
    if (direction == 4) along = 1.0 - max(fromCentre.x, fromCentre.y);
    if (direction == 5) along = max(fromCentre.x, fromCentre.y);
    along = mix(along, 0.5 + 0.5 * sin(6.28318530718 * (along * 1.5 + 0.3 * TIME)), wave);
    float delay = clamp(depth * along, 0.0, min(float(SLOTS - 1), float(FRAMEINDEX)));
    float whole = floor(delay);
    float part = delay - whole;
    vec2 atlasSize = vec2(textureSize(frames, 0));
    vec4 current = textureLod(inputImage, uv, 0.0);
    vec4 newer = textureLod(frames, slotCoord(slotFor(int(whole)), uv, atlasSize), 0.0);
    vec4 older = textureLod(frames, slotCoord(slotFor(min(int(whole) + 1, SLOTS - 1)), uv, atlasSize), 0.0);
    // Delay 0 is this frame at full size rather than its small copy.
    vec4 near = whole < 0.5 ? current : newer;
    gl_FragColor = part > 0.0 ? mix(near, older, part) : near;
}

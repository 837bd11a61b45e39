// Engine uniforms: the contract between the engine and every shader.
//
// The ISF translator (live/render/isf.py) puts this file at the top of every vertex and
// fragment shader it builds, so shaders never declare these themselves. A third-party file
// that declares one of these names on its own (or uses it as an INPUT) keeps its own
// declaration; the line below is then left out. One declaration per line: the translator reads
// the names from this file, and live/render/program.py sets them each frame.
//
// Values come from the engine's frame snapshot (Clock, BeatClock, audio analysis). Levels are
// 0..1 after auto-gain, as on the signals bus (ARCHITECTURE.md "Names").
#ifndef ECHOEL_ENGINE_GLSL
#define ECHOEL_ENGINE_GLSL

// ---- ISF 2.0 built-ins ----
uniform float TIME;        // seconds since the layer started (the injected clock, not wall time)
uniform float TIMEDELTA;   // seconds since the previous frame; 0.0 on the first frame
uniform int FRAMEINDEX;    // 0 on the first frame, +1 per rendered frame
uniform vec2 RENDERSIZE;   // size in pixels of the current pass's target
uniform vec4 DATE;         // year, month (1-12), day (1-31), seconds since midnight
uniform int PASSINDEX;     // 0 in the first pass, +1 per pass of PASSES

// ---- tempo (BeatClock) ----
uniform float BPM;         // current tempo, beats per minute
uniform float BEAT;        // beats since the start, fractional (1.5 = half way through beat 2)
uniform float BEAT_PHASE;  // position inside the current beat, 0..1
uniform float BAR;         // bars since the start, fractional
uniform float BAR_PHASE;   // position inside the current bar, 0..1

// ---- audio analysis (smoothed levels, 0..1) ----
uniform float RMS;         // overall loudness
uniform float BASS;        // 20-250 Hz
uniform float MID;         // 250-4000 Hz
uniform float TREB;        // 4-16 kHz
uniform float ONSET;       // onset strength, 0..1; high on the frames of a detected onset
uniform float BANDS[16];   // log-spaced bands 20 Hz-16 kHz, lowest first

// ---- textures ----
uniform sampler2D AUDIO_FFT;   // 512x1, red channel: spectrum magnitude, dB scaled to 0..1, low to high
uniform sampler2D AUDIO_WAVE;  // 512x1, red channel: latest waveform, 0..1 with 0.5 = silence
uniform sampler2D PREV_FRAME;  // this layer's previous output (straight alpha); black at first

#endif

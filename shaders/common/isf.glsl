// ISF 2.0 helper functions, put by the ISF translator into every shader after the engine
// uniforms and the shader's INPUT uniforms.
//
// Images (image/audio/audioFFT inputs, pass targets, imported images) are plain sampler2D
// textures with the GL origin: (0, 0) is the bottom-left pixel's corner.
// The translator defines ISF_FRAGMENT_SHADER or ISF_VERTEX_SHADER for the stage being built.
#ifndef ECHOEL_ISF_GLSL
#define ECHOEL_ISF_GLSL

// Size of an image in pixels.
vec2 IMG_SIZE(sampler2D image) {
    return vec2(textureSize(image, 0));
}

// Colour at normalised coordinates (0..1 across the image).
vec4 IMG_NORM_PIXEL(sampler2D image, vec2 normCoord) {
    return texture(image, normCoord);
}

// Colour at pixel coordinates (pixel centres at .5, like gl_FragCoord).
vec4 IMG_PIXEL(sampler2D image, vec2 pixelCoord) {
    return texture(image, pixelCoord / vec2(textureSize(image, 0)));
}

#ifdef ISF_FRAGMENT_SHADER
// With a mip-level bias, as texture(image, coord, bias) (files converted from Shadertoy pass
// one; hosts that expand these helpers into texture() take it). Fragment stage only, like bias.
vec4 IMG_NORM_PIXEL(sampler2D image, vec2 normCoord, float bias) {
    return texture(image, normCoord, bias);
}

vec4 IMG_PIXEL(sampler2D image, vec2 pixelCoord, float bias) {
    return texture(image, pixelCoord / vec2(textureSize(image, 0)), bias);
}

// The image's pixel under this fragment, by pixel position: IMG_PIXEL(image, gl_FragCoord.xy).
// Same as IMG_THIS_NORM_PIXEL when the image has the render size.
vec4 IMG_THIS_PIXEL(sampler2D image) {
    return IMG_PIXEL(image, gl_FragCoord.xy);
}

// The image's colour at this fragment's normalised position (stretches other sizes to fit).
vec4 IMG_THIS_NORM_PIXEL(sampler2D image) {
    return texture(image, isf_FragNormCoord);
}
#endif

#ifdef ISF_VERTEX_SHADER
// Sets gl_Position and isf_FragNormCoord for the full-screen quad. A custom .vs calls this
// first in main(), as ISF specifies.
void isf_vertShaderInit(void) {
    gl_Position = vec4(isf_Position, 0.0, 1.0);
    isf_FragNormCoord = isf_Position * 0.5 + 0.5;
}
// ossia score (libisf): last statement of a custom .vs; a no-op on OpenGL
void isf_vertShaderFinish(void) {}
#endif

#endif

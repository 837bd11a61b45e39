/*{
  "DESCRIPTION": "Benchmark load: a near-trivial effect",
  "CREDIT": "Echoel Live contributors",
  "ISFVSN": "2",
  "INPUTS": [
    { "NAME": "inputImage", "TYPE": "image" },
    { "NAME": "amount", "TYPE": "float", "DEFAULT": 0.1, "MIN": 0.0, "MAX": 1.0 }
  ]
}*/
void main() {
    vec4 c = IMG_THIS_NORM_PIXEL(inputImage);
    gl_FragColor = vec4(mix(c.rgb, c.gbr, amount), c.a);
}

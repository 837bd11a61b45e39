/*{
  "DESCRIPTION": "Benchmark load: a near-trivial generator",
  "CREDIT": "Echoel Live contributors",
  "ISFVSN": "2",
  "INPUTS": [
    { "NAME": "level", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0 }
  ]
}*/
void main() {
    gl_FragColor = vec4(isf_FragNormCoord * level, 0.5 + 0.5 * sin(TIME), 0.8);
}

// SwiGLU gate, elementwise over n elements (a = x·W1ᵀ, b = x·W3ᵀ in the MLP):
//   forward:  out = silu(a) ⊙ b,   silu(a) = a · σ(a)
//   backward: da = dout ⊙ b ⊙ σ(a)·(1 + a·(1 − σ(a))),   db = dout ⊙ silu(a)
// Grids may be 2-D (linear workgroup = wid.x + wid.y · num_workgroups.x).

struct Params {
  n: u32,
}

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (SWIGLU_WORKGROUP).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> da: array<f32>;
@group(0) @binding(5) var<storage, read_write> db: array<f32>;

// σ(v) without overflow: WGSL may assume no infinities, so exp only sees arguments ≤ 0.
fn sigmoid(v: f32) -> f32 {
  let e = exp(-abs(v));
  let s = 1.0 / (1.0 + e);
  return select(e * s, s, v >= 0.0);
}

fn elementIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid.x;
}

@compute @workgroup_size(WG)
fn forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= p.n) {
    return;
  }
  let av = a[i];
  out[i] = av * sigmoid(av) * b[i];
}

@compute @workgroup_size(WG)
fn backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= p.n) {
    return;
  }
  let av = a[i];
  let g = dout[i];
  let s = sigmoid(av);
  da[i] = g * b[i] * s * (1.0 + av * (1.0 - s));
  db[i] = g * av * s;
}

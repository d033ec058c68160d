// Bias of a linear layer (Qwen2's q/k/v projections), over N rows of C channels:
//   forward:  y[n, c] += b[c]            (in place, after y = x · Wᵀ)
//   backward: db[c]   += Σ_n dy[n, c]    (one invocation per channel loops over the rows, in
//                                         order: neighbouring invocations read neighbouring
//                                         addresses, and no atomics are needed)
// Grids may be 2-D (linear workgroup = wid.x + wid.y · num_workgroups.x).

struct Params {
  N: u32,
  C: u32,
}

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (BIAS_WORKGROUP).

@group(0) @binding(0) var<uniform> p: Params;
// forward: b, y; backward: dy, db.
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

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
  if (i >= p.N * p.C) {
    return;
  }
  dst[i] += src[i % p.C];
}

@compute @workgroup_size(WG)
fn backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let c = elementIndex(wid, nwg, lid);
  if (c >= p.C) {
    return;
  }
  var s = 0.0;
  for (var n = 0u; n < p.N; n++) {
    s += src[n * p.C + c];
  }
  dst[c] += s;
}

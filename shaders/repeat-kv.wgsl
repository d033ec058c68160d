// Grouped-query attention: each of the Hkv key/value heads serves group = H / Hkv query heads.
// K and V are widened to H heads before the attention kernel, which then stays unchanged:
//   forward:  y[n, h·D + d]  = x[n, (h / group)·D + d]                 x [N, Hkv·D], y [N, H·D]
//   backward: dx[n, j·D + d] = Σ_{g < group} dy[n, (j·group + g)·D + d]  (a gather: no atomics)
// Grids may be 2-D (linear workgroup = wid.x + wid.y · num_workgroups.x).

struct Params {
  N: u32,
  kvHeads: u32,
  group: u32,
  D: u32,
}

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (REPEAT_KV_WORKGROUP).

@group(0) @binding(0) var<uniform> p: Params;
// forward: x → y; backward: dy → dx.
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
  let wide = p.kvHeads * p.group * p.D;
  if (i >= p.N * wide) {
    return;
  }
  let n = i / wide;
  let r = i % wide;
  let h = r / p.D;
  let d = r % p.D;
  dst[i] = src[n * p.kvHeads * p.D + (h / p.group) * p.D + d];
}

@compute @workgroup_size(WG)
fn backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  let narrow = p.kvHeads * p.D;
  if (i >= p.N * narrow) {
    return;
  }
  let n = i / narrow;
  let r = i % narrow;
  let j = r / p.D;
  let d = r % p.D;
  let first = n * narrow * p.group + j * p.group * p.D + d;
  var s = 0.0;
  for (var g = 0u; g < p.group; g++) {
    s += src[first + g * p.D];
  }
  dst[i] = s;
}

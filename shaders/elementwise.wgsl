// Elementwise glue between ops, one invocation per element.
//   add:        out = a + b
//   axpy:       y = y + alpha · x
// The grid may be two-dimensional when the element count needs more than 65535
// workgroups along x: the linear workgroup index is wid.x + wid.y · num_workgroups.x.
// Entry points bind different buffers at the same slots; layout 'auto' sees only the
// variables each one uses.

struct Params {
  n: u32,
  alpha: f32,
}

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (ELEMENTWISE_WORKGROUP).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> srcA: array<f32>;
@group(0) @binding(2) var<storage, read> srcB: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;

fn elementIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid.x;
}

@compute @workgroup_size(WG)
fn add(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  if (i < p.n) {
    out3[i] = srcA[i] + srcB[i];
  }
}

@compute @workgroup_size(WG)
fn axpy(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  if (i < p.n) {
    out2[i] = fma(p.alpha, srcA[i], out2[i]);
  }
}

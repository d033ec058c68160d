// ROSA injection forward (docs/rosa-spec.md §3 step 4), one invocation per element of y [B, T, C]:
//   y[b, t, c] = 1[d ≥ 0] · (v[b, d, c] > 0 ? e1[c] : e0[c]),  d = dest[lane][t], lane = b·R + c / bits.
// An unmatched route gives exactly 0. W_out (identity at init) is a separate matmul.

struct Params {
  B: u32,
  T: u32,
  C: u32,
  bits: u32,
  routes: u32,
  total: u32, // B · T · C
}

@group(0) @binding(0) var<uniform> p: Params;

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (ROSA_WORKGROUP).
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> e0: array<f32>;
@group(0) @binding(3) var<storage, read> e1: array<f32>;
@group(0) @binding(4) var<storage, read> dest: array<i32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// x > 0 decided on the bit pattern: WGSL lets implementations flush subnormals to zero in float
// comparisons (SwiftShader does), which would make tiny positive values pack as 0 on some adapters.
// Positive floats, +∞ included, are the patterns 1 ..= 0x7f800000 (NaN and -0 are not positive).
fn isPositive(x: f32) -> bool {
  return bitcast<u32>(x) - 1u < 0x7f800000u;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * groups.x + wid.x) * WG + lid;
  if (i >= p.total) {
    return;
  }
  let c = i % p.C;
  let bt = i / p.C;
  let t = bt % p.T;
  let b = bt / p.T;
  let lane = b * p.routes + c / p.bits;
  let d = dest[lane * p.T + t];
  var out = 0.0;
  if (d >= 0) {
    // select, not e0 + (e1 − e0)·bit: the same value without a rounding step.
    out = select(e0[c], e1[c], isPositive(v[(b * p.T + u32(d)) * p.C + c]));
  }
  y[i] = out;
}

// RMSNorm (Qwen3): y = x · rstd · w, rstd = 1/sqrt(mean(x²) + eps), per row of x [N, C].
//   forward      one workgroup per row (forward_serial: one invocation per row); saves rstd [N].
//   backward     dx and dw in one dispatch. The first dxGroups workgroups do dx, one
//                workgroup per row (backward_serial: one invocation per row):
//                dx = rstd · (g − x̂ · mean(g ⊙ x̂)), g = w ⊙ dy, x̂ = x · rstd.
//                The workgroups after them own WG columns each: dw[c] = Σ_rows dy ⊙ x̂, summed
//                by one invocation over all rows (no atomics, no second pass: one dispatch
//                instead of three; those few workgroups run beside the dx ones).
// Grids may be 2-D: the linear workgroup index is wid.x + wid.y · num_workgroups.x.

struct Params {
  N: u32,
  C: u32,
  eps: f32,
  dxGroups: u32, // backward: workgroups (from linear index 0) that compute dx
}

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (RMSNORM_WORKGROUP).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
// forward
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstdOut: array<f32>;
// backward, backward_serial
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;

// Add into dx (the residual stream's gradient) / dw instead of overwriting.
override ACCUMULATE: bool = false;
override ACCUMULATE_DW: bool = false;
// Rows summed into a local total before it joins the column's sum: two levels keep the f32
// error of a long sum near that of the blocked two-pass reduction this replaced.
const DW_BLOCK: u32 = 32u;

var<workgroup> red: array<f32, WG>;

// Sum of `value` over the workgroup; every invocation gets the total. Call from uniform control flow.
fn workgroupSum(lid: u32, value: f32) -> f32 {
  red[lid] = value;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

// The row pieces below take the share of columns c = first, first + step, ... so that the
// same code serves a whole workgroup per row (first = lid, step = WG) and one invocation
// per row (first = 0, step = 1).

fn sumSquares(base: u32, first: u32, step: u32) -> f32 {
  var ss = 0.0;
  for (var c = first; c < p.C; c += step) {
    let v = x[base + c];
    ss = fma(v, v, ss);
  }
  return ss;
}

fn writeNormalized(base: u32, first: u32, step: u32, r: f32) {
  for (var c = first; c < p.C; c += step) {
    y[base + c] = x[base + c] * r * w[c];
  }
}

fn rstdOf(sumSq: f32) -> f32 {
  return 1.0 / sqrt(sumSq / f32(p.C) + p.eps);
}

// Σ_c (w ⊙ dy)[c] · x̂[c] over the share.
fn gradDot(base: u32, first: u32, step: u32, r: f32) -> f32 {
  var dot = 0.0;
  for (var c = first; c < p.C; c += step) {
    dot = fma(w[c] * dy[base + c], x[base + c] * r, dot);
  }
  return dot;
}

fn writeDx(base: u32, first: u32, step: u32, r: f32, meanDot: f32) {
  for (var c = first; c < p.C; c += step) {
    var value = r * (w[c] * dy[base + c] - x[base + c] * r * meanDot);
    if (ACCUMULATE) {
      value += dx[base + c];
    }
    dx[base + c] = value;
  }
}

// One workgroup per row: coalesced reads, the better choice on GPUs for wide rows.
@compute @workgroup_size(WG)
fn forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.C;
  let r = rstdOf(workgroupSum(lid.x, sumSquares(base, lid.x, WG)));
  writeNormalized(base, lid.x, WG, r);
  if (lid.x == 0u) {
    rstdOut[row] = r;
  }
}

// One invocation per row, no barriers: for narrow rows, and for software adapters, where
// barriers make every workgroup an order of magnitude slower.
@compute @workgroup_size(WG)
fn forward_serial(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.C;
  let r = rstdOf(sumSquares(base, 0u, 1u));
  writeNormalized(base, 0u, 1u, r);
  rstdOut[row] = r;
}

// dw for the columns of one workgroup (its index among the dw workgroups).
fn dwColumns(block: u32, lid: u32) {
  let c = block * WG + lid;
  if (c >= p.C) {
    return;
  }
  var sum = 0.0;
  for (var r0 = 0u; r0 < p.N; r0 += DW_BLOCK) {
    var part = 0.0;
    for (var r = r0; r < min(p.N, r0 + DW_BLOCK); r++) {
      part = fma(dy[r * p.C + c], x[r * p.C + c] * rstd[r], part);
    }
    sum += part;
  }
  if (ACCUMULATE_DW) {
    sum += dw[c];
  }
  dw[c] = sum;
}

@compute @workgroup_size(WG)
fn backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let index = wid.x + wid.y * nwg.x;
  if (index >= p.dxGroups) {
    dwColumns(index - p.dxGroups, lid.x);
    return;
  }
  let row = index;
  if (row >= p.N) {
    return;
  }
  let base = row * p.C;
  let r = rstd[row];
  let meanDot = workgroupSum(lid.x, gradDot(base, lid.x, WG, r)) / f32(p.C);
  writeDx(base, lid.x, WG, r, meanDot);
}

@compute @workgroup_size(WG)
fn backward_serial(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let index = wid.x + wid.y * nwg.x;
  if (index >= p.dxGroups) {
    dwColumns(index - p.dxGroups, lid.x);
    return;
  }
  let row = index * WG + lid.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.C;
  let r = rstd[row];
  writeDx(base, 0u, 1u, r, gradDot(base, 0u, 1u, r) / f32(p.C));
}

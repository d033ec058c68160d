// RMSNorm (Qwen3): y = x · rstd · w, rstd = 1/sqrt(mean(x²) + eps), per row of x [N, C].
//   forward      one workgroup per row (forward_serial: one invocation per row); saves rstd [N].
//   backward_dx  one workgroup per row (backward_dx_serial: one invocation per row):
//                dx = rstd · (g − x̂ · mean(g ⊙ x̂)), g = w ⊙ dy, x̂ = x · rstd.
//   dw_partial   dw is a sum over rows, done without atomics in two passes: invocation
//                (block, c) sums dy ⊙ x̂ over the block's rows into partials [blocks, C] ...
//   dw_finish    ... and invocation c sums the blocks' partials into dw [C].
// Grids may be 2-D: the linear workgroup index is wid.x + wid.y · num_workgroups.x.

struct Params {
  N: u32,
  C: u32,
  eps: f32,
  rowsPerBlock: u32,
}

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (RMSNORM_WORKGROUP).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
// forward
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstdOut: array<f32>;
// backward_dx
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
// dw_partial: x, rstd, dy, partials
@group(0) @binding(2) var<storage, read> rstdB: array<f32>;
@group(0) @binding(3) var<storage, read> dyB: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
// dw_finish: partials, dw
@group(0) @binding(1) var<storage, read> partialsIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

// Add into dx (the residual stream's gradient) / dw instead of overwriting.
override ACCUMULATE: bool = false;

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

@compute @workgroup_size(WG)
fn backward_dx(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.C;
  let r = rstd[row];
  let meanDot = workgroupSum(lid.x, gradDot(base, lid.x, WG, r)) / f32(p.C);
  writeDx(base, lid.x, WG, r, meanDot);
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

@compute @workgroup_size(WG)
fn backward_dx_serial(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.C;
  let r = rstd[row];
  writeDx(base, 0u, 1u, r, gradDot(base, 0u, 1u, r) / f32(p.C));
}

@compute @workgroup_size(WG)
fn dw_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * WG + lid.x;
  if (c >= p.C) {
    return;
  }
  let block = wid.y;
  let r0 = block * p.rowsPerBlock;
  let r1 = min(p.N, r0 + p.rowsPerBlock);
  var sum = 0.0;
  for (var r = r0; r < r1; r++) {
    sum = fma(dyB[r * p.C + c], x[r * p.C + c] * rstdB[r], sum);
  }
  partials[block * p.C + c] = sum;
}

@compute @workgroup_size(WG)
fn dw_finish(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * WG + lid.x;
  if (c >= p.C) {
    return;
  }
  let blocks = (p.N + p.rowsPerBlock - 1u) / p.rowsPerBlock;
  var sum = 0.0;
  for (var b = 0u; b < blocks; b++) {
    sum += partialsIn[b * p.C + c];
  }
  if (ACCUMULATE) {
    sum += dw[c];
  }
  dw[c] = sum;
}

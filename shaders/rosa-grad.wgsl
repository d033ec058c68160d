// ROSA counterfactual backward (docs/rosa-spec.md §4), all from the scan outputs of the forward
// (layout: src/rosa-worker/layout.ts). No float atomics: every scatter-add of the reference
// becomes a gather over the CSR inverse lists the CPU scan builds.
//
// Entry points, in recording order (src/gpu/ops/rosa.ts):
//   theta           per element: θ = gradY · (e1 − e0) and the Q-contrast V field W_Q(v),
//                   both scratch [B, T, C] (W is read 2·bits times per element in grad_q)
//   grad_v          per (lane, τ), the route's bits channels: gradV[τ] = σ'_V(v_τ) · Σ_{t: dest_t = τ} θ_t,
//                   gathered over destInv
//   grad_q          per (lane, t): gradQ[t, j] = σ'_Q(q) · (D¹ − D⁰),
//                   Dᵝ = χᵝ · Σ_m θ_{t,m} · W_Q[s_ρᵝ, m], ρᵝ = rcf[u(t)][j][β]
//   grad_k          per (lane, K-run l): gradK[s_l, j] = σ'_K(k) · (U¹ − U⁰),
//                   Uᵝ = Σ_{t ∈ cfInv(l, j, β)} Σ_m θ_{t,m} W_K[s_l, m]; the wrapper clears gradK
//                   first, since it is 0 off K-run starts
//   grad_e_partial  per (row group, row lane, channel): Σ g · valid · (1 − bit), Σ g · valid · bit
//   grad_e_final    gradE0, gradE1 [C] = sums of those partials (two-stage reduction)
// W = pV = σ(T_V·v), or the hard bits 1[v > 0] (HARD_V_Q / HARD_V_K); σ'_X = p(1 − p), p = σ(T_X·x),
// without the factor T_X, as in the reference code.
//
// Each entry point declares its own bindings (the same binding numbers mean different buffers
// in different entry points; WGSL allows that across entry points).

struct Params {
  B: u32,
  T: u32,
  C: u32,
  bits: u32,
  routes: u32,
  total: u32, // B · T · C
  laneSteps: u32, // B · routes · T
  tempQ: f32,
  tempK: f32,
  tempV: f32,
  rowsPerGroup: u32, // grad_e_partial: rows (b, t) per workgroup along y
  partials: u32, // number of partial sums per channel: 4 per row group
}

@group(0) @binding(0) var<uniform> p: Params;

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (ROSA_WORKGROUP),
// MAX_BITS (ROSA_MAX_BITS), E_CHANNELS, E_ROW_LANES (grad_e_partial) and E_FINAL_WG (grad_e_final).

override HARD_V_Q: bool = false;
override HARD_V_K: bool = false;

// x > 0 decided on the bit pattern: WGSL lets implementations flush subnormals to zero in float
// comparisons (SwiftShader does), which would make tiny positive values pack as 0 on some adapters.
// Positive floats, +∞ included, are the patterns 1 ..= 0x7f800000 (NaN and -0 are not positive).
fn isPositive(x: f32) -> bool {
  return bitcast<u32>(x) - 1u < 0x7f800000u;
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

fn slope(x: f32, temp: f32) -> f32 {
  let s = sigmoid(temp * x);
  return s * (1.0 - s);
}

fn vField(x: f32, hard: bool) -> f32 {
  if (hard) {
    return select(0.0, 1.0, isPositive(x));
  }
  return sigmoid(p.tempV * x);
}

fn invocationIndex(wid: vec3<u32>, groups: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * groups.x + wid.x) * WG + lid;
}

// Per-route rows fit in register arrays of MAX_BITS (ROSA_MAX_BITS; symbols are bytes).

// ---- theta ----------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> th_gradY: array<f32>;
@group(0) @binding(2) var<storage, read> th_e0: array<f32>;
@group(0) @binding(3) var<storage, read> th_e1: array<f32>;
@group(0) @binding(4) var<storage, read> th_v: array<f32>;
@group(0) @binding(5) var<storage, read_write> th_theta: array<f32>;
@group(0) @binding(6) var<storage, read_write> th_fieldQ: array<f32>;

@compute @workgroup_size(WG)
fn theta(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = invocationIndex(wid, groups, lid);
  if (i >= p.total) {
    return;
  }
  let c = i % p.C;
  th_theta[i] = th_gradY[i] * (th_e1[c] - th_e0[c]);
  th_fieldQ[i] = vField(th_v[i], HARD_V_Q);
}

// ---- grad_v ---------------------------------------------------------------------------------
// Invocation i = (b · T + τ) · R + r: neighbours handle neighbouring routes of one row.
@group(0) @binding(1) var<storage, read> gv_v: array<f32>;
@group(0) @binding(2) var<storage, read> gv_theta: array<f32>;
@group(0) @binding(3) var<storage, read> gv_destInvOffsets: array<i32>;
@group(0) @binding(4) var<storage, read> gv_destInvPositions: array<i32>;
@group(0) @binding(5) var<storage, read_write> gv_gradV: array<f32>;

@compute @workgroup_size(WG)
fn grad_v(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = invocationIndex(wid, groups, lid);
  if (i >= p.laneSteps) {
    return;
  }
  let r = i % p.routes;
  let bt = i / p.routes;
  let tau = bt % p.T;
  let b = bt / p.T;
  let c0 = r * p.bits;
  let lane = b * p.routes + r;
  let off = lane * (p.T + 1u) + tau;
  let first = u32(gv_destInvOffsets[off]);
  let last = u32(gv_destInvOffsets[off + 1u]);
  var acc: array<f32, MAX_BITS>;
  for (var at = first; at < last; at++) {
    let t = u32(gv_destInvPositions[lane * p.T + at]);
    let rowT = (b * p.T + t) * p.C + c0;
    for (var m = 0u; m < p.bits; m++) {
      acc[m] += gv_theta[rowT + m];
    }
  }
  let row = bt * p.C + c0;
  for (var m = 0u; m < p.bits; m++) {
    gv_gradV[row + m] = slope(gv_v[row + m], p.tempV) * acc[m];
  }
}

// ---- grad_q ---------------------------------------------------------------------------------
// Invocation i = (b · T + t) · R + r; the counterfactuals are those of t's Q-run.
@group(0) @binding(1) var<storage, read> gq_q: array<f32>;
@group(0) @binding(2) var<storage, read> gq_fieldQ: array<f32>;
@group(0) @binding(3) var<storage, read> gq_theta: array<f32>;
@group(0) @binding(4) var<storage, read> gq_qRunId: array<i32>;
@group(0) @binding(5) var<storage, read> gq_rcf: array<i32>;
@group(0) @binding(6) var<storage, read> gq_kRunStart: array<i32>;
@group(0) @binding(7) var<storage, read_write> gq_gradQ: array<f32>;

@compute @workgroup_size(WG)
fn grad_q(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = invocationIndex(wid, groups, lid);
  if (i >= p.laneSteps) {
    return;
  }
  let r = i % p.routes;
  let bt = i / p.routes;
  let t = bt % p.T;
  let b = bt / p.T;
  let c0 = r * p.bits;
  let lane = b * p.routes + r;
  let rowT = bt * p.C + c0;
  var th: array<f32, MAX_BITS>;
  for (var m = 0u; m < p.bits; m++) {
    th[m] = gq_theta[rowT + m];
  }
  let u = gq_qRunId[lane * p.T + t];
  for (var j = 0u; j < p.bits; j++) {
    var d = array<f32, 2>(0.0, 0.0);
    if (u >= 0) {
      for (var beta = 0u; beta < 2u; beta++) {
        let rho = gq_rcf[((lane * p.T + u32(u)) * p.bits + j) * 2u + beta];
        if (rho < 0) {
          continue;
        }
        let rowS = (b * p.T + u32(gq_kRunStart[lane * p.T + u32(rho)])) * p.C + c0;
        var acc = 0.0;
        for (var m = 0u; m < p.bits; m++) {
          acc += th[m] * gq_fieldQ[rowS + m];
        }
        d[beta] = acc;
      }
    }
    gq_gradQ[rowT + j] = slope(gq_q[rowT + j], p.tempQ) * (d[1] - d[0]);
  }
}

// ---- grad_k ---------------------------------------------------------------------------------
// Invocation i = lane · T + l, one per K-run slot (slots past the lane's last run exit at once).
@group(0) @binding(1) var<storage, read> gk_k: array<f32>;
@group(0) @binding(2) var<storage, read> gk_v: array<f32>;
@group(0) @binding(3) var<storage, read> gk_theta: array<f32>;
@group(0) @binding(4) var<storage, read> gk_kRunStart: array<i32>;
@group(0) @binding(5) var<storage, read> gk_cfInvOffsets: array<i32>;
@group(0) @binding(6) var<storage, read> gk_cfInvPositions: array<i32>;
@group(0) @binding(7) var<storage, read_write> gk_gradK: array<f32>;

@compute @workgroup_size(WG)
fn grad_k(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = invocationIndex(wid, groups, lid);
  if (i >= p.laneSteps) {
    return;
  }
  let start = gk_kRunStart[i];
  if (start < 0) {
    return;
  }
  let l = i % p.T;
  let lane = i / p.T;
  let r = lane % p.routes;
  let b = lane / p.routes;
  let c0 = r * p.bits;
  let rowS = (b * p.T + u32(start)) * p.C + c0;
  // The V field of the successor run's first token is the same for every t in the lists.
  var w: array<f32, MAX_BITS>;
  for (var m = 0u; m < p.bits; m++) {
    w[m] = vField(gk_v[rowS + m], HARD_V_K);
  }
  let keys = p.T * p.bits * 2u;
  let offsets = lane * (keys + 1u);
  let positions = lane * keys;
  for (var j = 0u; j < p.bits; j++) {
    var U = array<f32, 2>(0.0, 0.0);
    for (var beta = 0u; beta < 2u; beta++) {
      let key = (l * p.bits + j) * 2u + beta;
      let first = u32(gk_cfInvOffsets[offsets + key]);
      let last = u32(gk_cfInvOffsets[offsets + key + 1u]);
      var acc = 0.0;
      for (var at = first; at < last; at++) {
        let rowT = (b * p.T + u32(gk_cfInvPositions[positions + at])) * p.C + c0;
        var dk = 0.0;
        for (var m = 0u; m < p.bits; m++) {
          dk += gk_theta[rowT + m] * w[m];
        }
        acc += dk;
      }
      U[beta] = acc;
    }
    gk_gradK[rowS + j] = slope(gk_k[rowS + j], p.tempK) * (U[1] - U[0]);
  }
}

// ---- grad_e_partial -------------------------------------------------------------------------
// Workgroup (64 channels) × (4 row lanes); workgroup (x, y) covers channels 64x.. and rows
// y·rowsPerGroup .. of the B·T rows, row lane ry taking every 4th of them. Each invocation writes
// its own partial, [y · 4 + ry][e0 | e1][C]: no shared memory and no barrier (SwiftShader runs
// workgroups with barriers many times slower), at the price of 4× more partials to add up.
@group(0) @binding(1) var<storage, read> ep_gradY: array<f32>;
@group(0) @binding(2) var<storage, read> ep_v: array<f32>;
@group(0) @binding(3) var<storage, read> ep_dest: array<i32>;
@group(0) @binding(4) var<storage, read_write> ep_partials: array<f32>;

@compute @workgroup_size(E_CHANNELS, E_ROW_LANES)
fn grad_e_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * E_CHANNELS + lid.x;
  if (c >= p.C) {
    return;
  }
  let rows = p.B * p.T;
  let first = wid.y * p.rowsPerGroup;
  let last = min(first + p.rowsPerGroup, rows);
  let r = c / p.bits;
  var s0 = 0.0;
  var s1 = 0.0;
  for (var row = first + lid.y; row < last; row += E_ROW_LANES) {
    let b = row / p.T;
    let t = row % p.T;
    let d = ep_dest[(b * p.routes + r) * p.T + t];
    if (d >= 0) {
      let g = ep_gradY[row * p.C + c];
      if (isPositive(ep_v[(b * p.T + u32(d)) * p.C + c])) {
        s1 += g;
      } else {
        s0 += g;
      }
    }
  }
  let slot = wid.y * E_ROW_LANES + lid.y;
  ep_partials[(slot * 2u) * p.C + c] = s0;
  ep_partials[(slot * 2u + 1u) * p.C + c] = s1;
}

// ---- grad_e_final ---------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> ef_partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> ef_gradE0: array<f32>;
@group(0) @binding(3) var<storage, read_write> ef_gradE1: array<f32>;

@compute @workgroup_size(E_FINAL_WG)
fn grad_e_final(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= 2u * p.C) {
    return;
  }
  let which = i / p.C;
  let c = i % p.C;
  var acc = 0.0;
  for (var g = 0u; g < p.partials; g++) {
    acc += ef_partials[(g * 2u + which) * p.C + c];
  }
  if (which == 0u) {
    ef_gradE0[c] = acc;
  } else {
    ef_gradE1[c] = acc;
  }
}

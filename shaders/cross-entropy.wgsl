// Softmax cross-entropy over the vocabulary, fused with its gradient.
// logits, dlogits [N, V] row-major; labels i32 [N]; a label < 0 marks an ignored row, a
// label ≥ V is counted as invalid (stats[5]) and also ignored.
// stats f32 [8]: 0 mean loss, 1 count (non-ignored rows), 2 correct rows, 3 accuracy,
//                4 loss sum, 5 invalid labels, 6..7 unused.
// A step records: count_labels (one workgroup) → rows_grad or rows_loss (one workgroup
// per row; the *_serial variants use one invocation per row) → finish (one workgroup).
// The count comes first so that the row kernel can write the gradient of the mean,
// (softmax − onehot) · scale / count, in the same pass that reads the logits.
// Grids may be 2-D: the linear workgroup index is wid.x + wid.y · num_workgroups.x.

struct Params {
  N: u32,
  V: u32,
  scale: f32,
}

// Invocations per workgroup, from TypeScript (crossEntropyWorkgroupSize, CE_REDUCE_WORKGROUP);
// no default, so a dispatch that forgets it fails instead of running with a stale copy.
override WG: u32;

@group(0) @binding(0) var<uniform> p: Params;
// rows_loss, rows_grad
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> correct: array<u32>;
// rows_grad only
@group(0) @binding(5) var<storage, read> statsIn: array<f32>;
@group(0) @binding(6) var<storage, read_write> dlogits: array<f32>;
// count_labels: labels, stats
@group(0) @binding(1) var<storage, read> labelsC: array<i32>;
@group(0) @binding(2) var<storage, read_write> statsC: array<f32>;
// finish: losses, correct, stats
@group(0) @binding(1) var<storage, read> lossesF: array<f32>;
@group(0) @binding(2) var<storage, read> correctF: array<u32>;
@group(0) @binding(3) var<storage, read_write> statsF: array<f32>;

// Stands in for −∞ (WGSL may assume there are no infinities).
const NEG: f32 = -3.0e38;
// exp arguments are clamped here so that sentinel differences cannot overflow.
const MIN_EXP: f32 = -88.0;
const NO_INDEX: u32 = 0xffffffffu;

var<workgroup> redM: array<f32, WG>;
var<workgroup> redS: array<f32, WG>;
var<workgroup> redI: array<u32, WG>;
var<workgroup> redU: array<u32, WG>;

struct RowStats {
  max: f32,
  sumExp: f32, // Σ exp(l − max)
  argmax: u32, // lowest index of the maximum
}

// Online softmax statistics over the share j = first, first + step, ... of one row.
fn rowPartial(base: u32, first: u32, step: u32) -> RowStats {
  var m = NEG;
  var s = 0.0;
  var idx = NO_INDEX;
  for (var j = first; j < p.V; j += step) {
    let l = logits[base + j];
    if (l > m) {
      s = s * exp(max(m - l, MIN_EXP)) + 1.0;
      m = l;
      idx = j;
    } else {
      s += exp(max(l - m, MIN_EXP));
    }
  }
  return RowStats(m, s, idx);
}

// Statistics of the whole row, reduced over the workgroup. Call from uniform control flow.
fn rowStatsWorkgroup(base: u32, lid: u32) -> RowStats {
  let part = rowPartial(base, lid, WG);
  redM[lid] = part.max;
  redS[lid] = part.sumExp;
  redI[lid] = part.argmax;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let m1 = redM[lid];
      let m2 = redM[lid + stride];
      let i1 = redI[lid];
      let i2 = redI[lid + stride];
      let mm = max(m1, m2);
      redS[lid] = redS[lid] * exp(max(m1 - mm, MIN_EXP)) + redS[lid + stride] * exp(max(m2 - mm, MIN_EXP));
      redM[lid] = mm;
      redI[lid] = select(i1, i2, m2 > m1 || (m2 == m1 && i2 < i1));
    }
    workgroupBarrier();
  }
  return RowStats(redM[0], redS[0], redI[0]);
}

fn labelOf(row: u32) -> i32 {
  let label = labels[row];
  if (label >= 0 && u32(label) < p.V) {
    return label;
  }
  return -1;
}

// Per-row loss and correctness.
fn writeRow(row: u32, base: u32, st: RowStats, label: i32) {
  if (label < 0) {
    losses[row] = 0.0;
    correct[row] = 0u;
    return;
  }
  losses[row] = st.max + log(st.sumExp) - logits[base + u32(label)];
  correct[row] = select(0u, 1u, st.argmax == u32(label));
}

// (softmax − onehot) · scale / count over the share of the row; zeros on ignored rows.
fn writeGrad(base: u32, first: u32, step: u32, st: RowStats, label: i32) {
  let k = p.scale / max(statsIn[1], 1.0);
  let invSum = 1.0 / st.sumExp;
  for (var j = first; j < p.V; j += step) {
    var g = 0.0;
    if (label >= 0) {
      g = exp(logits[base + j] - st.max) * invSum;
      if (j == u32(label)) {
        g -= 1.0;
      }
      g *= k;
    }
    dlogits[base + j] = g;
  }
}

// One workgroup per row: the GPU layout for vocabularies of hundreds or more.
@compute @workgroup_size(WG)
fn rows_loss(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.V;
  let st = rowStatsWorkgroup(base, lid.x);
  if (lid.x == 0u) {
    writeRow(row, base, st, labelOf(row));
  }
}

@compute @workgroup_size(WG)
fn rows_grad(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.V;
  let st = rowStatsWorkgroup(base, lid.x);
  let label = labelOf(row);
  if (lid.x == 0u) {
    writeRow(row, base, st, label);
  }
  writeGrad(base, lid.x, WG, st, label);
}

// One invocation per row, no barriers: tiny vocabularies and software adapters.
@compute @workgroup_size(WG)
fn rows_loss_serial(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.V;
  writeRow(row, base, rowPartial(base, 0u, 1u), labelOf(row));
}

@compute @workgroup_size(WG)
fn rows_grad_serial(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.V;
  let st = rowPartial(base, 0u, 1u);
  let label = labelOf(row);
  writeRow(row, base, st, label);
  writeGrad(base, 0u, 1u, st, label);
}

@compute @workgroup_size(WG)
fn count_labels(@builtin(local_invocation_id) lid: vec3<u32>) {
  var valid = 0u;
  var invalid = 0u;
  for (var n = lid.x; n < p.N; n += WG) {
    let l = labelsC[n];
    if (l >= 0) {
      if (u32(l) < p.V) {
        valid++;
      } else {
        invalid++;
      }
    }
  }
  redU[lid.x] = valid;
  redI[lid.x] = invalid;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) {
      redU[lid.x] += redU[lid.x + stride];
      redI[lid.x] += redI[lid.x + stride];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    for (var i = 0u; i < 8u; i++) {
      statsC[i] = 0.0;
    }
    statsC[1] = f32(redU[0]);
    statsC[5] = f32(redI[0]);
  }
}

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_id) lid: vec3<u32>) {
  var lossSum = 0.0;
  var hits = 0u;
  for (var n = lid.x; n < p.N; n += WG) {
    lossSum += lossesF[n];
    hits += correctF[n];
  }
  redS[lid.x] = lossSum;
  redU[lid.x] = hits;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid.x < stride) {
      redS[lid.x] += redS[lid.x + stride];
      redU[lid.x] += redU[lid.x + stride];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let count = statsF[1];
    let total = redS[0];
    let right = f32(redU[0]);
    let inv = select(0.0, 1.0 / count, count > 0.0);
    statsF[0] = total * inv;
    statsF[2] = right;
    statsF[3] = right * inv;
    statsF[4] = total;
  }
}

// What the GPU derives from the ROSA scan's upload (layout: src/rosa-worker/layout.ts), so that
// only the scan's own results cross the bus, in 16 bits where they fit:
//   widen         per element: the narrow upload (packNarrowScan: dest | qRunId | rcf | kRunStart,
//                 each value + 1 as u8 or u16 per field, little-endian, each field from a u32 word)
//                 → the i32 arrays
//   inverse_lists one dispatch, 2 · lanes invocations: invocation i < lanes fills lane i's
//                 destInvOffsets / destInvPositions from dest, invocation lanes + i fills lane
//                 i's cfInvOffsets / cfInvPositions from qRunId and rcf
// The inverse lists are the counting sort of buildInverseIndices (the CPU twin), step for step:
// one invocation walks one lane in order, so positions ascend within a key exactly as on the CPU
// and the backward's gathers add in the same order (no atomics, no reordering).

struct Params {
  lanes: u32,
  T: u32,
  bits: u32,
  total: u32, // widen: elements of the narrow upload, lanes · T · (3 + 2 · bits)
  startQRunId: u32, // widen: first u32 word of each field after dest (dest starts at word 0)
  startRcf: u32,
  startKRunStart: u32,
  wide: u32, // widen: bit f set when field f (dest, qRunId, rcf, kRunStart) is u16, else u8
}

@group(0) @binding(0) var<uniform> p: Params;

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (ROSA_WORKGROUP,
// widen) and LANE_WG (ROSA_LANE_WORKGROUP, the per-lane entry points).

// ---- widen ----------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> wd_packed: array<u32>;
@group(0) @binding(2) var<storage, read_write> wd_dest: array<i32>;
@group(0) @binding(3) var<storage, read_write> wd_qRunId: array<i32>;
@group(0) @binding(4) var<storage, read_write> wd_rcf: array<i32>;
@group(0) @binding(5) var<storage, read_write> wd_kRunStart: array<i32>;

@compute @workgroup_size(WG)
fn widen(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let e = (wid.y * groups.x + wid.x) * WG + lid;
  if (e >= p.total) {
    return;
  }
  let rows = p.lanes * p.T;
  let rcfLength = rows * p.bits * 2u;
  var field = 0u;
  var i = e;
  var start = 0u;
  if (e >= 2u * rows + rcfLength) {
    field = 3u;
    i = e - 2u * rows - rcfLength;
    start = p.startKRunStart;
  } else if (e >= 2u * rows) {
    field = 2u;
    i = e - 2u * rows;
    start = p.startRcf;
  } else if (e >= rows) {
    field = 1u;
    i = e - rows;
    start = p.startQRunId;
  }
  var raw: u32;
  if (((p.wide >> field) & 1u) == 1u) {
    raw = (wd_packed[start + (i >> 1u)] >> ((i & 1u) * 16u)) & 0xffffu;
  } else {
    raw = (wd_packed[start + (i >> 2u)] >> ((i & 3u) * 8u)) & 0xffu;
  }
  let value = i32(raw) - 1;
  switch field {
    case 0u: {
      wd_dest[i] = value;
    }
    case 1u: {
      wd_qRunId[i] = value;
    }
    case 2u: {
      wd_rcf[i] = value;
    }
    default: {
      wd_kRunStart[i] = value;
    }
  }
}

// ---- inverse_lists ----------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> di_dest: array<i32>;
@group(0) @binding(2) var<storage, read> ci_qRunId: array<i32>;
@group(0) @binding(3) var<storage, read> ci_rcf: array<i32>;
@group(0) @binding(4) var<storage, read_write> di_offsets: array<i32>;
@group(0) @binding(5) var<storage, read_write> di_positions: array<i32>;
@group(0) @binding(6) var<storage, read_write> ci_offsets: array<i32>;
@group(0) @binding(7) var<storage, read_write> ci_positions: array<i32>;

@compute @workgroup_size(LANE_WG)
fn inverse_lists(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < p.lanes) {
    destInverse(gid.x);
  } else if (gid.x < 2u * p.lanes) {
    cfInverse(gid.x - p.lanes);
  }
}

fn destInverse(lane: u32) {
  let T = p.T;
  let d0 = lane * T;
  let o0 = lane * (T + 1u);
  for (var i = 0u; i <= T; i++) {
    di_offsets[o0 + i] = 0;
  }
  var top = -1;
  for (var t = 0u; t < T; t++) {
    let tau = di_dest[d0 + t];
    if (tau >= 0) {
      di_offsets[o0 + u32(tau)] += 1;
      top = max(top, tau);
    }
  }
  // Inclusive prefix sums over the keys that can be non-empty; the rest end at the total.
  var total = 0;
  for (var i = 0; i <= top; i++) {
    total += di_offsets[o0 + u32(i)];
    di_offsets[o0 + u32(i)] = total;
  }
  for (var i = u32(top + 1); i <= T; i++) {
    di_offsets[o0 + i] = total;
  }
  // Walking t downward leaves each key's cursor at its start, positions ascending.
  for (var t = i32(T) - 1; t >= 0; t--) {
    let tau = di_dest[d0 + u32(t)];
    if (tau >= 0) {
      let at = di_offsets[o0 + u32(tau)] - 1;
      di_offsets[o0 + u32(tau)] = at;
      di_positions[d0 + u32(at)] = t;
    }
  }
  for (var i = u32(total); i < T; i++) {
    di_positions[d0 + i] = -1;
  }
}

// cfInverse: key (l · bits + j) · 2 + β lists the t whose counterfactual with bit j forced to β lands on
// K-run l. Positions of one Q-run share their keys, so counting and placing go run by run.
fn cfInverse(lane: u32) {
  let T = p.T;
  let width = p.bits * 2u;
  let keys = T * width;
  let d0 = lane * T;
  let c0 = lane * (keys + 1u);
  let r0 = lane * keys;
  for (var i = 0u; i <= keys; i++) {
    ci_offsets[c0 + i] = 0;
  }
  var topKey = -1;
  var t = 0u;
  while (t < T) {
    let u = ci_qRunId[d0 + t];
    var end = t + 1u;
    while (end < T && ci_qRunId[d0 + end] == u) {
      end++;
    }
    let row = r0 + u32(u) * width;
    for (var jb = 0u; jb < width; jb++) {
      let l = ci_rcf[row + jb];
      if (l >= 0) {
        let key = u32(l) * width + jb;
        ci_offsets[c0 + key] += i32(end - t);
        topKey = max(topKey, i32(key));
      }
    }
    t = end;
  }
  var total = 0;
  for (var i = 0; i <= topKey; i++) {
    total += ci_offsets[c0 + u32(i)];
    ci_offsets[c0 + u32(i)] = total;
  }
  for (var i = u32(topKey + 1); i <= keys; i++) {
    ci_offsets[c0 + i] = total;
  }
  // Whole runs, last run first: each key gets a block of consecutive positions.
  var end = T;
  while (end > 0u) {
    let u = ci_qRunId[d0 + end - 1u];
    var start = end - 1u;
    while (start > 0u && ci_qRunId[d0 + start - 1u] == u) {
      start--;
    }
    let n = end - start;
    let row = r0 + u32(u) * width;
    for (var jb = 0u; jb < width; jb++) {
      let l = ci_rcf[row + jb];
      if (l >= 0) {
        let key = c0 + u32(l) * width + jb;
        let at = ci_offsets[key] - i32(n);
        ci_offsets[key] = at;
        for (var i = 0u; i < n; i++) {
          ci_positions[r0 + u32(at) + i] = i32(start + i);
        }
      }
    }
    end = start;
  }
  for (var i = u32(total); i < keys; i++) {
    ci_positions[r0 + i] = -1;
  }
}

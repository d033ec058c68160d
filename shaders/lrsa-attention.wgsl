// Lag-Relative Sparse Attention (LRSA, docs/evaluation.md §1.4–§1.5): causal attention in
// which a query of chunk j ≥ 2 sees only the sinks, the LagKV-selected tokens of chunks
// 0 … j−2, all of chunk j−1 and chunk j up to itself; queries of the first window
// [0, S + 2L) see every earlier key. The selection (shaders/lrsa-select.wgsl) is constant.
// CPU twins: lrsaAttentionForwardReference / lrsaAttentionBackwardReference.
//
// Layouts: q, k, v, out, dout, dq, dk, dv [B, T, H·D] row-major (head h owns channels
// h·D … h·D+D−1); selected i32 [B, H, P, keep] ascending absolute positions; lse f32 [B, H, T];
// rowStats vec2<f32> [B, H, T] = (lse, Δ = Σ dout·out) for the backward.
//
// Tiles. Queries (forward, dq) and keys (dkv_near) are cut into blocks that share one key
// list: block 0 = the first window [0, min(T, S + 2L)), block j ≥ 2 = chunk j (the tail after
// the last full chunk is the last block). Each block is cut into tiles of GROUP rows, one
// invocation per row; workgroup x = tile index, y = head, z = batch. The key list of block
// j ≥ 2 is a gathered prefix (S sinks, then Sel_0 … Sel_{j−2}, all ascending) followed by the
// contiguous window [S + (j−1)L, tile end), masked causally; block 0 has only the window
// [0, tile end). Key (or query) rows are staged KEY_TILE at a time in workgroup memory,
// so no T×T matrix exists and work follows the visible pairs.
//
// Backward without float atomics: dq gathers over the query's key list; dk/dv gather over
// the queries that see each key. Key u is seen by the contiguous range [u, end(u)):
//   near part: [u, nearEnd(u)), nearEnd = end of the next chunk (S + 2L for sinks), clipped
//              to T (backward_dkv_near: every key, tiled like the queries, writes dk/dv);
//   far part:  [farStart, T) for sinks (farStart = S + 2L) and for selected keys of chunk i
//              (farStart = S + (i+2)L) (backward_dkv_far: tiles over the gathered list
//              sinks ∪ Sel_0 ∪ …, adds to dk/dv). Each key appears once in that list, so the
//              read-modify-write never races.
//
// Entry points and their storage bindings (binding numbers are per entry point, as WGSL
// allows; the ops wrapper passes buffers in this order):
//   forward            1 q, 2 k, 3 v, 4 selected, 5 out (w), 6 lse (w)
//   backward_prep      1 out, 2 dout, 3 lse, 4 rowStats (w)
//   backward_dq        1 q, 2 k, 3 v, 4 selected, 5 dout, 6 rowStats, 7 dq (w)
//   backward_dkv_near  1 q, 2 k, 3 v, 4 selected (unused), 5 dout, 6 rowStats, 7 dk (w), 8 dv (w)
//   backward_dkv_far   1 q, 2 k, 3 v, 4 selected, 5 dout, 6 rowStats, 7 dk (rw), 8 dv (rw)

struct Params {
  T: u32,
  H: u32,
  S: u32,
  L: u32,
  keep: u32,
  P: u32, // scored chunks (rows of `selected` per head)
  tiles0: u32, // tiles over the first window
  tilesPerChunk: u32, // tiles over one chunk j ≥ 2
  scale: f32, // 1/√D
  B: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> selected: array<i32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> rowStats: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> gradA: array<f32>; // dq or dk
@group(0) @binding(8) var<storage, read_write> gradB: array<f32>; // dv

@group(0) @binding(1) var<storage, read> prepOut: array<f32>;
@group(0) @binding(2) var<storage, read> prepDout: array<f32>;
@group(0) @binding(3) var<storage, read> prepLse: array<f32>;
@group(0) @binding(4) var<storage, read_write> prepStats: array<vec2<f32>>;

// Overrides without defaults: every dispatch sets them from TypeScript (a missing one fails
// pipeline creation rather than running with a stale copy).
override HEAD_DIM: u32;
// Rows per tile = invocations per workgroup; the wrapper uses min(L, 64).
override GROUP: u32;
// Rows staged per step; KEY_TILE ≤ MAX_KEY_TILE and KEY_TILE · HEAD_DIM ≤ STAGE.
override KEY_TILE: u32;

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader:
//   MAX_HEAD_DIM  size of the private row arrays (LRSA_MAX_HEAD_DIM)
//   MAX_KEY_TILE  staged rows at most (LRSA_MAX_KEY_TILE)
//   STAGE         floats per stage buffer (LRSA_STAGE_FLOATS)
//   PREP_WG       invocations per workgroup of backward_prep (LRSA_PREP_WORKGROUP)

const NEG_BIG: f32 = -1.0e30;

// Staged rows: keys/values (forward, dq) or scaled queries/dout (dkv); 8 KiB together.
var<workgroup> stageA: array<f32, STAGE>;
var<workgroup> stageB: array<f32, STAGE>;
var<workgroup> stagePos: array<u32, MAX_KEY_TILE>;
var<workgroup> stageStats: array<vec2<f32>, MAX_KEY_TILE>;

struct Tile {
  start: u32,
  end: u32,
  chunk: u32, // 0 for the first window, j ≥ 2 for chunk j
}

fn tileOf(index: u32) -> Tile {
  if (index < p.tiles0) {
    let start = index * GROUP;
    return Tile(start, min(start + GROUP, min(p.T, p.S + 2u * p.L)), 0u);
  }
  let y = index - p.tiles0;
  let j = 2u + y / p.tilesPerChunk;
  let chunkStart = p.S + j * p.L;
  let start = chunkStart + (y % p.tilesPerChunk) * GROUP;
  return Tile(start, min(start + GROUP, min(chunkStart + p.L, p.T)), j);
}

fn prefixLength(chunk: u32) -> u32 {
  if (chunk < 2u) {
    return 0u;
  }
  return p.S + (chunk - 1u) * p.keep;
}

fn windowStart(chunk: u32) -> u32 {
  if (chunk < 2u) {
    return 0u;
  }
  return p.S + (chunk - 1u) * p.L;
}

// Position of entry n of the gathered list of head bh: sinks, then Sel_0, Sel_1, …
fn gatheredKey(bh: u32, n: u32) -> u32 {
  if (n < p.S) {
    return n;
  }
  let m = n - p.S;
  return u32(selected[(bh * p.P + m / p.keep) * p.keep + m % p.keep]);
}

// First query of the far range of gathered entry n (see the header).
fn farStart(n: u32) -> u32 {
  if (n < p.S) {
    return p.S + 2u * p.L;
  }
  return p.S + ((n - p.S) / p.keep + 2u) * p.L;
}

// Last query (exclusive) of the near range of key u.
fn nearEnd(u: u32) -> u32 {
  if (u < p.S) {
    return min(p.T, p.S + 2u * p.L);
  }
  return min(p.T, p.S + ((u - p.S) / p.L + 2u) * p.L);
}

fn rowOf(b: u32, t: u32, h: u32) -> u32 {
  return (b * p.T + t) * p.H * HEAD_DIM + h * HEAD_DIM;
}

// Stages key/value rows n0 … n0+count−1 of the tile's key list (prefix, then window).
fn stageKeys(b: u32, h: u32, n0: u32, count: u32, nPrefix: u32, window: u32, lid: u32) {
  workgroupBarrier(); // the previous step has finished reading the stage
  let bh = b * p.H + h;
  for (var c = lid; c < count; c += GROUP) {
    let n = n0 + c;
    if (n < nPrefix) {
      stagePos[c] = gatheredKey(bh, n);
    } else {
      stagePos[c] = window + n - nPrefix;
    }
  }
  workgroupBarrier();
  for (var idx = lid; idx < count * HEAD_DIM; idx += GROUP) {
    let c = idx / HEAD_DIM;
    let at = rowOf(b, stagePos[c], h) + idx % HEAD_DIM;
    stageA[idx] = k[at];
    stageB[idx] = v[at];
  }
  workgroupBarrier();
}

// Stages query rows t0 … t0+count−1: q·scale, dout and (lse, Δ).
fn stageQueries(b: u32, h: u32, t0: u32, count: u32, lid: u32) {
  workgroupBarrier();
  for (var idx = lid; idx < count * HEAD_DIM; idx += GROUP) {
    let at = rowOf(b, t0 + idx / HEAD_DIM, h) + idx % HEAD_DIM;
    stageA[idx] = q[at] * p.scale;
    stageB[idx] = dout[at];
  }
  for (var c = lid; c < count; c += GROUP) {
    stageStats[c] = rowStats[(b * p.H + h) * p.T + t0 + c];
  }
  workgroupBarrier();
}

@compute @workgroup_size(GROUP)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = tileOf(wid.x);
  if (tile.start >= tile.end) {
    return;
  }
  let h = wid.y;
  let b = wid.z;
  let t = tile.start + lid;
  let live = t < tile.end;
  let nPrefix = prefixLength(tile.chunk);
  let window = windowStart(tile.chunk);
  let nKeys = nPrefix + tile.end - window;
  let row = rowOf(b, t, h);

  var qs: array<f32, MAX_HEAD_DIM>;
  var acc: array<f32, MAX_HEAD_DIM>;
  for (var d = 0u; d < HEAD_DIM; d++) {
    acc[d] = 0.0;
    if (live) {
      qs[d] = q[row + d] * p.scale;
    }
  }
  var m = NEG_BIG;
  var l = 0.0;
  for (var n0 = 0u; n0 < nKeys; n0 += KEY_TILE) {
    let count = min(KEY_TILE, nKeys - n0);
    stageKeys(b, h, n0, count, nPrefix, window, lid);
    if (live) {
      var logits: array<f32, MAX_KEY_TILE>;
      var tileMax = NEG_BIG;
      for (var c = 0u; c < count; c++) {
        if (stagePos[c] <= t) {
          var s = 0.0;
          for (var d = 0u; d < HEAD_DIM; d++) {
            s += qs[d] * stageA[c * HEAD_DIM + d];
          }
          logits[c] = s;
          tileMax = max(tileMax, s);
        }
      }
      if (tileMax > NEG_BIG) {
        let mNew = max(m, tileMax);
        let correction = exp(m - mNew);
        l *= correction;
        for (var d = 0u; d < HEAD_DIM; d++) {
          acc[d] *= correction;
        }
        for (var c = 0u; c < count; c++) {
          if (stagePos[c] <= t) {
            let e = exp(logits[c] - mNew);
            l += e;
            for (var d = 0u; d < HEAD_DIM; d++) {
              acc[d] += e * stageB[c * HEAD_DIM + d];
            }
          }
        }
        m = mNew;
      }
    }
  }
  if (live) {
    for (var d = 0u; d < HEAD_DIM; d++) {
      out[row + d] = acc[d] / l;
    }
    lse[(b * p.H + h) * p.T + t] = m + log(l);
  }
}

// rowStats = (lse, Δ), Δ_t = Σ_d dout·out for each (b, h, t): one invocation per row.
@compute @workgroup_size(PREP_WG)
fn backward_prep(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = gid.x + gid.y * groups.x * PREP_WG;
  if (index >= p.B * p.H * p.T) {
    return;
  }
  let t = index % p.T;
  let bh = index / p.T;
  let row = rowOf(bh / p.H, t, bh % p.H);
  var delta = 0.0;
  for (var d = 0u; d < HEAD_DIM; d++) {
    delta += prepDout[row + d] * prepOut[row + d];
  }
  prepStats[index] = vec2<f32>(prepLse[index], delta);
}

@compute @workgroup_size(GROUP)
fn backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = tileOf(wid.x);
  if (tile.start >= tile.end) {
    return;
  }
  let h = wid.y;
  let b = wid.z;
  let t = tile.start + lid;
  let live = t < tile.end;
  let nPrefix = prefixLength(tile.chunk);
  let window = windowStart(tile.chunk);
  let nKeys = nPrefix + tile.end - window;
  let row = rowOf(b, t, h);

  var qs: array<f32, MAX_HEAD_DIM>;
  var dy: array<f32, MAX_HEAD_DIM>;
  var grad: array<f32, MAX_HEAD_DIM>;
  var stats = vec2<f32>(0.0, 0.0);
  for (var d = 0u; d < HEAD_DIM; d++) {
    grad[d] = 0.0;
    if (live) {
      qs[d] = q[row + d] * p.scale;
      dy[d] = dout[row + d];
    }
  }
  if (live) {
    stats = rowStats[(b * p.H + h) * p.T + t];
  }
  for (var n0 = 0u; n0 < nKeys; n0 += KEY_TILE) {
    let count = min(KEY_TILE, nKeys - n0);
    stageKeys(b, h, n0, count, nPrefix, window, lid);
    if (live) {
      for (var c = 0u; c < count; c++) {
        if (stagePos[c] <= t) {
          var s = 0.0;
          var dp = 0.0;
          for (var d = 0u; d < HEAD_DIM; d++) {
            s += qs[d] * stageA[c * HEAD_DIM + d];
            dp += dy[d] * stageB[c * HEAD_DIM + d];
          }
          let ds = exp(s - stats.x) * (dp - stats.y);
          for (var d = 0u; d < HEAD_DIM; d++) {
            grad[d] += ds * stageA[c * HEAD_DIM + d];
          }
        }
      }
    }
  }
  if (live) {
    for (var d = 0u; d < HEAD_DIM; d++) {
      gradA[row + d] = grad[d] * p.scale;
    }
  }
}

// dk/dv contribution of the queries [u, end) to key u, accumulated into dk, dv. The query rows
// [qStart, qEnd) are staged for the whole workgroup; each invocation keeps t in [tMin, tEnd).
fn gatherKeyGradients(
  b: u32,
  h: u32,
  qStart: u32,
  qEnd: u32,
  tMin: u32,
  tEnd: u32,
  live: bool,
  row: u32,
  lid: u32,
  dk: ptr<function, array<f32, MAX_HEAD_DIM>>,
  dv: ptr<function, array<f32, MAX_HEAD_DIM>>,
) {
  var kr: array<f32, MAX_HEAD_DIM>;
  var vr: array<f32, MAX_HEAD_DIM>;
  for (var d = 0u; d < HEAD_DIM; d++) {
    if (live) {
      kr[d] = k[row + d];
      vr[d] = v[row + d];
    }
  }
  for (var t0 = qStart; t0 < qEnd; t0 += KEY_TILE) {
    let count = min(KEY_TILE, qEnd - t0);
    stageQueries(b, h, t0, count, lid);
    if (live) {
      for (var c = 0u; c < count; c++) {
        let t = t0 + c;
        if (t >= tMin && t < tEnd) {
          var s = 0.0;
          var dp = 0.0;
          for (var d = 0u; d < HEAD_DIM; d++) {
            s += stageA[c * HEAD_DIM + d] * kr[d];
            dp += stageB[c * HEAD_DIM + d] * vr[d];
          }
          let stats = stageStats[c];
          let prob = exp(s - stats.x);
          let ds = prob * (dp - stats.y);
          for (var d = 0u; d < HEAD_DIM; d++) {
            (*dv)[d] += prob * stageB[c * HEAD_DIM + d];
            // stageA holds q·scale, so this is ds·q·scale = dlogit/dk.
            (*dk)[d] += ds * stageA[c * HEAD_DIM + d];
          }
        }
      }
    }
  }
}

@compute @workgroup_size(GROUP)
fn backward_dkv_near(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = &selected;
  let tile = tileOf(wid.x);
  if (tile.start >= tile.end) {
    return;
  }
  let h = wid.y;
  let b = wid.z;
  let u = tile.start + lid;
  let live = u < tile.end;
  let row = rowOf(b, u, h);
  var dk: array<f32, MAX_HEAD_DIM>;
  var dv: array<f32, MAX_HEAD_DIM>;
  for (var d = 0u; d < HEAD_DIM; d++) {
    dk[d] = 0.0;
    dv[d] = 0.0;
  }
  // nearEnd is non-decreasing in u, so the tile's last key has the widest range.
  gatherKeyGradients(b, h, tile.start, nearEnd(tile.end - 1u), u, nearEnd(u), live, row, lid, &dk, &dv);
  if (live) {
    for (var d = 0u; d < HEAD_DIM; d++) {
      gradA[row + d] = dk[d];
      gradB[row + d] = dv[d];
    }
  }
}

@compute @workgroup_size(GROUP)
fn backward_dkv_far(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.y;
  let b = wid.z;
  let nFar = p.S + p.P * p.keep;
  let n0 = wid.x * GROUP;
  // farStart is non-decreasing along the gathered list, so the first entry starts earliest.
  if (n0 >= nFar || farStart(n0) >= p.T) {
    return;
  }
  let n = n0 + lid;
  let live = n < nFar;
  var u = 0u;
  var start = p.T;
  if (live) {
    u = gatheredKey(b * p.H + h, n);
    start = farStart(n);
  }
  let row = rowOf(b, u, h);
  var dk: array<f32, MAX_HEAD_DIM>;
  var dv: array<f32, MAX_HEAD_DIM>;
  for (var d = 0u; d < HEAD_DIM; d++) {
    dk[d] = 0.0;
    dv[d] = 0.0;
  }
  gatherKeyGradients(b, h, farStart(n0), p.T, start, p.T, live, row, lid, &dk, &dv);
  if (live) {
    for (var d = 0u; d < HEAD_DIM; d++) {
      gradA[row + d] += dk[d];
      gradB[row + d] += dv[d];
    }
  }
}

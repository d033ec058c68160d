// Causal multi-head attention with a sliding window, flash style: K/V (or Q/dO) rows stream
// through workgroup memory tile by tile with an online softmax, so no T×T matrix ever exists,
// and tiles that lie wholly outside the window are never visited (work ∝ T · min(W, T)).
//
// Layouts: q, k, v, out, dout, dq, dk, dv [B, T, C], C = H·HEAD_DIM, head h owns channels
// h·HEAD_DIM ..; lse, delta [B, H, T]. Query t sees keys u with 0 ≤ t − u < window.
// Dispatch: workgroups (ceil(T / ROWS), H, B); one invocation owns one query row (forward,
// dq) or one key row (dk/dv) and keeps that row's vectors in private memory. Without
// subgroups this needs no cross-invocation reductions: every workgroup-memory read in the
// inner loops is the same address for all invocations (a broadcast).
//
// Entry points (storage bindings in order):
//   attention_forward         q, k, v, out (w), lse (w)
//   attention_backward_query  q, k, v, dout, lse, delta (w), dq (w), out   pass over key tiles;
//                             also writes delta_t = Σ dout·out (its own row, no extra pass)
//   attention_backward_key    q, k, v, dout, lse, delta, dk (w), dv (w)  pass over query tiles
// No float atomics: each gradient row is written by exactly one invocation.

struct Params {
  T: u32,
  H: u32,
  window: u32, // min(window, T), ≥ 1
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Shared by the forward and both gradient passes.
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
// attention_forward
@group(0) @binding(4) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(5) var<storage, read_write> LSE_OUT: array<f32>;
// attention_backward_query / attention_backward_key
@group(0) @binding(4) var<storage, read> DOUT: array<f32>;
@group(0) @binding(5) var<storage, read> LSE: array<f32>;
// attention_backward_query
@group(0) @binding(6) var<storage, read_write> DELTA_OUT: array<f32>;
@group(0) @binding(7) var<storage, read_write> DQ: array<f32>;
@group(0) @binding(8) var<storage, read> O_IN: array<f32>;
// attention_backward_key
@group(0) @binding(6) var<storage, read> DELTA: array<f32>;
@group(0) @binding(7) var<storage, read_write> DK: array<f32>;
@group(0) @binding(8) var<storage, read_write> DV: array<f32>;

// Overrides without defaults: every dispatch sets them from TypeScript (a missing one fails
// pipeline creation rather than running with a stale copy).
override HEAD_DIM: u32;
// Rows per workgroup-memory tile; the wrapper picks it so that the tiles fit 16 KiB.
override TILE: u32;

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader:
//   ROWS          ATTENTION_ROWS: invocations per workgroup = query (or key) rows per workgroup
//   MAX_HEAD_DIM  ATTENTION_MAX_HEAD_DIM: size of the private row arrays (HEAD_DIM ≤ it)
//   MAX_TILE      ATTENTION_MAX_TILE: size of the private score array (TILE ≤ it)

// Running max before any key was seen: exp(NEG_BIG − s) = 0 for every real score s.
const NEG_BIG: f32 = -1.0e30;

var<workgroup> tileA: array<f32, TILE * HEAD_DIM>; // K rows (forward, dq) or Q rows (dk/dv)
var<workgroup> tileB: array<f32, TILE * HEAD_DIM>; // V rows (forward, dq) or dO rows (dk/dv)
var<workgroup> tileL: array<f32, TILE>; // lse of the query tile (dk/dv)
var<workgroup> tileDelta: array<f32, TILE>; // delta of the query tile (dk/dv)

fn rowOffset(b: u32, t: u32, h: u32) -> u32 {
  return (b * p.T + t) * (p.H * HEAD_DIM) + h * HEAD_DIM;
}

fn statOffset(b: u32, h: u32, t: u32) -> u32 {
  return (b * p.H + h) * p.T + t;
}

// The first key query t sees.
fn firstKey(t: u32) -> u32 {
  return select(0u, t + 1u - p.window, t + 1u > p.window);
}

@compute @workgroup_size(ROWS)
fn attention_forward(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let h = wid.y;
  let b = wid.z;
  let t0 = wid.x * ROWS;
  let t = t0 + li;
  let inRange = t < p.T;
  let row = rowOffset(b, min(t, p.T - 1u), h);

  var q: array<f32, MAX_HEAD_DIM>;
  var o: array<f32, MAX_HEAD_DIM>;
  var scores: array<f32, MAX_TILE>;
  for (var d = 0u; d < HEAD_DIM; d++) {
    q[d] = Q[row + d] * p.scale;
    o[d] = 0.0;
  }
  var m = NEG_BIG;
  var l = 0.0;
  let lo = firstKey(t);

  // Key tiles that hold a key visible to some query of this workgroup (uniform bounds).
  let lastTile = (min(t0 + ROWS, p.T) - 1u) / TILE;
  for (var kt = firstKey(t0) / TILE; kt <= lastTile; kt++) {
    let u0 = kt * TILE;
    let n = min(TILE, p.T - u0);
    for (var i = li; i < n * HEAD_DIM; i += ROWS) {
      let g = rowOffset(b, u0 + i / HEAD_DIM, h) + i % HEAD_DIM;
      tileA[i] = K[g];
      tileB[i] = V[g];
    }
    workgroupBarrier();
    // Keys of this tile visible to t: [begin, end). Inside it nothing needs masking.
    let begin = max(u0, lo);
    let end = min(u0 + n, t + 1u);
    if (inRange && begin < end) {
      var mt = m;
      for (var u = begin; u < end; u++) {
        let at = (u - u0) * HEAD_DIM;
        var s = 0.0;
        for (var d = 0u; d < HEAD_DIM; d++) {
          s = fma(q[d], tileA[at + d], s);
        }
        scores[u - u0] = s;
        mt = max(mt, s);
      }
      // Online softmax: rescale what was accumulated under the old max once per tile.
      let alpha = exp(m - mt);
      l *= alpha;
      for (var d = 0u; d < HEAD_DIM; d++) {
        o[d] *= alpha;
      }
      for (var u = begin; u < end; u++) {
        let pr = exp(scores[u - u0] - mt);
        l += pr;
        let at = (u - u0) * HEAD_DIM;
        for (var d = 0u; d < HEAD_DIM; d++) {
          o[d] = fma(pr, tileB[at + d], o[d]);
        }
      }
      m = mt;
    }
    workgroupBarrier();
  }

  if (inRange) {
    for (var d = 0u; d < HEAD_DIM; d++) {
      OUT[row + d] = o[d] / l;
    }
    LSE_OUT[statOffset(b, h, t)] = m + log(l);
  }
}

// dq_t = scale · Σ_u P_tu (dout_t·v_u − Δ_t) k_u over the keys t sees.
@compute @workgroup_size(ROWS)
fn attention_backward_query(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let h = wid.y;
  let b = wid.z;
  let t0 = wid.x * ROWS;
  let t = t0 + li;
  let inRange = t < p.T;
  let tc = min(t, p.T - 1u);
  let row = rowOffset(b, tc, h);

  var q: array<f32, MAX_HEAD_DIM>;
  var dout: array<f32, MAX_HEAD_DIM>;
  var dq: array<f32, MAX_HEAD_DIM>;
  // Δ_t = Σ dout_t · out_t, here rather than in a pass of its own; the key pass reads it.
  var delta = 0.0;
  for (var d = 0u; d < HEAD_DIM; d++) {
    q[d] = Q[row + d] * p.scale;
    dout[d] = DOUT[row + d];
    dq[d] = 0.0;
    delta = fma(dout[d], O_IN[row + d], delta);
  }
  let L = LSE[statOffset(b, h, tc)];
  if (inRange) {
    DELTA_OUT[statOffset(b, h, t)] = delta;
  }
  let lo = firstKey(t);

  let lastTile = (min(t0 + ROWS, p.T) - 1u) / TILE;
  for (var kt = firstKey(t0) / TILE; kt <= lastTile; kt++) {
    let u0 = kt * TILE;
    let n = min(TILE, p.T - u0);
    for (var i = li; i < n * HEAD_DIM; i += ROWS) {
      let g = rowOffset(b, u0 + i / HEAD_DIM, h) + i % HEAD_DIM;
      tileA[i] = K[g];
      tileB[i] = V[g];
    }
    workgroupBarrier();
    let begin = max(u0, lo);
    let end = min(u0 + n, t + 1u);
    if (inRange) {
      for (var u = begin; u < end; u++) {
        let at = (u - u0) * HEAD_DIM;
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HEAD_DIM; d++) {
          s = fma(q[d], tileA[at + d], s);
          dp = fma(dout[d], tileB[at + d], dp);
        }
        let ds = exp(s - L) * (dp - delta);
        for (var d = 0u; d < HEAD_DIM; d++) {
          dq[d] = fma(ds, tileA[at + d], dq[d]);
        }
      }
    }
    workgroupBarrier();
  }

  if (inRange) {
    for (var d = 0u; d < HEAD_DIM; d++) {
      DQ[row + d] = dq[d] * p.scale;
    }
  }
}

// For key u, over the queries that see it (u ≤ t < u + window):
//   dv_u = Σ_t P_tu dout_t,   dk_u = scale · Σ_t P_tu (dout_t·v_u − Δ_t) q_t.
@compute @workgroup_size(ROWS)
fn attention_backward_key(
  @builtin(local_invocation_index) li: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let h = wid.y;
  let b = wid.z;
  let u0 = wid.x * ROWS;
  let u = u0 + li;
  let inRange = u < p.T;
  let row = rowOffset(b, min(u, p.T - 1u), h);

  var k: array<f32, MAX_HEAD_DIM>;
  var v: array<f32, MAX_HEAD_DIM>;
  var dk: array<f32, MAX_HEAD_DIM>;
  var dv: array<f32, MAX_HEAD_DIM>;
  for (var d = 0u; d < HEAD_DIM; d++) {
    k[d] = K[row + d] * p.scale;
    v[d] = V[row + d];
    dk[d] = 0.0;
    dv[d] = 0.0;
  }
  let hi = u + p.window; // queries before hi see u

  // Query tiles holding a query that sees some key of this workgroup (uniform bounds).
  let uLast = min(u0 + ROWS, p.T) - 1u;
  let lastTile = min(p.T - 1u, uLast + p.window - 1u) / TILE;
  for (var qt = u0 / TILE; qt <= lastTile; qt++) {
    let t0 = qt * TILE;
    let n = min(TILE, p.T - t0);
    for (var i = li; i < n * HEAD_DIM; i += ROWS) {
      let g = rowOffset(b, t0 + i / HEAD_DIM, h) + i % HEAD_DIM;
      tileA[i] = Q[g];
      tileB[i] = DOUT[g];
    }
    for (var i = li; i < n; i += ROWS) {
      tileL[i] = LSE[statOffset(b, h, t0 + i)];
      tileDelta[i] = DELTA[statOffset(b, h, t0 + i)];
    }
    workgroupBarrier();
    let begin = max(t0, u);
    let end = min(t0 + n, hi);
    if (inRange) {
      for (var t = begin; t < end; t++) {
        let at = (t - t0) * HEAD_DIM;
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HEAD_DIM; d++) {
          s = fma(k[d], tileA[at + d], s);
          dp = fma(v[d], tileB[at + d], dp);
        }
        let pr = exp(s - tileL[t - t0]);
        let ds = pr * (dp - tileDelta[t - t0]);
        for (var d = 0u; d < HEAD_DIM; d++) {
          dv[d] = fma(pr, tileB[at + d], dv[d]);
          dk[d] = fma(ds, tileA[at + d], dk[d]);
        }
      }
    }
    workgroupBarrier();
  }

  if (inRange) {
    for (var d = 0u; d < HEAD_DIM; d++) {
      DK[row + d] = dk[d] * p.scale;
      DV[row + d] = dv[d];
    }
  }
}

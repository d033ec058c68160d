// LagKV chunk scoring and top-k selection (docs/evaluation.md §1.2), no gradient.
// One workgroup per (scored chunk i, head h, batch b). Chunk i = [S + iL, S + (i+1)L) is
// normalised per channel with the min/max of its successor chunk i+1, each token's std over
// the D channels goes through a softmax over the L tokens (separately for K and V), and
// score = s^K + r·s^V. Token l is kept iff fewer than `keep` tokens beat it (higher score,
// or equal score at a lower position): a rank test, so no sort is needed, and the kept
// positions come out ascending. CPU twin: lagkvSelectReference (src/gpu/reference/lrsa.ts),
// which rounds every step to f32 in the same order.
//
// Layouts: k, v [B, T, H·D] row-major; selected i32 [B, H, P, keep] absolute positions;
// scores f32 [B, H, P, L], P = number of scored chunks.

struct Params {
  T: u32,
  H: u32,
  S: u32,
  L: u32,
  keep: u32,
  P: u32, // scored chunks
  scoreVRatio: f32,
  epsilon: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> selected: array<i32>;
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;

// Set by every dispatch; no default to go stale.
override HEAD_DIM: u32;

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader:
//   GROUP         invocations per workgroup (LAGKV_WORKGROUP)
//   MAX_CHUNK     chunk length L at most (LAGKV_MAX_CHUNK)
//   MAX_HEAD_DIM  head width at most (LRSA_MAX_HEAD_DIM)

// Reference-chunk range per channel: low = min, span = (max − min) + epsilon.
var<workgroup> lowK: array<f32, MAX_HEAD_DIM>;
var<workgroup> spanK: array<f32, MAX_HEAD_DIM>;
var<workgroup> lowV: array<f32, MAX_HEAD_DIM>;
var<workgroup> spanV: array<f32, MAX_HEAD_DIM>;
var<workgroup> sigmaK: array<f32, MAX_CHUNK>;
var<workgroup> sigmaV: array<f32, MAX_CHUNK>;
var<workgroup> score: array<f32, MAX_CHUNK>;
var<workgroup> kept: array<u32, MAX_CHUNK>;
var<workgroup> softmaxStats: array<f32, 4>; // maxK, sumK, maxV, sumV

fn normalised(useValues: bool, at: u32, d: u32) -> f32 {
  if (useValues) {
    return (values[at] - lowV[d]) / spanV[d];
  }
  return (keys[at] - lowK[d]) / spanK[d];
}

// Unbiased (D − 1) std over the channels of one normalised token; two passes, sequential sums
// in the twin's order.
fn channelStd(useValues: bool, row: u32) -> f32 {
  var sum = 0.0;
  for (var d = 0u; d < HEAD_DIM; d++) {
    sum += normalised(useValues, row + d, d);
  }
  let mean = sum / f32(HEAD_DIM);
  var squares = 0.0;
  for (var d = 0u; d < HEAD_DIM; d++) {
    let dev = normalised(useValues, row + d, d) - mean;
    squares += dev * dev;
  }
  return sqrt(squares / f32(HEAD_DIM - 1u));
}

@compute @workgroup_size(GROUP)
fn select_chunks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x;
  let h = wid.y;
  let b = wid.z;
  let C = p.H * HEAD_DIM;
  let L = p.L;
  let chunkStart = p.S + i * L;
  let refStart = chunkStart + L;
  let column = h * HEAD_DIM;

  // 1. Per-channel min/max over the reference chunk i+1.
  for (var d = lid; d < HEAD_DIM; d += GROUP) {
    let first = (b * p.T + refStart) * C + column + d;
    var mnK = keys[first];
    var mxK = mnK;
    var mnV = values[first];
    var mxV = mnV;
    for (var j = 1u; j < L; j++) {
      let at = first + j * C;
      mnK = min(mnK, keys[at]);
      mxK = max(mxK, keys[at]);
      mnV = min(mnV, values[at]);
      mxV = max(mxV, values[at]);
    }
    lowK[d] = mnK;
    spanK[d] = (mxK - mnK) + p.epsilon;
    lowV[d] = mnV;
    spanV[d] = (mxV - mnV) + p.epsilon;
  }
  workgroupBarrier();

  // 2. Channel std of every token of chunk i.
  for (var l = lid; l < L; l += GROUP) {
    let row = (b * p.T + chunkStart + l) * C + column;
    sigmaK[l] = channelStd(false, row);
    sigmaV[l] = channelStd(true, row);
  }
  workgroupBarrier();

  // 3. Softmax statistics over the L tokens, sequentially (L ≤ 256, and the same summation
  //    order as the twin keeps the ranking identical).
  if (lid == 0u) {
    var mxK = sigmaK[0];
    var mxV = sigmaV[0];
    for (var l = 1u; l < L; l++) {
      mxK = max(mxK, sigmaK[l]);
      mxV = max(mxV, sigmaV[l]);
    }
    var sumK = 0.0;
    var sumV = 0.0;
    for (var l = 0u; l < L; l++) {
      sumK += exp(sigmaK[l] - mxK);
      sumV += exp(sigmaV[l] - mxV);
    }
    softmaxStats[0] = mxK;
    softmaxStats[1] = sumK;
    softmaxStats[2] = mxV;
    softmaxStats[3] = sumV;
  }
  workgroupBarrier();

  let out = ((b * p.H + h) * p.P + i) * L;
  for (var l = lid; l < L; l += GROUP) {
    let sK = exp(sigmaK[l] - softmaxStats[0]) / softmaxStats[1];
    let sV = exp(sigmaV[l] - softmaxStats[2]) / softmaxStats[3];
    let s = sK + p.scoreVRatio * sV;
    score[l] = s;
    scores[out + l] = s;
  }
  workgroupBarrier();

  // 4. Rank test: kept iff fewer than `keep` tokens beat it.
  for (var l = lid; l < L; l += GROUP) {
    let s = score[l];
    var beaten = 0u;
    for (var m = 0u; m < L; m++) {
      let other = score[m];
      if (other > s || (other == s && m < l)) {
        beaten++;
      }
    }
    kept[l] = select(0u, 1u, beaten < p.keep);
  }
  workgroupBarrier();

  // 5. Kept tokens in ascending position order: slot = kept tokens before it.
  let base = ((b * p.H + h) * p.P + i) * p.keep;
  for (var l = lid; l < L; l += GROUP) {
    if (kept[l] == 1u) {
      var slot = 0u;
      for (var m = 0u; m < l; m++) {
        slot += kept[m];
      }
      selected[base + slot] = i32(chunkStart + l);
    }
  }
}

// Tiled f32 matrix product, batched:  C[b] (+)= alpha · op(A[b]) · op(B[b])
//   or, with SUM_BATCH, one C (+)= alpha · Σ_b op(A[b]) · op(B[b]) (the input gradient of
//   several linear layers that read the same input, in one dispatch: dispatch z = 1).
// The *_residual entry points add R (laid out as C) instead: C = alpha · op(A) · op(B) + R,
// a linear layer and its residual connection in one dispatch.
//   op(A) is M×K: A stored M×K row-major, or K×M when TRANS_A (Aᵀ·B, the weight gradient);
//   op(B) is K×N: B stored K×N row-major, or N×K when TRANS_B (A·Bᵀ, the input gradient).
// Each workgroup computes a 64×64 tile of C with 8×8 invocations, 8×8 outputs each: rows
// ly + 8·i (i < 8) and the column quads 4·lx … 4·lx+3 and 32 + 4·lx … 32 + 4·lx+3. Few
// invocations with many outputs each: on SwiftShader this ran 1.6–2× faster than 16×16
// invocations with 4×4 outputs (fewer invocations to switch between at every barrier), and it
// is the usual register-blocked layout on GPUs.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  strideA: u32, // elements between consecutive batch matrices
  strideB: u32,
  strideC: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
// main_residual, main_vec4_residual only
@group(0) @binding(4) var<storage, read> R: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Add into C instead of overwriting it (gradient accumulation).
override ACCUMULATE: bool = false;
// Sum the batch into one C (see the top); each workgroup loops over every batch matrix.
override SUM_BATCH: bool = false;

// The batch matrices a workgroup multiplies: its own (wid.z), or all of them (SUM_BATCH).
fn batchRange(wid: vec3<u32>) -> vec2<u32> {
  if (SUM_BATCH) {
    return vec2<u32>(0u, p.batch);
  }
  return vec2<u32>(wid.z, wid.z + 1u);
}

// TILE (MATMUL_TILE, rows and columns of C per workgroup; the register blocking above is for 64)
// comes from TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader.
const TK: u32 = 32u;
const WG: u32 = 8u; // invocations per side
const THREADS: u32 = 64u;

// 8 KiB each: 16 KiB in all, Chrome's default maxComputeWorkgroupStorageSize. A deep K tile
// halves the barriers per product, which software adapters pay dearly for.
var<workgroup> tileA: array<f32, 2048>; // [k][m], TK × TILE
var<workgroup> tileB: array<vec4<f32>, 512>; // [k][n/4], TK × TILE/4

fn loadA(base: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) {
    return 0.0;
  }
  if (TRANS_A) {
    return A[base + k * p.M + m];
  }
  return A[base + m * p.K + k];
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) {
    return 0.0;
  }
  if (TRANS_B) {
    return B[base + n * p.K + k];
  }
  return B[base + k * p.N + n];
}

// acc[2i + h] holds row ly + 8i, columns 32h + 4lx … 32h + 4lx + 3.
fn multiplyTiles(lid: vec3<u32>, acc: ptr<function, array<vec4<f32>, 16>>) {
  for (var kk = 0u; kk < TK; kk++) {
    let b0 = tileB[kk * 16u + lid.x];
    let b1 = tileB[kk * 16u + lid.x + 8u];
    for (var i = 0u; i < 8u; i++) {
      let a = vec4<f32>(tileA[kk * TILE + lid.y + WG * i]);
      (*acc)[2u * i] = fma(a, b0, (*acc)[2u * i]);
      (*acc)[2u * i + 1u] = fma(a, b1, (*acc)[2u * i + 1u]);
    }
  }
}

fn storeTile(lid: vec3<u32>, wid: vec3<u32>, acc: ptr<function, array<vec4<f32>, 16>>) {
  var baseC = wid.z * p.strideC;
  if (SUM_BATCH) {
    baseC = 0u;
  }
  for (var i = 0u; i < 8u; i++) {
    let row = wid.y * TILE + lid.y + WG * i;
    if (row >= p.M) {
      continue;
    }
    for (var h = 0u; h < 2u; h++) {
      for (var j = 0u; j < 4u; j++) {
        let col = wid.x * TILE + 32u * h + 4u * lid.x + j;
        if (col < p.N) {
          let at = baseC + row * p.N + col;
          var value = p.alpha * (*acc)[2u * i + h][j];
          if (ACCUMULATE) {
            value += C[at];
          }
          C[at] = value;
        }
      }
    }
  }
}

// storeTile with R added: a function of its own, so that only the residual entry points use R.
fn storeTileResidual(lid: vec3<u32>, wid: vec3<u32>, acc: ptr<function, array<vec4<f32>, 16>>) {
  let baseC = wid.z * p.strideC;
  for (var i = 0u; i < 8u; i++) {
    let row = wid.y * TILE + lid.y + WG * i;
    if (row >= p.M) {
      continue;
    }
    for (var h = 0u; h < 2u; h++) {
      for (var j = 0u; j < 4u; j++) {
        let col = wid.x * TILE + 32u * h + 4u * lid.x + j;
        if (col < p.N) {
          let at = baseC + row * p.N + col;
          C[at] = fma(p.alpha, (*acc)[2u * i + h][j], R[at]);
        }
      }
    }
  }
}

@compute @workgroup_size(WG, WG, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc: array<vec4<f32>, 16>;
  product(lid, wid, &acc);
  storeTile(lid, wid, &acc);
}

@compute @workgroup_size(WG, WG, 1)
fn main_residual(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc: array<vec4<f32>, 16>;
  product(lid, wid, &acc);
  storeTileResidual(lid, wid, &acc);
}

// Element `idx` (of the 2048) of the A tile at k0: where it goes in the [k][m] tile and its
// value. The index order follows the memory order of the stored matrix, so reads coalesce.
// Shared with the f16-tile variant (matmul-f16.wgsl), which stores the same values rounded.
struct TileEntry {
  at: u32,
  value: f32,
}

fn tileAEntry(idx: u32, baseA: u32, row0: u32, k0: u32) -> TileEntry {
  if (TRANS_A) {
    let kk = idx / TILE;
    let m = idx % TILE;
    return TileEntry(kk * TILE + m, loadA(baseA, row0 + m, k0 + kk));
  }
  let m = idx / TK;
  let kk = idx % TK;
  return TileEntry(kk * TILE + m, loadA(baseA, row0 + m, k0 + kk));
}

// Slot `slot` (of the 512) of the B tile at k0: 4 adjacent columns of one k row.
fn tileBSlot(slot: u32, baseB: u32, col0: u32, k0: u32) -> vec4<f32> {
  let kk = slot / 16u;
  let n = (slot % 16u) * 4u;
  return vec4<f32>(
    loadB(baseB, k0 + kk, col0 + n),
    loadB(baseB, k0 + kk, col0 + n + 1u),
    loadB(baseB, k0 + kk, col0 + n + 2u),
    loadB(baseB, k0 + kk, col0 + n + 3u),
  );
}

// The workgroup's tile of op(A) · op(B) (summed over the batch with SUM_BATCH) into acc.
fn product(lid: vec3<u32>, wid: vec3<u32>, acc: ptr<function, array<vec4<f32>, 16>>) {
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let tid = lid.y * WG + lid.x;

  for (var i = 0u; i < 16u; i++) {
    (*acc)[i] = vec4<f32>(0.0);
  }
  let numTiles = (p.K + TK - 1u) / TK;
  let zs = batchRange(wid);
  for (var z = zs.x; z < zs.y; z++) {
    let baseA = z * p.strideA;
    let baseB = z * p.strideB;
    for (var t = 0u; t < numTiles; t++) {
      let k0 = t * TK;
      // 2048 elements per tile, 64 invocations: 32 loads each. The index order follows
      // the memory order of the stored matrix so that global reads are coalesced.
      for (var r = 0u; r < 32u; r++) {
        let e = tileAEntry(tid + r * THREADS, baseA, row0, k0);
        tileA[e.at] = e.value;
      }
      // B: 512 vec4 slots (4 adjacent columns of one k row each), 8 per invocation.
      for (var r = 0u; r < 8u; r++) {
        let slot = tid + r * THREADS;
        tileB[slot] = tileBSlot(slot, baseB, col0, k0);
      }
      workgroupBarrier();
      multiplyTiles(lid, acc);
      workgroupBarrier();
    }
  }
}

// A·B with K and N multiples of 4: the same tiling, but the tiles are filled with whole vec4
// loads (A along k, B along n), a quarter of the load and bounds-check instructions.
// The vec4 views alias bindings 1 and 2; no entry point uses both views.
@group(0) @binding(1) var<storage, read> A4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B4: array<vec4<f32>>;

@compute @workgroup_size(WG, WG, 1)
fn main_vec4(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc: array<vec4<f32>, 16>;
  productVec4(lid, wid, &acc);
  storeTile(lid, wid, &acc);
}

@compute @workgroup_size(WG, WG, 1)
fn main_vec4_residual(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc: array<vec4<f32>, 16>;
  productVec4(lid, wid, &acc);
  storeTileResidual(lid, wid, &acc);
}

fn productVec4(lid: vec3<u32>, wid: vec3<u32>, acc: ptr<function, array<vec4<f32>, 16>>) {
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let tid = lid.y * WG + lid.x;
  let K4 = p.K / 4u;
  let N4 = p.N / 4u;

  for (var i = 0u; i < 16u; i++) {
    (*acc)[i] = vec4<f32>(0.0);
  }
  let numTiles = (p.K + TK - 1u) / TK;
  let zs = batchRange(wid);
  for (var z = zs.x; z < zs.y; z++) {
    let baseA4 = z * p.strideA / 4u;
    let baseB4 = z * p.strideB / 4u;
    for (var t = 0u; t < numTiles; t++) {
      let k0 = t * TK;
      // A tile: 64 rows × 8 vec4 along k = 512 vec4, 8 per invocation.
      for (var r = 0u; r < 8u; r++) {
        let slot = tid + r * THREADS;
        let m = slot / 8u;
        let kq = slot % 8u;
        var a = vec4<f32>(0.0);
        if (row0 + m < p.M && k0 / 4u + kq < K4) {
          a = A4[baseA4 + (row0 + m) * K4 + k0 / 4u + kq];
        }
        let kk = kq * 4u;
        tileA[kk * TILE + m] = a.x;
        tileA[(kk + 1u) * TILE + m] = a.y;
        tileA[(kk + 2u) * TILE + m] = a.z;
        tileA[(kk + 3u) * TILE + m] = a.w;
      }
      // B tile: 32 k rows × 16 vec4 along n = 512 vec4, 8 per invocation.
      for (var r = 0u; r < 8u; r++) {
        let slot = tid + r * THREADS;
        let kk = slot / 16u;
        let nq = slot % 16u;
        var bv = vec4<f32>(0.0);
        if (k0 + kk < p.K && col0 / 4u + nq < N4) {
          bv = B4[baseB4 + (k0 + kk) * N4 + col0 / 4u + nq];
        }
        tileB[slot] = bv;
      }
      workgroupBarrier();
      multiplyTiles(lid, acc);
      workgroupBarrier();
    }
  }
}

// Split-K's second pass (ops/matmul.ts matmulSplitK): Csum (+)= alpha · Σ_{s < batch} A[s·M·N + e]
// for each of the M·N elements e, where A holds the partial products of the `batch` K slices.
// Binding 2 is writable here (B is not used), as elementwise.wgsl does with its outputs.
@group(0) @binding(2) var<storage, read_write> Csum: array<f32>;

const SUM_WG: u32 = 64u;

@compute @workgroup_size(SUM_WG, 1, 1)
fn sum_slices(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let e = (wid.x + wid.y * nwg.x) * SUM_WG + lid.x;
  let n = p.M * p.N;
  if (e >= n) {
    return;
  }
  var sum = 0.0;
  for (var s = 0u; s < p.batch; s++) {
    sum += A[s * n + e];
  }
  var value = p.alpha * sum;
  if (ACCUMULATE) {
    value += Csum[e];
  }
  Csum[e] = value;
}

enable f16;

// The tiled matrix product (shaders/matmul.wgsl) with its shared-memory tiles held in f16, for
// adapters that offer `shader-f16`: op(A) and op(B) are rounded to f16 as they are loaded
// (about 3 significant digits, |values| up to 65504), the products and sums stay in f32. Half
// the workgroup memory and half the bytes moved from it per multiply; the cost is the rounding
// of the inputs, so a run uses it only when asked (gpu.f16 = 'auto').
// Not a module of its own: the loader (src/gpu/ops/shader-variants.ts) puts this file in
// front of shaders/matmul.wgsl, whose bindings, loads and stores the entry points reuse.

var<workgroup> tileA16: array<f16, 2048>; // [k][m], TK × TILE
var<workgroup> tileB16: array<vec4<f16>, 512>; // [k][n/4], TK × TILE/4

fn multiplyTilesF16(lid: vec3<u32>, acc: ptr<function, array<vec4<f32>, 16>>) {
  for (var kk = 0u; kk < TK; kk++) {
    let b0 = vec4<f32>(tileB16[kk * 16u + lid.x]);
    let b1 = vec4<f32>(tileB16[kk * 16u + lid.x + 8u]);
    for (var i = 0u; i < 8u; i++) {
      let a = vec4<f32>(f32(tileA16[kk * TILE + lid.y + WG * i]));
      (*acc)[2u * i] = fma(a, b0, (*acc)[2u * i]);
      (*acc)[2u * i + 1u] = fma(a, b1, (*acc)[2u * i + 1u]);
    }
  }
}

// product() of matmul.wgsl with the tiles in f16.
fn productF16(lid: vec3<u32>, wid: vec3<u32>, acc: ptr<function, array<vec4<f32>, 16>>) {
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
      // The same tiles as product() (tileAEntry, tileBSlot), rounded to f16 as they are stored.
      for (var r = 0u; r < 32u; r++) {
        let e = tileAEntry(tid + r * THREADS, baseA, row0, k0);
        tileA16[e.at] = f16(e.value);
      }
      for (var r = 0u; r < 8u; r++) {
        let slot = tid + r * THREADS;
        tileB16[slot] = vec4<f16>(tileBSlot(slot, baseB, col0, k0));
      }
      workgroupBarrier();
      multiplyTilesF16(lid, acc);
      workgroupBarrier();
    }
  }
}

@compute @workgroup_size(WG, WG, 1)
fn main_f16(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc: array<vec4<f32>, 16>;
  productF16(lid, wid, &acc);
  storeTile(lid, wid, &acc);
}

@compute @workgroup_size(WG, WG, 1)
fn main_f16_residual(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc: array<vec4<f32>, 16>;
  productF16(lid, wid, &acc);
  storeTileResidual(lid, wid, &acc);
}

// Token embedding: lookup and its gradient.
//   forward:  out[n, c] = table[tokens[n], c]; ids outside [0, V) give zeros (the wrapper's
//             CPU-side check reports them; the kernel only refuses to read out of bounds).
//   backward: dTable[v, c] (+)= Σ dout[p, c] over p in positions[offsets[v] .. offsets[v+1]),
//             the CSR list of the rows holding token v. A gather, so no float atomics.
// One invocation per output element; consecutive invocations take consecutive c, so reads
// of a row are coalesced. Grids may be 2-D (linear workgroup = wid.x + wid.y · nwg.x).

struct Params {
  N: u32,
  C: u32,
  V: u32,
}

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (EMBEDDING_WORKGROUP).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@group(0) @binding(1) var<storage, read> offsets: array<i32>;
@group(0) @binding(2) var<storage, read> positions: array<i32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dTable: array<f32>;

// Add into dTable instead of overwriting it (the tied output head's gradient shares it).
override ACCUMULATE: bool = false;

fn elementIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid.x;
}

@compute @workgroup_size(WG)
fn forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= p.N * p.C) {
    return;
  }
  let n = i / p.C;
  let c = i - n * p.C;
  let t = tokens[n];
  var value = 0.0;
  if (t >= 0 && u32(t) < p.V) {
    value = table[u32(t) * p.C + c];
  }
  out[i] = value;
}

@compute @workgroup_size(WG)
fn backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= p.V * p.C) {
    return;
  }
  let v = i / p.C;
  let c = i - v * p.C;
  let start = u32(offsets[v]);
  let end = u32(offsets[v + 1u]);
  var sum = 0.0;
  for (var k = start; k < end; k++) {
    sum += dout[u32(positions[k]) * p.C + c];
  }
  if (ACCUMULATE) {
    sum += dTable[i];
  }
  dTable[i] = sum;
}

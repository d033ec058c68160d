// Rotary position embedding (RoPE), Qwen3 "rotate half" pairing, forward and inverse.
// x, y [B, T, C], C = H·D; within each head, channel i pairs with i + D/2 and the pair is
// rotated by the angle of (position t + offset, i). cos/sin come from a table [positions, D/2]
// of (cos, sin) computed on the CPU in float64: WGSL's sin/cos are only accurate on [−π, π],
// and angles here reach the sequence length in radians.
// One invocation per pair; the grid is 2-D (x · WG invocations per row) for large tensors.
// Segments: several [B, T, C] tensors strideIn (x) / strideOut (y) elements apart in one
// dispatch; the first `rotated` are rotated, the rest copied (q and k rotated, v carried along,
// so that q/k/v stay one strided group for the batched projections).
//
// Entry points (storage bindings in order):
//   rope           table, y (w), x      out of place
//   rope_in_place  table, y (rw)        y ← rotate(y)
// INVERSE rotates by −angle: the backward pass (the rotation is orthogonal).

struct Params {
  pairs: u32, // B·T·H·D/2
  T: u32,
  H: u32,
  half: u32, // D / 2
  offset: u32,
  rowStride: u32, // invocations per row of the dispatch grid
  segments: u32,
  rotated: u32, // segments below this are rotated, the others copied
  strideIn: u32, // elements between segments of x (of y in place)
  strideOut: u32, // elements between segments of y
}

@group(0) @binding(0) var<uniform> p: Params;

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (ROPE_WORKGROUP).
@group(0) @binding(1) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;

override INVERSE: bool = false;

struct Pair {
  xAt: u32, // index of channel i in x; its partner is xAt + half
  yAt: u32, // the same in y
  cs: vec2<f32>, // (cos, sin), sin negated for the inverse; (1, 0) for a copied segment
}

fn pairAt(gid: vec3<u32>) -> Pair {
  let all = gid.y * p.rowStride + gid.x;
  let segment = all / p.pairs;
  let j = all % p.pairs;
  let i = j % p.half;
  let head = j / p.half; // (b·T + t)·H + h
  let t = (head / p.H) % p.T;
  var cs = vec2<f32>(1.0, 0.0);
  if (segment < p.rotated) {
    cs = table[(t + p.offset) * p.half + i];
  }
  if (INVERSE) {
    cs.y = -cs.y;
  }
  let first = head * 2u * p.half + i;
  return Pair(segment * p.strideIn + first, segment * p.strideOut + first, cs);
}

fn rotate(a: f32, b: f32, cs: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a * cs.x - b * cs.y, b * cs.x + a * cs.y);
}

@compute @workgroup_size(WG)
fn rope(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.y * p.rowStride + gid.x >= p.pairs * p.segments) {
    return;
  }
  let pr = pairAt(gid);
  let r = rotate(x[pr.xAt], x[pr.xAt + p.half], pr.cs);
  y[pr.yAt] = r.x;
  y[pr.yAt + p.half] = r.y;
}

@compute @workgroup_size(WG)
fn rope_in_place(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.y * p.rowStride + gid.x >= p.pairs * p.segments) {
    return;
  }
  let pr = pairAt(gid);
  let r = rotate(y[pr.yAt], y[pr.yAt + p.half], pr.cs);
  y[pr.yAt] = r.x;
  y[pr.yAt + p.half] = r.y;
}

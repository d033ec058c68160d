// ROSA sign-pack (docs/rosa-spec.md §2): x [B, T, C] f32 → symbols [lane][Tpad] as bytes.
// symbol(b, r, t) = Σ_j 1[x[b, t, r·bits + j] > 0] · 2^j (exactly 0 → 0, NaN → 0), lane = b·R + r.
// Each invocation writes one u32 word = 4 time steps of one lane, little-endian (byte t % 4 of
// word t / 4), so the buffer can be copied to a mappable buffer and read as Uint8 on the CPU.
// Padding bytes (t ≥ T) are 0. Invocations run route-fastest: neighbours read neighbouring
// channels of the same (b, t) row, which is where the bytes are (reads are 4·bits× the writes).

struct Params {
  B: u32,
  T: u32,
  C: u32,
  bits: u32,
  routes: u32,
  words: u32, // Tpad / 4 per lane
  total: u32, // B · words · routes
}

@group(0) @binding(0) var<uniform> p: Params;

// From TypeScript (src/gpu/ops/shader-constants.ts), appended by the loader: WG (ROSA_WORKGROUP).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> symbols: array<u32>;

// x > 0 decided on the bit pattern: WGSL lets implementations flush subnormals to zero in float
// comparisons (SwiftShader does), which would make tiny positive values pack as 0 on some adapters.
// Positive floats, +∞ included, are the patterns 1 ..= 0x7f800000 (NaN and -0 are not positive).
fn isPositive(x: f32) -> bool {
  return bitcast<u32>(x) - 1u < 0x7f800000u;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * groups.x + wid.x) * WG + lid;
  if (i >= p.total) {
    return;
  }
  let r = i % p.routes;
  let rest = i / p.routes;
  let w = rest % p.words;
  let b = rest / p.words;
  var word = 0u;
  for (var s = 0u; s < 4u; s++) {
    let t = w * 4u + s;
    if (t >= p.T) {
      break;
    }
    let base = (b * p.T + t) * p.C + r * p.bits;
    var symbol = 0u;
    for (var j = 0u; j < p.bits; j++) {
      if (isPositive(x[base + j])) {
        symbol |= 1u << j;
      }
    }
    word |= symbol << (8u * s);
  }
  symbols[(b * p.routes + r) * p.words + w] = word;
}

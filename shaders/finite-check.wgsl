// Counts the NaN and ±∞ elements of an f32 tensor into count[0] (added to what is there, so
// several tensors can share one counter and one 4-byte read-back). Used before a checkpoint
// is called good, without reading the weights back.
//
// The test is on the bits (exponent all ones), not x != x: WGSL lets compilers assume that
// NaN and infinities never occur and fold such comparisons away.
// Each invocation scans a strided range; the workgroup sums in shared memory, then one
// atomicAdd per workgroup. Grids may be 2-D (linear workgroup = wid.x + wid.y · num_workgroups.x).

struct Params {
  n: u32,
}

const WG: u32 = 256u;
/** Elements per invocation, so large tensors need few workgroups and few atomics. */
const PER_INVOCATION: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> count: array<atomic<u32>>;

var<workgroup> partial: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let group = wid.x + wid.y * nwg.x;
  let base = group * WG * PER_INVOCATION + lid.x;
  var bad = 0u;
  for (var k = 0u; k < PER_INVOCATION; k++) {
    let i = base + k * WG;
    if (i < p.n && (x[i] & 0x7f800000u) == 0x7f800000u) {
      bad += 1u;
    }
  }
  partial[lid.x] = bad;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid.x < stride) {
      partial[lid.x] += partial[lid.x + stride];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u && partial[0] > 0u) {
    atomicAdd(&count[0], partial[0]);
  }
}

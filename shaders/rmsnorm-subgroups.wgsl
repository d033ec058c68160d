enable subgroups;

// RMSNorm's row reductions with subgroup operations, for adapters that offer the `subgroups`
// feature. Not a module of its own: the loader (src/gpu/ops/shader-variants.ts) puts this file
// in front of shaders/rmsnorm.wgsl (a directive must open the module), so the entry points
// below reuse its bindings, Params and row pieces; only the reduction differs.
//
// workgroupSum (rmsnorm.wgsl) reduces WG values with log2(WG) barriers; this one with two.
// Nothing is assumed about how subgroups map onto local_invocation_index (the spec leaves it
// open, and subgroup sizes vary from 4 to 128): each subgroup sums its values with subgroupAdd
// and stores the total at the lowest local index among its invocations, a slot no other
// subgroup uses; the other slots hold 0. Then every subgroup adds all WG slots, each lane a
// strided share, and subgroupAdd again, so every invocation gets the same total.

var<workgroup> subgroupTotals: array<f32, WG>;

// Call from workgroup-uniform control flow (barriers and subgroup operations).
fn workgroupSumBySubgroups(lid: u32, lane: u32, width: u32, value: f32) -> f32 {
  let own = subgroupAdd(value);
  let slot = subgroupMin(lid);
  subgroupTotals[lid] = select(0.0, own, lid == slot);
  workgroupBarrier();
  var share = 0.0;
  for (var i = lane; i < WG; i += width) {
    share += subgroupTotals[i];
  }
  let total = subgroupAdd(share);
  workgroupBarrier(); // the slots are reused by the next call
  return total;
}

@compute @workgroup_size(WG)
fn forward_subgroups(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) width: u32,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.N) {
    return;
  }
  let base = row * p.C;
  let r = rstdOf(workgroupSumBySubgroups(lid.x, lane, width, sumSquares(base, lid.x, WG)));
  writeNormalized(base, lid.x, WG, r);
  if (lid.x == 0u) {
    rstdOut[row] = r;
  }
}

@compute @workgroup_size(WG)
fn backward_subgroups(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) width: u32,
) {
  let index = wid.x + wid.y * nwg.x;
  if (index >= p.dxGroups) {
    dwColumns(index - p.dxGroups, lid.x);
    return;
  }
  let row = index;
  if (row >= p.N) {
    return;
  }
  let base = row * p.C;
  let r = rstd[row];
  let dot = workgroupSumBySubgroups(lid.x, lane, width, gradDot(base, lid.x, WG, r));
  writeDx(base, lid.x, WG, r, dot / f32(p.C));
}

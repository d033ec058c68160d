import { describe, expect, it, vi } from 'vitest';
import { CommandBatch, runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { f16InUse } from '../../src/gpu/features.ts';
import { GpuBackend } from '../../src/gpu/model/gpu-backend.ts';
import { matmul, matmulKernel } from '../../src/gpu/ops/matmul.ts';
import { completeShader } from '../../src/gpu/ops/shader-constants.ts';
import { composeShader } from '../../src/gpu/ops/shader-variants.ts';
import { readShader } from '../../src/gpu/platform/node.ts';
import { matmulReference } from '../../src/gpu/reference/matmul.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray } from '../harness/random.ts';

// The f16-tile matmul (shaders/matmul-f16.wgsl) needs `shader-f16`, which SwiftShader does not
// offer, so it cannot run here: these tests check that it is never chosen without the feature,
// that asking for it anyway is refused by name, and that its WGSL at least parses. Its twin
// (src/gpu/reference/matmul-f16.ts) is tested in test/gpu/reference/matmul-f16.test.ts.

/** The context claiming `shader-f16`: what the backend sees on an adapter that offers it. */
function claimingF16(ctx: GpuContext): GpuContext {
  const view = Object.create(ctx) as GpuContext;
  view.hasFeature = (feature) => feature === 'shader-f16' || ctx.hasFeature(feature);
  return view;
}

/** The compiler's messages for a module, its validation error kept from the device's log. */
async function compileMessages(ctx: GpuContext, code: string): Promise<string[]> {
  ctx.device.pushErrorScope('validation');
  const module = ctx.device.createShaderModule({ label: 'matmul-f16 parse check', code });
  const info = await module.getCompilationInfo();
  await ctx.device.popErrorScope();
  return info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}: ${m.message}`);
}

describe('matmul f16 tiles: absent here, so never chosen', () => {
  it('the test device (SwiftShader) does not offer shader-f16', async () => {
    const ctx = await testGpu();
    expect(ctx.hasFeature('shader-f16')).toBe(false);
    expect(ctx.adapter.features).not.toContain('shader-f16');
  });

  it('picks the variant only when asked; vec4 loads otherwise', () => {
    expect(matmulKernel(true, false, true)).toEqual({ shader: 'matmul-f16', entryPoint: 'main_f16' });
    expect(matmulKernel(false, true, true)).toEqual({
      shader: 'matmul-f16',
      entryPoint: 'main_f16_residual',
    });
    expect(matmulKernel(true, true, false)).toEqual({ shader: 'matmul', entryPoint: 'main_vec4_residual' });
    expect(matmulKernel(false, false, false)).toEqual({ shader: 'matmul', entryPoint: 'main' });
  });

  it("the backend uses f16 tiles only where the device has shader-f16 and gpu.f16 is 'auto'", async () => {
    const ctx = await testGpu();
    const offering = claimingF16(ctx);
    expect(f16InUse(ctx, 'auto')).toBe(false);
    expect(f16InUse(offering, 'auto')).toBe(true);
    expect(f16InUse(offering, 'off')).toBe(false);
    expect(new GpuBackend(ctx, { f16: 'auto' }).f16Tiles).toBe(false);
    expect(new GpuBackend(offering).f16Tiles).toBe(false); // off by default
    expect(new GpuBackend(offering, { f16: 'auto' }).f16Tiles).toBe(true);
  });

  it("a linear layer with gpu.f16 'auto' on this device runs the f32 kernel and matches the twin", async () => {
    const ctx = await testGpu();
    const [rows, inDim, outDim] = [5, 12, 7];
    const x = randomArray(rows * inDim, 1);
    const w = randomArray(outDim * inDim, 2);
    const tx = createTensor(ctx, [rows, inDim], 'f32', 'x', x);
    const tw = createTensor(ctx, [outDim, inDim], 'f32', 'w', w);
    const ty = createTensor(ctx, [rows, outDim], 'f32', 'y');
    const backend = new GpuBackend(ctx, { f16: 'auto' });
    const pipeline = vi.spyOn(ctx, 'pipeline');
    backend.linear({ x: tx, w: tw }, { y: ty }, { rows, inDim, outDim });
    await backend.finish();
    const shaders = new Set(pipeline.mock.calls.map(([shader]) => shader));
    pipeline.mockRestore();
    expect(shaders).toEqual(new Set(['matmul']));
    const want = matmulReference(x, w, { M: rows, N: outDim, K: inDim, transB: true });
    expectClose(await readTensor(ctx, ty), want, { atol: 1e-5, rtol: 1e-5 }, 'y');
    destroyTensors(tx, tw, ty);
  });

  it('asking for f16 tiles on a device without shader-f16 is refused, naming the feature', async () => {
    const ctx = await testGpu();
    const a = createTensor(ctx, [4, 4], 'f32', 'a');
    const b = createTensor(ctx, [4, 4], 'f32', 'b');
    const c = createTensor(ctx, [4, 4], 'f32', 'c');
    const batch = new CommandBatch(ctx, 'f16 refused');
    expect(() => matmul(batch, a, b, c, { M: 4, N: 4, K: 4, f16Tiles: true })).toThrow(
      'matmul: f16Tiles = true, but this device lacks the "shader-f16" feature',
    );
    await runBatch(ctx, 'nothing', () => {});
    destroyTensors(a, b, c);
  });

  it('its WGSL parses: the only error here is the missing f16 extension (a syntax error would show)', async () => {
    const ctx = await testGpu();
    const code = completeShader('matmul-f16', composeShader('matmul-f16', readShader));
    expect(code.startsWith('enable f16;\n')).toBe(true);
    expect(await compileMessages(ctx, code)).toEqual([
      "1: extension 'f16' is not allowed in the current environment",
    ]);
    // Tint parses the whole module before it checks the extension, so a broken line is reported
    // instead. (Type errors are not: they would come after the extension check.)
    const broken = code.replace('let b0 = vec4<f32>(tileB16[', 'let b0 = vec4<f32>(tileB16 +[');
    const messages = await compileMessages(ctx, broken);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/unable to parse/);
  });
});

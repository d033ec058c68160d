// Records kernel dispatches and copies, then submits them as one command buffer.
//
// Binding convention for every kernel in shaders/: the uniform block of scalar
// parameters (if the kernel has one) is @group(0) @binding(0); storage buffers
// follow at @binding(1), @binding(2), ... in the order given in `buffers`.
// Pipelines use layout 'auto', so every entry point must statically use every
// binding it is given (a phony `_ = &name;` counts).
//
// All uniforms of a batch live in one buffer, shared by every batch of the device and
// rewritten once per submit; bind groups are cached across submits (bind-group-cache.ts).
// Consecutive dispatches share one compute pass: WebGPU orders their storage
// accesses, so no explicit barriers are needed.

import type { GpuContext, OverrideConstants } from './context.ts';
import { GpuError } from './errors.ts';
import { shaderFamily } from './ops/shader-variants.ts';
import type { UniformBlock } from './ops/uniforms.ts';
import type { Tensor } from './tensor.ts';

export interface DispatchSpec {
  shader: string;
  entryPoint?: string;
  constants?: OverrideConstants;
  /** The uniform struct, packed by the shader's layout (see ops/uniforms.ts). */
  uniforms?: UniformBlock;
  buffers: ReadonlyArray<Tensor | GPUBuffer>;
  workgroups: readonly [number, number?, number?];
  label?: string;
}

type Step =
  | { kind: 'dispatch'; spec: DispatchSpec; uniformOffset: number; uniformBytes: number }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; bytes: number };

function isTensor(b: Tensor | GPUBuffer): b is Tensor {
  return 'buffer' in b && 'dtype' in b;
}

/** The bytes an op may touch: a slice's own range, else the whole buffer. */
function rangeOf(b: Tensor | GPUBuffer): { buffer: GPUBuffer; offset: number; size: number } {
  if (!isTensor(b)) return { buffer: b, offset: 0, size: b.size };
  if (b.byteOffset === undefined) return { buffer: b.buffer, offset: 0, size: b.buffer.size };
  return { buffer: b.buffer, offset: b.byteOffset, size: Math.max(4, b.length * 4) };
}

export class CommandBatch {
  /** The device the batch records for (ops check its features). */
  readonly ctx: GpuContext;
  private readonly steps: Step[] = [];
  private uniformBytes = 0;
  private submitted = false;
  readonly label: string;

  constructor(ctx: GpuContext, label = 'batch') {
    this.ctx = ctx;
    this.label = label;
  }

  dispatch(spec: DispatchSpec): this {
    const [x, y = 1, z = 1] = spec.workgroups;
    const maxDim = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    for (const [axis, n] of [
      ['x', x],
      ['y', y],
      ['z', z],
    ] as const) {
      if (!Number.isInteger(n) || n < 0) {
        throw new GpuError(
          'validation',
          `${spec.label ?? spec.shader}: workgroup count ${axis}=${n} is not a whole number`,
        );
      }
      if (n > maxDim) {
        throw new GpuError(
          'buffer-too-large',
          `${spec.label ?? spec.shader}: ${n} workgroups along ${axis} exceed this device's maxComputeWorkgroupsPerDimension (${maxDim})`,
        );
      }
    }
    // A variant (shader-variants.ts) binds its family's uniform struct.
    if (spec.uniforms && spec.uniforms.shader !== shaderFamily(spec.shader)) {
      throw new GpuError(
        'validation',
        `${spec.label ?? spec.shader}: uniforms packed for ${spec.uniforms.shader}/${spec.uniforms.struct}, dispatched to ${spec.shader}`,
      );
    }
    const entryPoint = spec.entryPoint ?? 'main';
    if (spec.uniforms?.entryPoints && !spec.uniforms.entryPoints.includes(entryPoint)) {
      throw new GpuError(
        'validation',
        `${spec.label ?? spec.shader}: uniforms packed as ${spec.uniforms.struct}, which ${spec.shader}/${entryPoint} does not bind`,
      );
    }
    if (x === 0 || y === 0 || z === 0) return this; // empty shape: nothing to do
    // Whole 16-byte rows per block: the bound range may exceed the struct, never fall short.
    const used = spec.uniforms?.bytes.byteLength ?? 0;
    const bytes = Math.ceil(used / 16) * 16;
    const align = this.ctx.limits.minUniformBufferOffsetAlignment;
    const offset = Math.ceil(this.uniformBytes / align) * align;
    if (bytes > 0) this.uniformBytes = offset + bytes;
    this.steps.push({ kind: 'dispatch', spec, uniformOffset: offset, uniformBytes: bytes });
    return this;
  }

  copy(src: Tensor | GPUBuffer, dst: Tensor | GPUBuffer, bytes?: number, srcOffset = 0, dstOffset = 0): this {
    const s = rangeOf(src);
    const d = rangeOf(dst);
    const n = bytes ?? Math.min(s.size - srcOffset, d.size - dstOffset);
    if (n > 0)
      this.steps.push({
        kind: 'copy',
        src: s.buffer,
        srcOffset: s.offset + srcOffset,
        dst: d.buffer,
        dstOffset: d.offset + dstOffset,
        bytes: n,
      });
    return this;
  }

  /** Sets bytes [offset, offset + bytes) of a tensor to zero (all of it by default). */
  clear(target: Tensor | GPUBuffer, offset = 0, bytes?: number): this {
    const b = rangeOf(target);
    const n = bytes ?? b.size - offset;
    if (n > 0) this.steps.push({ kind: 'clear', buffer: b.buffer, offset: b.offset + offset, bytes: n });
    return this;
  }

  /** The adapter this batch records for (ops pick kernel variants by it). */
  get adapter(): GpuContext['adapter'] {
    return this.ctx.adapter;
  }

  get isEmpty(): boolean {
    return this.steps.length === 0;
  }

  /** Encodes and submits everything recorded. The batch cannot be reused. */
  submit(): void {
    if (this.submitted) throw new GpuError('validation', `Batch "${this.label}" was already submitted`);
    this.submitted = true;
    this.ctx.assertAlive();
    const device = this.ctx.device;
    const resources = this.ctx.batchResources;
    let uniformBuffer: GPUBuffer | null = null;
    if (this.uniformBytes > 0) {
      uniformBuffer = resources.uniformBuffer(this.uniformBytes);
      const bytes = new Uint8Array(this.uniformBytes);
      for (const step of this.steps) {
        if (step.kind === 'dispatch' && step.spec.uniforms && step.uniformBytes > 0)
          bytes.set(new Uint8Array(step.spec.uniforms.bytes), step.uniformOffset);
      }
      const target = uniformBuffer;
      resources.writeUniforms(bytes, (offset, data) =>
        this.ctx.writeBuffer(target, offset, data.buffer, data.byteOffset, data.byteLength),
      );
    }
    const counters = this.ctx.counters;

    const encoder = device.createCommandEncoder({ label: this.label });
    // While profiling, each dispatch gets its own timed pass (profiler.ts).
    const timing = this.ctx.profiler?.begin(encoder, this.steps.filter((s) => s.kind === 'dispatch').length);
    let pass: GPUComputePassEncoder | null = null;
    for (const step of this.steps) {
      if (step.kind === 'dispatch') {
        const { spec } = step;
        const pipeline = this.ctx.pipeline(spec.shader, spec.entryPoint ?? 'main', spec.constants);
        const entries: GPUBindGroupEntry[] = [];
        let key = `${resources.id(pipeline)}`;
        if (step.uniformBytes > 0) {
          entries.push({
            binding: 0,
            resource: { buffer: uniformBuffer!, offset: step.uniformOffset, size: step.uniformBytes },
          });
          key += `|u${resources.id(uniformBuffer!)}@${step.uniformOffset}:${step.uniformBytes}`;
        }
        spec.buffers.forEach((b, i) => {
          const r = rangeOf(b);
          const whole = !isTensor(b) || b.byteOffset === undefined;
          entries.push({
            binding: i + 1,
            resource: whole ? { buffer: r.buffer } : { buffer: r.buffer, offset: r.offset, size: r.size },
          });
          key += `|${resources.id(r.buffer)}${whole ? '' : `@${r.offset}:${r.size}`}`;
        });
        const { group: bindGroup, created } = resources.bindGroup(key, () =>
          device.createBindGroup({
            label: spec.label ?? spec.shader,
            layout: pipeline.getBindGroupLayout(0),
            entries,
          }),
        );
        if (created) counters.bindGroups++;
        if (timing && pass) {
          pass.end();
          pass = null;
        }
        if (!pass) {
          const timestampWrites = timing?.next(spec.label ?? `${spec.shader}:${spec.entryPoint ?? 'main'}`);
          pass = encoder.beginComputePass({ label: this.label, timestampWrites });
          counters.computePasses++;
        }
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        const [x, y = 1, z = 1] = spec.workgroups;
        pass.dispatchWorkgroups(x, y, z);
        counters.dispatches++;
      } else {
        if (pass) {
          pass.end();
          pass = null;
        }
        if (step.kind === 'copy') {
          encoder.copyBufferToBuffer(step.src, step.srcOffset, step.dst, step.dstOffset, step.bytes);
          counters.bufferCopies++;
        } else {
          encoder.clearBuffer(step.buffer, step.offset, step.bytes);
          counters.bufferClears++;
        }
      }
    }
    if (pass) pass.end();
    timing?.finish();
    device.queue.submit([encoder.finish()]);
    timing?.afterSubmit();
    counters.submits++;
  }
}

/** Records with `record`, submits, and resolves once the GPU has finished the work. */
export async function runBatch(
  ctx: GpuContext,
  label: string,
  record: (batch: CommandBatch) => void,
): Promise<void> {
  const batch = new CommandBatch(ctx, label);
  record(batch);
  batch.submit();
  await ctx.workDone();
  ctx.assertAlive();
}

/** Captures WebGPU validation errors raised while `fn` runs and rethrows them as GpuError. */
export async function withValidation<T>(ctx: GpuContext, what: string, fn: () => T | Promise<T>): Promise<T> {
  ctx.device.pushErrorScope('validation');
  ctx.device.pushErrorScope('out-of-memory');
  let result: T | undefined;
  let thrown: unknown = null;
  try {
    result = await fn();
  } catch (err) {
    thrown = err;
  }
  const oom = await ctx.device.popErrorScope();
  const invalid = await ctx.device.popErrorScope();
  if (oom) throw new GpuError('buffer-too-large', `${what}: the GPU ran out of memory (${oom.message})`);
  if (invalid) throw new GpuError('validation', `${what}: ${invalid.message}`);
  if (thrown !== null) throw thrown;
  return result as T;
}

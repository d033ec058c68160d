// The engine's handle on one WebGPU device, the same in the browser and in Node.
// Platform entry points (platform-browser.ts, platform-node.ts) build it; everything
// else in src/gpu takes a GpuContext and never touches navigator.gpu or Dawn directly.

import { BatchResources } from './bind-group-cache.ts';
import { GpuCounters } from './counters.ts';
import { GpuError } from './errors.ts';
import { OPTIONAL_FEATURES, type OptionalFeature } from './features.ts';
import { completeShader } from './ops/shader-constants.ts';
import { composeShader } from './ops/shader-variants.ts';
import { type KernelProfile, KernelProfiler } from './profiler.ts';

/** What the UI and benchmarks show about the adapter. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software adapters (SwiftShader): timings there say nothing about a real GPU. */
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
  platform: 'browser' | 'node';
}

/** Returns the WGSL text of `shaders/<name>.wgsl` as stored (shaderModule adds the generated constants). */
export type ShaderSource = (name: string) => string;

export type OverrideConstants = Record<string, number | boolean>;

const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
  'minUniformBufferOffsetAlignment',
  'minStorageBufferOffsetAlignment',
  'maxBindGroups',
] as const;

export function summariseLimits(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const value = (limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') out[name] = value;
  }
  return out;
}

/** The optional features (features.ts) this adapter offers: the device asks for each. */
export function featuresToRequest(adapter: GPUAdapter): GPUFeatureName[] {
  return OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
}

/**
 * The adapter's own values for the limits the engine cares about. Devices start with
 * the spec defaults (e.g. 128 MiB per storage binding) unless these are requested.
 */
export function limitsToRequest(adapter: GPUAdapter): Record<string, number> {
  const wanted: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    if (name.startsWith('min') || name === 'maxBindGroups' || name === 'maxUniformBufferBindingSize')
      continue;
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') wanted[name] = v;
  }
  return wanted;
}

export function summariseAdapter(
  adapter: GPUAdapter,
  device: GPUDevice,
  platform: 'browser' | 'node',
): AdapterSummary {
  const info = adapter.info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const description = info?.description ?? '';
  const deviceName = info?.device ?? '';
  const text = `${vendor} ${architecture} ${description} ${deviceName}`.toLowerCase();
  const fallback = (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true;
  return {
    vendor,
    architecture,
    device: deviceName,
    description,
    isSoftware: fallback || text.includes('swiftshader') || text.includes('llvmpipe'),
    features: [...device.features].map(String).sort(),
    limits: summariseLimits(device.limits),
    platform,
  };
}

export class GpuContext {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  private readonly loadShader: ShaderSource;
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private lostReason: string | null = null;
  /** What this device was asked to do since the last reset (counters.ts). */
  readonly counters = new GpuCounters();
  /** The uniform buffer and bind groups command batches reuse (bind-group-cache.ts). */
  readonly batchResources: BatchResources;
  /** Set while a kernel profile is being taken (profiler.ts); batches time each dispatch then. */
  profiler: KernelProfiler | null = null;

  constructor(device: GPUDevice, adapter: AdapterSummary, loadShader: ShaderSource) {
    this.device = device;
    this.adapter = adapter;
    this.loadShader = loadShader;
    this.batchResources = new BatchResources(device);
    device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Null while the device is alive; the reason once it has been lost. */
  get lost(): string | null {
    return this.lostReason;
  }

  assertAlive(): void {
    if (this.lostReason !== null) {
      throw new GpuError(
        'device-lost',
        `The GPU device was lost (${this.lostReason}). A new device is made for new runs; resume this run from its last checkpoint.`,
      );
    }
  }

  shaderModule(name: string): GPUShaderModule {
    let module = this.modules.get(name);
    if (!module) {
      const code = completeShader(name, composeShader(name, this.loadShader));
      module = this.device.createShaderModule({ label: name, code });
      this.modules.set(name, module);
    }
    return module;
  }

  /** A compute pipeline per (shader, entry point, override constants), compiled once. */
  pipeline(shader: string, entryPoint: string, constants: OverrideConstants = {}): GPUComputePipeline {
    const keys = Object.keys(constants).sort();
    const key = `${shader}:${entryPoint}:${keys.map((k) => `${k}=${constants[k]}`).join(',')}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      const numeric: Record<string, number> = {};
      for (const k of keys) {
        const v = constants[k];
        numeric[k] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      }
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module: this.shaderModule(shader), entryPoint, constants: numeric },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** queue.writeBuffer, counted. */
  writeBuffer(
    buffer: GPUBuffer,
    offset: number,
    data: GPUAllowSharedBufferSource,
    dataOffset: number,
    size: number,
  ): void {
    this.counters.bytesWritten += size;
    this.device.queue.writeBuffer(buffer, offset, data, dataOffset, size);
  }

  /** Maps a buffer for reading: a sync point (the CPU waits for the queue up to here). */
  async mapRead(buffer: GPUBuffer): Promise<void> {
    this.counters.mapAsyncs++;
    await buffer.mapAsync(GPUMapMode.READ);
  }

  /** Waits for all submitted work: a sync point. */
  async workDone(): Promise<void> {
    this.counters.workDoneWaits++;
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Whether the device has an optional feature (it was asked for every one offered). */
  hasFeature(feature: OptionalFeature): boolean {
    return this.device.features.has(feature);
  }

  /** Whether this device can time kernels (the adapter offered timestamp-query). */
  get canProfile(): boolean {
    return KernelProfiler.supported(this.device);
  }

  /** Times every dispatch of the batches `work` submits; the kernels, slowest first. */
  async profile(work: () => Promise<void>): Promise<KernelProfile> {
    if (!this.canProfile) {
      throw new GpuError(
        'validation',
        `this adapter (${this.adapter.description || this.adapter.vendor || 'unknown'}) does not offer timestamp-query, so kernels cannot be timed`,
      );
    }
    if (this.profiler) throw new GpuError('validation', 'a kernel profile is already being taken');
    const profiler = new KernelProfiler(this.device);
    this.profiler = profiler;
    try {
      await work();
    } finally {
      this.profiler = null;
    }
    return profiler.result();
  }

  destroy(): void {
    this.device.destroy();
  }
}

// Node entry: WebGPU through Dawn (the `webgpu` npm package), WGSL read from shaders/.
//
// On a machine without a GPU, Dawn finds no Vulkan driver. Debian's chromium package
// ships SwiftShader (a CPU Vulkan driver); pointing VK_ICD_FILENAMES at it before Dawn
// starts gives a working (slow) adapter. `adapter: 'swiftshader'` forces that choice,
// 'auto' uses it only when no ICD is configured and no GPU device node exists.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { featuresToRequest, GpuContext, limitsToRequest, summariseAdapter } from '../context.ts';
import { GpuError } from '../errors.ts';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

export const shaderDirectory = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shaders');

export function readShader(name: string): string {
  const path = join(shaderDirectory, `${name}.wgsl`);
  if (!existsSync(path)) {
    throw new GpuError('shader-missing', `No WGSL file for kernel family "${name}" (looked for ${path})`);
  }
  return readFileSync(path, 'utf8');
}

function hasGpuDeviceNode(): boolean {
  try {
    if (readdirSync('/dev').some((f) => f.startsWith('nvidia'))) return true;
    return existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

export interface NodeGpuOptions {
  /** 'auto' (default, or $ROSA_WEBGPU_ADAPTER), 'swiftshader' (CPU Vulkan) or 'hardware'. */
  adapter?: 'auto' | 'swiftshader' | 'hardware';
  /** Dawn toggles such as 'disable_robustness' (benchmarks only). */
  toggles?: string[];
  powerPreference?: GPUPowerPreference;
}

function chooseSwiftShader(mode: 'auto' | 'swiftshader' | 'hardware'): string | null {
  if (mode === 'hardware') return null;
  if (mode === 'auto' && (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || hasGpuDeviceNode()))
    return null;
  const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (!icd && mode === 'swiftshader') {
    throw new GpuError(
      'no-adapter',
      `SwiftShader was requested but no vk_swiftshader_icd.json was found (looked in ${SWIFTSHADER_ICDS.join(', ')}). ` +
        'Install Debian\'s "chromium" package (apt-get install chromium libvulkan1).',
    );
  }
  return icd ?? null;
}

let dawnLoaded: Promise<typeof import('webgpu')> | null = null;
// Dawn's instance must outlive every device made from it: if the GPU object is garbage
// collected, its event loop hook dereferences freed memory and the process crashes.
const liveInstances: GPU[] = [];

export async function createNodeGpuContext(options: NodeGpuOptions = {}): Promise<GpuContext> {
  const envMode = process.env.ROSA_WEBGPU_ADAPTER as NodeGpuOptions['adapter'] | undefined;
  const mode = options.adapter ?? envMode ?? 'auto';
  const icd = chooseSwiftShader(mode);
  // The Vulkan loader reads this when Dawn creates its instance, so set it first.
  if (icd && !process.env.VK_ICD_FILENAMES) process.env.VK_ICD_FILENAMES = icd;

  dawnLoaded ??= import('webgpu');
  let dawn: typeof import('webgpu');
  try {
    dawn = await dawnLoaded;
  } catch (err) {
    throw new GpuError(
      'no-webgpu',
      `Could not load Dawn (the "webgpu" npm package): ${(err as Error).message}`,
    );
  }
  Object.assign(globalThis, dawn.globals);
  const flags: string[] = [];
  if (options.toggles && options.toggles.length > 0)
    flags.push(`enable-dawn-features=${options.toggles.join(',')}`);
  const gpu = dawn.create(flags);
  liveInstances.push(gpu);
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? 'high-performance',
  });
  if (!adapter) {
    throw new GpuError(
      'no-adapter',
      "Dawn found no WebGPU adapter. Without a GPU, install Debian's chromium and libvulkan1 packages " +
        `(SwiftShader); VK_ICD_FILENAMES is ${process.env.VK_ICD_FILENAMES ?? 'unset'}. ` +
        'Is libvulkan.so.1 installed (apt-get install libvulkan1)?',
    );
  }
  const device = await adapter.requestDevice({
    requiredLimits: limitsToRequest(adapter),
    requiredFeatures: featuresToRequest(adapter),
  });
  return new GpuContext(device, summariseAdapter(adapter, device, 'node'), readShader);
}

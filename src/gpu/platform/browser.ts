// Browser entry: navigator.gpu, WGSL bundled as text by Vite.

import { featuresToRequest, GpuContext, limitsToRequest, summariseAdapter } from '../context.ts';
import { GpuError } from '../errors.ts';

const shaderFiles = import.meta.glob('../../../shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

const shaders = new Map<string, string>();
for (const [path, text] of Object.entries(shaderFiles)) {
  const name = path
    .split('/')
    .pop()!
    .replace(/\.wgsl$/, '');
  shaders.set(name, text);
}

export function bundledShader(name: string): string {
  const text = shaders.get(name);
  if (text === undefined) {
    throw new GpuError(
      'shader-missing',
      `No WGSL kernel family "${name}" is bundled (have: ${[...shaders.keys()].join(', ')})`,
    );
  }
  return text;
}

export const WEBGPU_HELP =
  'This page needs WebGPU: use Chrome or Edge 113 or newer (desktop), or Chromium with ' +
  '--enable-unsafe-webgpu. On Linux also enable chrome://flags/#enable-vulkan. ' +
  'Firefox Nightly and Safari Technology Preview have WebGPU behind flags.';

export async function createBrowserGpuContext(): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new GpuError('no-webgpu', `navigator.gpu is missing. ${WEBGPU_HELP}`);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new GpuError(
      'no-adapter',
      'WebGPU is present but no adapter was offered (GPU blocklisted or disabled). ' +
        'Check chrome://gpu; on Linux try --enable-features=Vulkan or --use-webgpu-adapter=swiftshader.',
    );
  }
  const device = await adapter.requestDevice({
    requiredLimits: limitsToRequest(adapter),
    requiredFeatures: featuresToRequest(adapter),
  });
  return new GpuContext(device, summariseAdapter(adapter, device, 'browser'), bundledShader);
}

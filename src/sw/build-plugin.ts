// Vite plugin (build only): emits src/sw/service-worker.ts as sw.js beside index.html and
// writes the list of files to precache in front of it, so the worker changes byte for byte
// whenever the build does (which is how browsers notice an update).

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Plugin, ResolvedConfig } from 'vite';

export const SERVICE_WORKER_FILE = 'sw.js';
const SOURCE = 'src/sw/service-worker.ts';

/** Files under dir, as URL paths relative to it. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir);
  return out;
}

export function serviceWorkerPlugin(): Plugin {
  let config: ResolvedConfig;
  return {
    name: 'rosa-service-worker',
    apply: 'build',
    // After Vite's own build plugins, so that index.html is in the bundle.
    enforce: 'post',
    configResolved(resolved) {
      config = resolved;
    },
    buildStart() {
      this.emitFile({ type: 'chunk', id: SOURCE, fileName: SERVICE_WORKER_FILE });
    },
    generateBundle(_options, bundle) {
      const worker = bundle[SERVICE_WORKER_FILE];
      if (worker?.type !== 'chunk') this.error(`${SERVICE_WORKER_FILE} was not built`);
      if (worker.imports.length > 0)
        this.error(`${SERVICE_WORKER_FILE} must import nothing (it is a plain script)`);
      const built = Object.keys(bundle).filter((f) => f !== SERVICE_WORKER_FILE && !f.endsWith('.map'));
      const publicFiles = config.publicDir ? listFiles(config.publicDir) : [];
      const files = ['./', ...new Set([...built, ...publicFiles, 'index.html'])].sort();
      // Hashed names change with their content; index.html and the public files do not.
      const hash = createHash('sha256');
      for (const f of files) hash.update(`${f}\n`);
      for (const f of built) {
        const item = bundle[f];
        if (!/-[\w-]{8}\.\w+$/.test(f)) hash.update(item.type === 'chunk' ? item.code : item.source);
      }
      for (const f of publicFiles) hash.update(readFileSync(join(config.publicDir, f)));
      const manifest = { version: hash.digest('hex').slice(0, 16), files };
      worker.code = `const __PRECACHE_MANIFEST__ = ${JSON.stringify(manifest)};\n${worker.code}`;
      // One line more in front: shift the source map by one line.
      if (worker.map) worker.map.mappings = `;${worker.map.mappings}`;
    },
  };
}

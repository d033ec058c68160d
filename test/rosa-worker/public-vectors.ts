// Loads the public ROSA vectors (docs/rosa-spec.md §8), committed as test/vectors/rosa-public.json;
// $ROSA_VECTORS overrides it (e.g. to check a newer copy of the shared file).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RosaVector {
  x: number[];
  y: number[];
}
export interface RosaQkvVector {
  q: number[];
  k: number[];
  v: number[];
  y: number[];
  matchLen: number[];
}
export interface RosaTuningScanVector {
  bits: number;
  q: number[];
  k: number[];
  dest: number[];
  qRunId: number[];
  rcf: number[][][];
  kRunStart: number[];
  exactDest: number[];
}
export interface PublicVectors {
  rosa: RosaVector[];
  rosaQkv: RosaQkvVector[];
  rosaTuningScan: RosaTuningScanVector[];
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function loadPublicVectors(): PublicVectors {
  const candidates = [process.env.ROSA_VECTORS, resolve(repoRoot, 'test/vectors/rosa-public.json')].filter(
    (p): p is string => typeof p === 'string',
  );
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new Error(`rosa-public.json not found (looked in ${candidates.join(', ')})`);
  return JSON.parse(readFileSync(path, 'utf8')) as PublicVectors;
}

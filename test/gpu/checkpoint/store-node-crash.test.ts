// A save killed while writing must leave the previous checkpoint under that key loadable.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../../src/gpu/checkpoint/checkpoint.ts';
import { FileCheckpointStore } from '../../../src/gpu/checkpoint/store-node.ts';
import { tinyFiles } from './fixtures/tiny.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Resolves once some file in `dir` differs from `before` (name or size). */
async function firstChange(dir: string, before: Map<string, number>): Promise<void> {
  for (;;) {
    for (const name of await readdir(dir)) {
      const size = (await stat(join(dir, name)).catch(() => null))?.size;
      if (size !== undefined && before.get(name) !== size && size > 0) return;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('file checkpoint store', () => {
  it('keeps the old checkpoint when a save over it is killed midway', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-crash-'));
    dirs.push(dir);
    const store = new FileCheckpointStore(dir);
    const old = tinyFiles(3);
    await store.put('run-a', old);
    const before = new Map<string, number>();
    for (const name of await readdir(dir)) before.set(name, (await stat(join(dir, name))).size);

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/big-save.ts'), dir, 'run-a', '384'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const writing = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('writing')) resolve();
      }),
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_, sig) => resolve(sig)),
    );
    await writing;
    await firstChange(dir, before);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // The kill landed during the save, not after it.
    expect(out).not.toContain('done');

    const files = await store.get('run-a');
    const back = decodeCheckpoint(files.weights, files.manifest);
    expect(back.manifest.step).toBe(3);
    expect(files.weights).toEqual(old.weights);
    expect((await store.list()).map((c) => [c.key, c.step])).toEqual([['run-a', 3]]);
  });
});

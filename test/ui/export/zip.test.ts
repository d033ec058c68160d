// The stored zip writer, read back by Python's zipfile (an independent reader) and by the small
// reader the page tests use.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32, storedZip } from '../../../src/ui/export/zip.ts';
import { readStoredZip } from './read-zip.ts';

describe('storedZip', () => {
  it('computes the IEEE CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });

  it('writes an archive that Python reads back file by file', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) % 251);
    const files = { 'm/config.json': '{"a": "é"}\n', 'm/model.safetensors': bytes, 'm/empty.txt': '' };
    const zip = storedZip(files);
    const dir = mkdtempSync(join(tmpdir(), 'zip-'));
    try {
      writeFileSync(join(dir, 'a.zip'), zip);
      const script = [
        'import sys, zipfile, hashlib',
        'z = zipfile.ZipFile(sys.argv[1])',
        'assert z.testzip() is None',
        'for i in z.infolist(): print(i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest()[:12])',
      ].join('\n');
      const r = spawnSync('python3', ['-c', script, join(dir, 'a.zip')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
        'm/config.json 12',
        'm/model.safetensors 70000',
        'm/empty.txt 0',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const back = readStoredZip(zip);
    expect(new TextDecoder().decode(back['m/config.json'])).toBe(files['m/config.json']);
    expect(back['m/model.safetensors']).toEqual(bytes);
  });
});

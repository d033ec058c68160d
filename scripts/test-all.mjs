#!/usr/bin/env node
// Runs every test ring in order and prints how many tests each ran:
//   typecheck (tsc) → lint (biome) → unit (CPU) → kernels (WGSL on Dawn) → browser (Playwright + Chromium).
// Exits non-zero if any ring fails. `--only unit,kernels` runs a subset.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RINGS = [
  { name: 'typecheck', cmd: ['npx', 'tsc', '--noEmit', '-p', 'tsconfig.json'] },
  { name: 'lint', cmd: ['npx', 'biome', 'check', '.'] },
  { name: 'unit', vitest: 'unit' },
  { name: 'kernels', vitest: 'kernels' },
  { name: 'browser', vitest: 'browser' },
];

const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? new Set(process.argv[onlyArg + 1].split(',')) : null;
const scratch = mkdtempSync(join(tmpdir(), 'rosa-tests-'));
const summary = [];
let failed = false;

for (const ring of RINGS) {
  if (only && !only.has(ring.name)) continue;
  const started = Date.now();
  console.log(`\n━━ ${ring.name} ━━`);
  let cmd = ring.cmd;
  let report = null;
  if (ring.vitest) {
    report = join(scratch, `${ring.name}.json`);
    cmd = [
      'npx',
      'vitest',
      'run',
      '--project',
      ring.vitest,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
    ];
  }
  const result = spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  let counts = '';
  if (report) {
    try {
      const json = JSON.parse(readFileSync(report, 'utf8'));
      counts = `${json.numPassedTests} passed, ${json.numFailedTests} failed, ${json.numPendingTests + json.numTodoTests} skipped, ${json.numTotalTests} total`;
      if (json.numTotalTests === 0) counts += ' (NO TESTS RAN)';
      if (json.numPendingTests + json.numTodoTests > 0) {
        counts += ' — skipped tests are not allowed';
        failed = true;
      }
    } catch {
      counts = 'no report written';
    }
  }
  if (!ok) failed = true;
  summary.push(`${ok ? 'PASS' : 'FAIL'}  ${ring.name.padEnd(10)} ${seconds.padStart(7)} s  ${counts}`);
}

rmSync(scratch, { recursive: true, force: true });
console.log('\n━━ summary ━━');
for (const line of summary) console.log(line);
process.exit(failed ? 1 : 0);

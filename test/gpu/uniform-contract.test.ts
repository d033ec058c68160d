// The contract between TypeScript and WGSL, checked without a GPU: every uniform struct of
// shaders/*.wgsl against the layout of the wrapper that fills it, and the limits the loader
// appends as `const` declarations against the TypeScript constants they come from.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CommandBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { ADAMW_NORM_PARAMS, ADAMW_UPDATE_PARAMS } from '../../src/gpu/ops/adamw.ts';
import { ATTENTION_MAX_HEAD_DIM, ATTENTION_MAX_TILE, ATTENTION_ROWS } from '../../src/gpu/ops/attention.ts';
import { LAGKV_MAX_CHUNK, LRSA_MAX_HEAD_DIM } from '../../src/gpu/ops/lrsa.ts';
import { MATMUL_TILE } from '../../src/gpu/ops/matmul.ts';
import { ROSA_PACK_PARAMS } from '../../src/gpu/ops/rosa.ts';
import {
  completeShader,
  generatedDeclarations,
  SHADER_CONSTANTS,
} from '../../src/gpu/ops/shader-constants.ts';
import { SWIGLU_PARAMS } from '../../src/gpu/ops/swiglu.ts';
import { type UniformDeclaration, UniformLayout, uniformLayout } from '../../src/gpu/ops/uniforms.ts';
import { shaderDirectory } from '../../src/gpu/platform/node.ts';
import { ROSA_MAX_BITS } from '../../src/rosa-worker/layout.ts';
import {
  compareStruct,
  declares,
  entryPointProblems,
  parseStructs,
  uniformContractProblems,
  uniformStructNames,
  uniformStructsByEntryPoint,
  uses,
} from './wgsl-contract.ts';

const shaders = new Map(
  readdirSync(shaderDirectory)
    .filter((f) => f.endsWith('.wgsl'))
    .sort()
    .map((f) => [f.replace(/\.wgsl$/, ''), readFileSync(join(shaderDirectory, f), 'utf8')] as const),
);

const opsDirectory = join(shaderDirectory, '..', 'src', 'gpu', 'ops');

/** Every UniformLayout exported by a module of src/gpu/ops/. */
async function exportedLayouts(): Promise<UniformDeclaration[]> {
  const layouts: UniformDeclaration[] = [];
  for (const file of readdirSync(opsDirectory).filter((f) => f.endsWith('.ts'))) {
    const module: Record<string, unknown> = await import(pathToFileURL(join(opsDirectory, file)).href);
    for (const value of Object.values(module)) {
      if (value instanceof UniformLayout) layouts.push(value);
    }
  }
  return layouts;
}

describe('uniform structs: WGSL and TypeScript agree', () => {
  it('every uniform struct of every shader has exactly one matching layout, and every layout a struct', async () => {
    const layouts = await exportedLayouts();
    expect(uniformContractProblems(shaders, layouts)).toEqual([]);
    // All 17 shaders have a uniform block; adamw has two (NormParams, UpdateParams).
    const structs = [...shaders].flatMap(([name, text]) =>
      uniformStructNames(text).map((s) => `${name}/${s}`),
    );
    expect(structs.length).toBe(18);
    expect(layouts.map((l) => `${l.shader}/${l.struct}`).sort()).toEqual(structs.sort());
  });

  it('reports a layout that disagrees: order, type, missing and extra fields', () => {
    const struct = parseStructs(shaders.get('rosa-pack')!).get('Params')!;
    expect(compareStruct(struct, ROSA_PACK_PARAMS)).toEqual([]);
    const swapped = uniformLayout('rosa-pack', 'Params', {
      T: 'u32',
      B: 'u32',
      C: 'u32',
      bits: 'f32',
      routes: 'u32',
      words: 'u32',
      extra: 'u32',
    });
    expect(compareStruct(struct, swapped)).toEqual([
      'rosa-pack.wgsl struct Params: field bits is u32 in WGSL, f32 in TypeScript',
      'rosa-pack.wgsl struct Params: field total is not in the TypeScript layout',
      'rosa-pack.wgsl struct Params: TypeScript field extra is not in the struct',
      'rosa-pack.wgsl struct Params: field order is B, T, C, bits, routes, words in WGSL, T, B, C, bits, routes, words in TypeScript',
    ]);
  });

  it('reports a shader whose uniform struct has no layout, and a layout without a struct', () => {
    const orphan = new Map([
      ['orphan', 'struct Params { n: u32, }\n@group(0) @binding(0) var<uniform> p: Params;\n'],
    ]);
    expect(uniformContractProblems(orphan, [SWIGLU_PARAMS])).toEqual([
      "orphan.wgsl: uniform struct Params has no TypeScript layout (uniformLayout('orphan', 'Params', …))",
      'layout swiglu/Params fills no var<uniform> struct of shaders/',
    ]);
  });

  it('shaders with several uniform structs: each layout names the entry points that use its struct', () => {
    const adamw = shaders.get('adamw')!;
    expect(Object.fromEntries(uniformStructsByEntryPoint(adamw))).toEqual({
      sum_squares: ['NormParams'],
      finish_norm: ['NormParams'],
      update: ['UpdateParams'],
    });
    expect(entryPointProblems('adamw', adamw, [ADAMW_NORM_PARAMS, ADAMW_UPDATE_PARAMS])).toEqual([]);
    const wrong = uniformLayout('adamw', 'NormParams', ADAMW_NORM_PARAMS.fields, ['sum_squares', 'update']);
    const unnamed = uniformLayout('adamw', 'UpdateParams', ADAMW_UPDATE_PARAMS.fields);
    expect(entryPointProblems('adamw', adamw, [wrong, unnamed])).toEqual([
      'adamw/NormParams: the layout names entry points sum_squares, update; the struct is used by finish_norm, sum_squares',
      'adamw/UpdateParams: the shader has several uniform structs; name the entry points (update)',
    ]);
    const both = `${adamw}\n@compute @workgroup_size(1)\nfn both() { let a = np.n + helper(); }\nfn helper() -> u32 { return up.n; }\n`;
    expect(entryPointProblems('adamw', both, [])).toEqual([
      'adamw.wgsl: entry point both uses NormParams and UpdateParams',
    ]);
  });

  it('parses fields past comments and attributes', () => {
    const source = `
      /* struct Old { x: f32 } */
      struct Params {
        a: u32, // first
        @align(16) b: vec2<f32>,
      }
      @group(0) @binding(0) var<uniform> params : Params;`;
    expect(uniformStructNames(source)).toEqual(['Params']);
    expect(parseStructs(source).get('Params')!.fields).toEqual([
      { name: 'a', type: 'u32', attributes: [] },
      { name: 'b', type: 'vec2<f32>', attributes: ['@align(16)'] },
    ]);
    expect([...parseStructs(source).keys()]).toEqual(['Params']);
  });
});

describe('uniform layouts pack named records', () => {
  it('writes each field as its declared WGSL type, in declaration order', () => {
    const layout = uniformLayout('x', 'P', { n: 'u32', alpha: 'f32', shift: 'i32' });
    const block = layout.pack({ shift: -3, alpha: 0.1, n: 4_000_000_000 });
    const view = new DataView(block.bytes);
    expect(block.bytes.byteLength).toBe(12);
    expect(view.getUint32(0, true)).toBe(4_000_000_000);
    expect(view.getFloat32(4, true)).toBe(Math.fround(0.1));
    expect(view.getInt32(8, true)).toBe(-3);
    expect([block.shader, block.struct]).toEqual(['x', 'P']);
  });

  it('rejects values the type cannot hold, and missing or extra fields (also at compile time)', () => {
    const layout = uniformLayout('x', 'P', { n: 'u32', shift: 'i32' });
    expect(() => layout.pack({ n: -1, shift: 0 })).toThrow(/x\/P\.n is -1; a u32/);
    expect(() => layout.pack({ n: 1.5, shift: 0 })).toThrow(/x\/P\.n is 1\.5/);
    expect(() => layout.pack({ n: 0, shift: 2 ** 31 })).toThrow(/x\/P\.shift/);
    // @ts-expect-error a missing field does not compile
    expect(() => layout.pack({ n: 1 })).toThrow(/field "shift" is missing/);
    // @ts-expect-error an extra field does not compile
    expect(() => layout.pack({ n: 1, shift: 0, extra: 2 })).toThrow(/no field "extra"/);
    expect(() => uniformLayout('x', 'P', { b: 'u32', 0: 'u32' })).toThrow(/"0" is not a WGSL identifier/);
  });

  it('a batch refuses uniforms packed for another shader', () => {
    const ctx = {
      limits: { maxComputeWorkgroupsPerDimension: 65535, minUniformBufferOffsetAlignment: 256 },
    } as unknown as GpuContext;
    const batch = new CommandBatch(ctx, 'test');
    expect(() =>
      batch.dispatch({
        shader: 'swiglu',
        uniforms: ROSA_PACK_PARAMS.pack({ B: 1, T: 1, C: 1, bits: 1, routes: 1, words: 1, total: 1 }),
        buffers: [],
        workgroups: [1],
      }),
    ).toThrow(/packed for rosa-pack\/Params, dispatched to swiglu/);
    const norm = ADAMW_NORM_PARAMS.pack({ n: 1, slot: 0, maxNorm: 0, clip: 0 });
    expect(() =>
      batch.dispatch({ shader: 'adamw', entryPoint: 'update', uniforms: norm, buffers: [], workgroups: [1] }),
    ).toThrow(/packed as NormParams, which adamw\/update does not bind/);
  });
});

describe('limits reach WGSL from TypeScript', () => {
  it('every listed shader exists, uses each generated name and declares none itself', () => {
    const problems: string[] = [];
    for (const [shader, constants] of Object.entries(SHADER_CONSTANTS)) {
      const source = shaders.get(shader);
      if (source === undefined) {
        problems.push(`${shader}: no shaders/${shader}.wgsl`);
        continue;
      }
      for (const name of Object.keys(constants)) {
        if (declares(source, name))
          problems.push(`${shader}.wgsl declares ${name}, which the loader generates`);
        if (!uses(source, name)) problems.push(`${shader}.wgsl never uses the generated ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the generated declarations carry the TypeScript values', () => {
    const parsed = (shader: string) =>
      Object.fromEntries(
        [...generatedDeclarations(shader).matchAll(/const (\w+): u32 = (\d+)u;/g)].map((m) => [
          m[1],
          Number(m[2]),
        ]),
      );
    for (const shader of Object.keys(SHADER_CONSTANTS))
      expect(parsed(shader)).toEqual(SHADER_CONSTANTS[shader]);
    expect(parsed('attention')).toEqual({
      ROWS: ATTENTION_ROWS,
      MAX_HEAD_DIM: ATTENTION_MAX_HEAD_DIM,
      MAX_TILE: ATTENTION_MAX_TILE,
    });
    expect(parsed('lrsa-select')).toMatchObject({
      MAX_CHUNK: LAGKV_MAX_CHUNK,
      MAX_HEAD_DIM: LRSA_MAX_HEAD_DIM,
    });
    expect(parsed('rosa-grad')).toMatchObject({ MAX_BITS: ROSA_MAX_BITS });
    expect(parsed('matmul')).toEqual({ TILE: MATMUL_TILE });
    expect(generatedDeclarations('cross-entropy')).toBe('');
  });

  it('the loader appends them after the file, keeping its line numbers', () => {
    const source = shaders.get('attention')!;
    const code = completeShader('attention', source);
    expect(code.startsWith(source)).toBe(true);
    expect(code).toContain(`const MAX_HEAD_DIM: u32 = ${ATTENTION_MAX_HEAD_DIM}u;`);
    expect(completeShader('cross-entropy', shaders.get('cross-entropy')!)).toBe(shaders.get('cross-entropy'));
  });

  it('no workgroup size is a bare number (each comes from a named constant or an override)', () => {
    const literal = [...shaders].flatMap(([name, text]) =>
      [...text.matchAll(/@workgroup_size\(([^)]*)\)/g)]
        .filter((m) => m[1].split(',').some((a) => /^\s*\d+u?\s*$/.test(a) && a.trim() !== '1'))
        .map((m) => `${name}.wgsl: ${m[0]}`),
    );
    expect(literal).toEqual([]);
  });
});

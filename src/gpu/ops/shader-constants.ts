// Limits that both a wrapper and its kernel depend on (workgroup sizes, private array sizes,
// tile sizes) are TypeScript constants exported by the op modules. WGSL needs some of them as
// const-expressions (private and workgroup array sizes cannot use `override`), so the loader
// (GpuContext.shaderModule, the same path in Node and the browser) appends a `const`
// declaration for each one listed here. Shaders declare none of these names themselves;
// test/gpu/uniform-contract.test.ts checks that.

import { ROSA_MAX_BITS } from '../../rosa-worker/layout.ts';
import { GpuError } from '../errors.ts';
import { ADAMW_WORKGROUP } from './adamw.ts';
import { ATTENTION_MAX_HEAD_DIM, ATTENTION_MAX_TILE, ATTENTION_ROWS } from './attention.ts';
import { BIAS_WORKGROUP } from './bias.ts';
import { ELEMENTWISE_WORKGROUP } from './elementwise.ts';
import { EMBEDDING_WORKGROUP } from './embedding.ts';
import {
  LAGKV_MAX_CHUNK,
  LAGKV_WORKGROUP,
  LRSA_MAX_HEAD_DIM,
  LRSA_MAX_KEY_TILE,
  LRSA_PREP_WORKGROUP,
  LRSA_STAGE_FLOATS,
} from './lrsa.ts';
import { MATMUL_TILE } from './matmul.ts';
import { REPEAT_KV_WORKGROUP } from './repeat-kv.ts';
import { RMSNORM_WORKGROUP } from './rmsnorm.ts';
import { ROPE_WORKGROUP } from './rope.ts';
import { ROSA_E_CHANNELS, ROSA_E_FINAL_WORKGROUP, ROSA_E_ROW_LANES, ROSA_WORKGROUP } from './rosa.ts';
import { ROSA_LANE_WORKGROUP } from './rosa-scan-outputs.ts';
import { shaderFamily } from './shader-variants.ts';
import { SWIGLU_WORKGROUP } from './swiglu.ts';

/** Per shader family: WGSL name → u32 value. */
export const SHADER_CONSTANTS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  adamw: { WG: ADAMW_WORKGROUP },
  attention: { ROWS: ATTENTION_ROWS, MAX_HEAD_DIM: ATTENTION_MAX_HEAD_DIM, MAX_TILE: ATTENTION_MAX_TILE },
  bias: { WG: BIAS_WORKGROUP },
  elementwise: { WG: ELEMENTWISE_WORKGROUP },
  embedding: { WG: EMBEDDING_WORKGROUP },
  'lrsa-attention': {
    MAX_HEAD_DIM: LRSA_MAX_HEAD_DIM,
    MAX_KEY_TILE: LRSA_MAX_KEY_TILE,
    STAGE: LRSA_STAGE_FLOATS,
    PREP_WG: LRSA_PREP_WORKGROUP,
  },
  'lrsa-select': { GROUP: LAGKV_WORKGROUP, MAX_CHUNK: LAGKV_MAX_CHUNK, MAX_HEAD_DIM: LRSA_MAX_HEAD_DIM },
  matmul: { TILE: MATMUL_TILE },
  'repeat-kv': { WG: REPEAT_KV_WORKGROUP },
  rmsnorm: { WG: RMSNORM_WORKGROUP },
  rope: { WG: ROPE_WORKGROUP },
  'rosa-grad': {
    WG: ROSA_WORKGROUP,
    MAX_BITS: ROSA_MAX_BITS,
    E_CHANNELS: ROSA_E_CHANNELS,
    E_ROW_LANES: ROSA_E_ROW_LANES,
    E_FINAL_WG: ROSA_E_FINAL_WORKGROUP,
  },
  'rosa-inject': { WG: ROSA_WORKGROUP },
  'rosa-pack': { WG: ROSA_WORKGROUP },
  'rosa-scan-outputs': { WG: ROSA_WORKGROUP, LANE_WG: ROSA_LANE_WORKGROUP },
  swiglu: { WG: SWIGLU_WORKGROUP },
};

/** The `const` declarations appended to shaders/<shader>.wgsl ('' when it has none). */
export function generatedDeclarations(shader: string): string {
  const constants = SHADER_CONSTANTS[shader];
  if (!constants) return '';
  const lines = Object.entries(constants).map(([name, value]) => {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new GpuError('validation', `${shader}: constant ${name} = ${value} is not a u32`);
    }
    return `const ${name}: u32 = ${value}u;`;
  });
  return `${lines.join('\n')}\n`;
}

/**
 * The WGSL the device compiles: the file's text, then the generated constants. WGSL allows
 * module-scope declarations in any order, and appending keeps the file's line numbers in
 * compiler messages.
 */
export function completeShader(shader: string, source: string): string {
  const declarations = generatedDeclarations(shaderFamily(shader));
  if (declarations === '') return source;
  return `${source.endsWith('\n') ? source : `${source}\n`}\n// Generated from src/gpu/ops/shader-constants.ts\n${declarations}`;
}

// Uniform blocks as named records. Each wrapper declares, once, the fields of the WGSL
// struct it fills (names, order, scalar types) and packs records through that declaration,
// so no call site lists words by position or wraps floats by hand. The contract test
// (test/gpu/uniform-contract.test.ts) parses every shader's uniform structs and checks them
// against these declarations.

import { GpuError } from '../errors.ts';

/** The scalar types a uniform field may have; each takes one 4-byte word. */
export type WgslScalar = 'u32' | 'i32' | 'f32';

export type UniformFields = Readonly<Record<string, WgslScalar>>;

/** A record with exactly the declared fields, each a number. */
export type UniformValues<F extends UniformFields> = { readonly [K in keyof F]: number };

/** A uniform struct's bytes, packed from a record by its layout; what a dispatch binds at @binding(0). */
export interface UniformBlock {
  /** The shader family and struct this block fills (the batch checks the shader). */
  readonly shader: string;
  readonly struct: string;
  /** The entry points that bind this struct, when the shader has several uniform structs. */
  readonly entryPoints?: readonly string[];
  /** Little-endian 4-byte words in declaration order. */
  readonly bytes: ArrayBuffer;
}

/** What a layout declares, without its typed pack(): what the contract test compares with WGSL. */
export interface UniformDeclaration {
  readonly shader: string;
  readonly struct: string;
  readonly fields: UniformFields;
  readonly names: readonly string[];
  readonly entryPoints?: readonly string[];
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

export class UniformLayout<F extends UniformFields> implements UniformDeclaration {
  readonly shader: string;
  readonly struct: string;
  readonly fields: F;
  /** Field names in declaration (= WGSL) order. */
  readonly names: ReadonlyArray<keyof F & string>;
  readonly entryPoints?: readonly string[];

  constructor(shader: string, struct: string, fields: F, entryPoints?: readonly string[]) {
    const names = Object.keys(fields);
    // JavaScript lists integer-like keys first, whatever the declaration order.
    const numeric = names.find((n) => ARRAY_INDEX.test(n));
    if (numeric !== undefined) {
      throw new GpuError(
        'validation',
        `${shader}/${struct}: field name "${numeric}" is not a WGSL identifier`,
      );
    }
    this.shader = shader;
    this.struct = struct;
    this.fields = fields;
    this.names = names as Array<keyof F & string>;
    if (entryPoints) this.entryPoints = entryPoints;
  }

  /** Bytes of the struct (4 per field; WGSL gives scalar-only structs no padding). */
  get size(): number {
    return 4 * this.names.length;
  }

  /** Packs a record; throws on a value its WGSL type cannot hold, or on a missing or extra field. */
  pack(values: UniformValues<F>): UniformBlock {
    const where = `${this.shader}/${this.struct}`;
    const given = values as Readonly<Record<string, number>>;
    for (const key of Object.keys(given)) {
      if (!Object.hasOwn(this.fields, key)) throw new GpuError('validation', `${where}: no field "${key}"`);
    }
    const bytes = new ArrayBuffer(this.size);
    const view = new DataView(bytes);
    this.names.forEach((name, i) => {
      const value = given[name];
      const type = this.fields[name];
      if (typeof value !== 'number') throw new GpuError('validation', `${where}: field "${name}" is missing`);
      writeScalar(view, 4 * i, type, value, `${where}.${name}`);
    });
    return { shader: this.shader, struct: this.struct, entryPoints: this.entryPoints, bytes };
  }
}

function writeScalar(view: DataView, at: number, type: WgslScalar, value: number, what: string): void {
  if (type === 'f32') {
    view.setFloat32(at, value, true);
    return;
  }
  const [lo, hi] = type === 'u32' ? [0, 0xffffffff] : [-0x80000000, 0x7fffffff];
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new GpuError('validation', `${what} is ${value}; a ${type} must be a whole number in ${lo}..${hi}`);
  }
  if (type === 'u32') view.setUint32(at, value, true);
  else view.setInt32(at, value, true);
}

/**
 * Declares the uniform struct `struct` of shaders/<shader>.wgsl: its fields in WGSL order with
 * their types. `const` keeps the literal keys, so pack() demands exactly these fields. A shader
 * with several uniform structs (all at @binding(0)) names the entry points that bind each.
 */
export function uniformLayout<const F extends UniformFields>(
  shader: string,
  struct: string,
  fields: F,
  entryPoints?: readonly string[],
): UniformLayout<F> {
  return new UniformLayout(shader, struct, fields, entryPoints);
}

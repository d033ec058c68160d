// Reads the parts of a WGSL module that TypeScript must agree with: the uniform structs
// (the structs of `var<uniform>` declarations: field names, order, types) and the module-scope
// names it declares. Enough WGSL for this repository's shaders, not a general parser.

import type { UniformDeclaration } from '../../src/gpu/ops/uniforms.ts';

export interface WgslField {
  name: string;
  /** The type as written, e.g. 'u32', 'vec2<f32>'. */
  type: string;
  /** Attributes such as @align(16), which would move fields off the 4-byte packing. */
  attributes: string[];
}

export interface WgslStruct {
  name: string;
  fields: WgslField[];
}

/** The text without comments (line and block; WGSL block comments nest). */
export function stripComments(source: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const two = source.slice(i, i + 2);
    if (two === '/*') {
      depth++;
      i++;
    } else if (two === '*/' && depth > 0) {
      depth--;
      i++;
    } else if (depth > 0) {
      if (source[i] === '\n') out += '\n';
    } else if (two === '//') {
      while (i < source.length && source[i] !== '\n') i++;
      out += '\n';
    } else out += source[i];
  }
  return out;
}

export function parseStructs(source: string): Map<string, WgslStruct> {
  const text = stripComments(source);
  const structs = new Map<string, WgslStruct>();
  for (const m of text.matchAll(/\bstruct\s+([A-Za-z_]\w*)\s*\{([^}]*)\}/g)) {
    const fields = m[2]
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '')
      .map((f): WgslField => {
        const attributes = [...f.matchAll(/@\w+(\([^)]*\))?/g)].map((a) => a[0]);
        const bare = f.replace(/@\w+(\([^)]*\))?/g, '').trim();
        const colon = bare.indexOf(':');
        return { name: bare.slice(0, colon).trim(), type: bare.slice(colon + 1).trim(), attributes };
      });
    structs.set(m[1], { name: m[1], fields });
  }
  return structs;
}

/** Names of the struct types bound as `var<uniform>`. */
export function uniformStructNames(source: string): string[] {
  return [...new Set(uniformVariables(stripComments(source)).values())];
}

/** Uniform variable name → its struct type. */
function uniformVariables(text: string): Map<string, string> {
  return new Map(
    [...text.matchAll(/var\s*<\s*uniform\s*>\s*([A-Za-z_]\w*)\s*:\s*([A-Za-z_]\w*)\s*;/g)].map((m) => [
      m[1],
      m[2],
    ]),
  );
}

/** Function name → its body and whether it is a compute entry point. */
function functions(text: string): Map<string, { body: string; entry: boolean }> {
  const out = new Map<string, { body: string; entry: boolean }>();
  for (const m of text.matchAll(/(@compute[^;{}]*?)?\bfn\s+([A-Za-z_]\w*)\s*\(/g)) {
    let at = text.indexOf('{', m.index + m[0].length);
    const start = at;
    let depth = 0;
    for (; at < text.length; at++) {
      if (text[at] === '{') depth++;
      else if (text[at] === '}' && --depth === 0) break;
    }
    out.set(m[2], { body: text.slice(start, at + 1), entry: m[1] !== undefined });
  }
  return out;
}

/** Entry point → the uniform structs it statically uses (through the functions it calls). */
export function uniformStructsByEntryPoint(source: string): Map<string, string[]> {
  const text = stripComments(source);
  const variables = uniformVariables(text);
  const fns = functions(text);
  const identifiers = (body: string) => new Set(body.match(/[A-Za-z_]\w*/g) ?? []);
  const result = new Map<string, string[]>();
  for (const [name, fn] of fns) {
    if (!fn.entry) continue;
    const seen = new Set<string>([name]);
    const pending = [name];
    const structs = new Set<string>();
    while (pending.length > 0) {
      for (const id of identifiers(fns.get(pending.pop()!)!.body)) {
        const struct = variables.get(id);
        if (struct !== undefined) structs.add(struct);
        if (fns.has(id) && !seen.has(id)) {
          seen.add(id);
          pending.push(id);
        }
      }
    }
    result.set(name, [...structs].sort());
  }
  return result;
}

/** Module-scope (and any other) declarations of `name`: const, override, var, let, fn, struct, alias. */
export function declares(source: string, name: string): boolean {
  const text = stripComments(source);
  return new RegExp(
    `\\b(const|override|let|fn|struct|alias)\\s+${name}\\b|\\bvar(\\s*<[^>]*>)?\\s+${name}\\b`,
  ).test(text);
}

export function uses(source: string, name: string): boolean {
  return new RegExp(`\\b${name}\\b`).test(stripComments(source));
}

/** Disagreements between a WGSL struct and the TypeScript layout that fills it (empty when none). */
export function compareStruct(struct: WgslStruct, layout: UniformDeclaration): string[] {
  const where = `${layout.shader}.wgsl struct ${struct.name}`;
  const problems: string[] = [];
  const wgsl = struct.fields.map((f) => f.name);
  const ts = [...layout.names];
  for (const f of struct.fields) {
    if (f.attributes.length > 0)
      problems.push(`${where}: field ${f.name} has ${f.attributes.join(' ')}; layouts pack 4-byte words`);
    if (!ts.includes(f.name)) problems.push(`${where}: field ${f.name} is not in the TypeScript layout`);
    else if (layout.fields[f.name] !== f.type)
      problems.push(`${where}: field ${f.name} is ${f.type} in WGSL, ${layout.fields[f.name]} in TypeScript`);
  }
  for (const name of ts) {
    if (!wgsl.includes(name)) problems.push(`${where}: TypeScript field ${name} is not in the struct`);
  }
  const common = (list: string[], other: string[]) => list.filter((n) => other.includes(n));
  const wgslOrder = common(wgsl, ts);
  const tsOrder = common(ts, wgsl);
  if (wgslOrder.join() !== tsOrder.join())
    problems.push(
      `${where}: field order is ${wgslOrder.join(', ')} in WGSL, ${tsOrder.join(', ')} in TypeScript`,
    );
  return problems;
}

/**
 * Checks every uniform struct of every shader against the layouts: each must have exactly one
 * layout and agree with it, and each layout must fill a uniform struct that exists.
 */
export function uniformContractProblems(
  shaders: ReadonlyMap<string, string>,
  layouts: ReadonlyArray<UniformDeclaration>,
): string[] {
  const problems: string[] = [];
  const key = (shader: string, struct: string) => `${shader}/${struct}`;
  const byKey = new Map<string, UniformDeclaration[]>();
  for (const l of layouts)
    byKey.set(key(l.shader, l.struct), [...(byKey.get(key(l.shader, l.struct)) ?? []), l]);
  const filled = new Set<string>();
  for (const [shader, source] of shaders) {
    const structs = parseStructs(source);
    for (const name of uniformStructNames(source)) {
      const k = key(shader, name);
      filled.add(k);
      const struct = structs.get(name);
      const registered = byKey.get(k) ?? [];
      if (!struct) problems.push(`${shader}.wgsl: uniform type ${name} is not a struct declared in the file`);
      else if (registered.length === 0)
        problems.push(
          `${shader}.wgsl: uniform struct ${name} has no TypeScript layout (uniformLayout('${shader}', '${name}', …))`,
        );
      else if (registered.length > 1)
        problems.push(`${shader}.wgsl: uniform struct ${name} has ${registered.length} layouts`);
      else problems.push(...compareStruct(struct, registered[0]));
    }
  }
  for (const k of byKey.keys()) {
    if (!filled.has(k)) problems.push(`layout ${k} fills no var<uniform> struct of shaders/`);
  }
  for (const [shader, source] of shaders) problems.push(...entryPointProblems(shader, source, layouts));
  return problems;
}

/**
 * Every uniform struct sits at @binding(0), so an entry point may use only one, and where a shader
 * has several, each layout must name exactly the entry points that use its struct (the batch
 * refuses a block for any other).
 */
export function entryPointProblems(
  shader: string,
  source: string,
  layouts: ReadonlyArray<UniformDeclaration>,
): string[] {
  const problems: string[] = [];
  const byEntry = uniformStructsByEntryPoint(source);
  for (const [entry, structs] of byEntry) {
    if (structs.length > 1)
      problems.push(`${shader}.wgsl: entry point ${entry} uses ${structs.join(' and ')}`);
  }
  const several = uniformStructNames(source).length > 1;
  for (const layout of layouts.filter((l) => l.shader === shader)) {
    const users = [...byEntry]
      .filter(([, structs]) => structs.includes(layout.struct))
      .map(([entry]) => entry);
    if (!layout.entryPoints) {
      if (several)
        problems.push(
          `${shader}/${layout.struct}: the shader has several uniform structs; name the entry points (${users.join(', ')})`,
        );
    } else if ([...layout.entryPoints].sort().join() !== users.sort().join()) {
      problems.push(
        `${shader}/${layout.struct}: the layout names entry points ${layout.entryPoints.join(', ')}; the struct is used by ${users.join(', ')}`,
      );
    }
  }
  return problems;
}

/**
 * Finds the schema that applies at a field path, so error messages can quote a
 * field's hint (its `.describe()` text) and list the keys allowed beside it.
 * zod 4 exposes its definitions on `schema._zod.def`; we read only `type`,
 * `shape`, `element`, `innerType`, `options` and `discriminator`.
 */
import type * as z from 'zod';

type AnySchema = z.core.$ZodType;
type Def = {
  type: string;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  innerType?: AnySchema;
  options?: AnySchema[];
  discriminator?: string;
  values?: unknown[];
};

const def = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

function describe(s: AnySchema): string | undefined {
  return (s as unknown as { description?: string }).description;
}

/** Unwrap optional/default/nullable wrappers, keeping the first description met. */
function unwrap(s: AnySchema): { schema: AnySchema; description?: string } {
  let description = describe(s);
  let cur = s;
  for (;;) {
    const d = def(cur);
    if (d.innerType && ['optional', 'default', 'nullable', 'readonly', 'prefault', 'nonoptional'].includes(d.type)) {
      cur = d.innerType;
      description ??= describe(cur);
    } else return { schema: cur, description };
  }
}

/** For a discriminated union, the option whose discriminator matches `value`'s. */
function pickOption(union: AnySchema, value: unknown): AnySchema | undefined {
  const d = def(union);
  if (!d.options) return undefined;
  const key = d.discriminator;
  if (!key || typeof value !== 'object' || value === null) return undefined;
  const wanted = (value as Record<string, unknown>)[key];
  return d.options.find((o) => {
    const lit = def(o).shape?.[key];
    return lit !== undefined && (def(lit).values ?? []).includes(wanted);
  });
}

export interface SchemaAt {
  schema: AnySchema;
  description?: string;
}

/** The schema at `path` inside `root`, given the raw data (to choose union options). */
export function schemaAt(root: AnySchema, path: readonly PropertyKey[], data: unknown): SchemaAt | undefined {
  let cur: SchemaAt = unwrap(root);
  let value = data;
  for (const key of path) {
    let s = cur.schema;
    if (def(s).type === 'union') {
      const picked = pickOption(s, value);
      if (!picked) return undefined;
      s = unwrap(picked).schema;
    }
    const d = def(s);
    let next: AnySchema | undefined;
    if (d.type === 'object' && typeof key === 'string') next = d.shape?.[key];
    else if (d.type === 'array') next = d.element;
    if (!next) return undefined;
    cur = unwrap(next);
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  if (def(cur.schema).type === 'union') {
    const picked = pickOption(cur.schema, value);
    if (picked) return { schema: unwrap(picked).schema, description: cur.description };
  }
  return cur;
}

/** The keys an object schema allows, or [] when it is not an object. */
export function allowedKeys(s: AnySchema | undefined): string[] {
  if (!s) return [];
  const d = def(unwrap(s).schema);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The candidate nearest to `word`, if near enough to be a likely typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

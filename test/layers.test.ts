/**
 * The layering rule in biome.jsonc holds, and would catch a break: Biome is run on a copy
 * of src/ as it is (no finding), then with an upward import and with a cycle added.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const run = promisify(execFile);
const BIOME = path.join(ROOT, 'node_modules', '.bin', 'biome');

/** Biome's findings of the two layering rules in `dir`, as "file rule" lines. */
async function layerFindings(dir: string): Promise<string[]> {
  const { stdout } = await run(BIOME, ['lint', '--reporter=json', '--max-diagnostics=none', 'src'], { cwd: dir, maxBuffer: 32 << 20 }).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
  );
  const report = JSON.parse(stdout) as { diagnostics: { category: string; location: { path: string } }[] };
  return report.diagnostics
    .filter((d) => /noImportCycles|noRestrictedImports/.test(d.category))
    .map((d) => `${d.location.path} ${d.category}`)
    .sort();
}

describe('the import layers (biome.jsonc)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'newsletter-layers-'));
    await cp(path.join(ROOT, 'src'), path.join(dir, 'src'), { recursive: true });
    await cp(path.join(ROOT, 'biome.jsonc'), path.join(dir, 'biome.jsonc'));
    await cp(path.join(ROOT, '.gitignore'), path.join(dir, '.gitignore'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('src/ as it is: no import points upwards and there is no cycle', async () => {
    expect(await layerFindings(dir)).toEqual([]);
  });

  it('an import from issue/ up into render/, and one from render/ into check/, are errors', async () => {
    const schema = path.join(dir, 'src', 'issue', 'schema.ts');
    const markdown = path.join(dir, 'src', 'render', 'markdown.ts');
    const [before, beforeMd] = await Promise.all([readFile(schema, 'utf8'), readFile(markdown, 'utf8')]);
    await writeFile(schema, `import { renderMarkdown } from '../render/markdown.js';\nexport const leak = renderMarkdown;\n${before}`);
    await writeFile(markdown, `import type { Rule } from '../check/types.js';\nexport type Leak = Rule;\n${beforeMd}`);
    try {
      const found = await layerFindings(dir);
      expect(found.some((f) => f.includes('issue/schema.ts') && f.includes('noRestrictedImports'))).toBe(true);
      expect(found.some((f) => f.includes('render/markdown.ts') && f.includes('noRestrictedImports'))).toBe(true);
    } finally {
      await Promise.all([writeFile(schema, before), writeFile(markdown, beforeMd)]);
    }
  });

  it('a cycle, even of type-only imports, is an error', async () => {
    const a = path.join(dir, 'src', 'send', 'cycle-a.ts');
    const b = path.join(dir, 'src', 'send', 'cycle-b.ts');
    await writeFile(a, "import type { B } from './cycle-b.js';\nexport type A = { b?: B };\n");
    await writeFile(b, "import type { A } from './cycle-a.js';\nexport type B = { a?: A };\n");
    try {
      const found = await layerFindings(dir);
      expect(found.filter((f) => f.includes('noImportCycles'))).toHaveLength(2);
    } finally {
      await Promise.all([rm(a), rm(b)]);
    }
  });
});

/**
 * issues/schema.json, the JSON Schema editors' YAML extensions read for
 * autocompletion. Written when it differs from the schema in code; `new` and
 * `--watch` (the authoring commands) call this, and so does `npm run schema`.
 * Not every build: making the JSON costs about 11 ms of a ~350 ms cold build.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { issueSchemaJsonText } from './schema.js';

/** Write `<root>/issues/schema.json` if it is missing or out of date. Resolves to true when it wrote. */
export async function ensureSchemaJson(root: string): Promise<boolean> {
  const file = path.join(root, 'issues', 'schema.json');
  const want = issueSchemaJsonText();
  const have = await readFile(file, 'utf8').catch(() => undefined);
  if (have === want) return false;
  await writeFile(file, want);
  return true;
}

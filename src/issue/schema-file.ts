/**
 * issues/schema.json, the JSON Schema editors' YAML extensions read for
 * autocompletion (each issue file's first line points at ./schema.json). Written
 * when it is missing or differs from the schema in code: by every build of an issue
 * file that points at it, by `new`, and by `npm run schema`.
 *
 * Making the JSON from the zod schema costs about 11 ms, so scripts/bundle.mjs makes it
 * once, when the CLI is bundled, and a build only compares two small strings.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { issueSchemaJsonText } from './schema.js';

/** Set by scripts/bundle.mjs to issueSchemaJsonText()'s result; undefined when src/ runs directly (tests). */
declare const __ISSUE_SCHEMA_JSON__: string | undefined;

/** The line an issue file starts with to point its editor at the schema beside it. */
export const SCHEMA_LINE = '# yaml-language-server: $schema=./schema.json';

/** schema.json's text: made when the CLI was bundled, else now. */
export function schemaJsonText(): string {
  return typeof __ISSUE_SCHEMA_JSON__ === 'string' ? __ISSUE_SCHEMA_JSON__ : issueSchemaJsonText();
}

/** Write `<dir>/schema.json` if it is missing or out of date. Resolves to the file when it wrote, else undefined. */
export async function ensureSchemaJson(dir: string): Promise<string | undefined> {
  const file = path.join(dir, 'schema.json');
  const want = schemaJsonText();
  const have = await readFile(file, 'utf8').catch(() => undefined);
  if (have === want) return undefined;
  await writeFile(file, want);
  return file;
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueSchemaJsonText, SECTION_KINDS } from '../src/issue/schema.js';
import { ROOT } from './helpers.js';

describe('issues/schema.json (for editors)', () => {
  it('is up to date with src/issue/schema.ts (run "npm run schema" after changing the schema)', async () => {
    expect(await readFile(path.join(ROOT, 'issues/schema.json'), 'utf8')).toBe(issueSchemaJsonText());
  });

  it('offers every section kind, with its hints, and forbids unknown keys', () => {
    const schema = JSON.parse(issueSchemaJsonText()) as {
      additionalProperties: boolean;
      properties: { sections: { items: { oneOf: { properties: { kind: { const: string } }; additionalProperties: boolean; description?: string }[] } } };
    };
    const kinds = schema.properties.sections.items.oneOf.map((o) => o.properties.kind.const);
    expect(kinds).toEqual(SECTION_KINDS);
    expect(schema.additionalProperties).toBe(false);
    for (const option of schema.properties.sections.items.oneOf) {
      expect(option.additionalProperties).toBe(false);
      expect(option.description).toBeTruthy();
    }
  });

  it('is what the July issue points its editor at', async () => {
    const yaml = await readFile(path.join(ROOT, 'issues/july-2025.yaml'), 'utf8');
    expect(yaml.split('\n')[0]).toBe('# yaml-language-server: $schema=./schema.json');
  });
});

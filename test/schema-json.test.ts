import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { IssueSchema, issueSchemaJsonText, SECTION_KINDS } from '../src/issue/schema.js';
import { makeProject, ROOT, runCli } from './helpers.js';
import { buildIssue } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests below break parsed issue data at will.
type Loose = Record<string, any>;

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

describe('issues/schema.json validates issue files as the TypeScript schema does', () => {
  const validator = async () => {
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    return ajv.compile(JSON.parse(issueSchemaJsonText()) as object);
  };
  const july = async () => parseYaml(await readFile(path.join(ROOT, 'issues/july-2025.yaml'), 'utf8')) as Record<string, unknown>;

  it('accepts the July issue', async () => {
    const validate = await validator();
    expect(validate(await july()), JSON.stringify(validate.errors)).toBe(true);
    expect(IssueSchema.safeParse(await july()).success).toBe(true);
  });

  it('accepts a local picture under issues/assets/, as the TypeScript schema does', async () => {
    const validate = await validator();
    const data = await july();
    (data.sections as Loose[])[3]!.image.src = 'assets/july-2025/VESS leaflet.jpeg';
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    expect(IssueSchema.safeParse(data).success).toBe(true);
  });

  it.each([
    ['an unknown top-level key', (d: Loose) => void (d.subjet = 'x')],
    ['an unknown section kind', (d: Loose) => void (d.sections[2].kind = 'artcle')],
    ['a missing image alt', (d: Loose) => void delete d.sections[3].image.alt],
    ['a misspelt section key', (d: Loose) => void (d.sections[3].imge = d.sections[3].image)],
    ['a width that is text', (d: Loose) => void (d.sections[3].image.width = 'wide')],
    ['no sections', (d: Loose) => void (d.sections = [])],
    ['a date in the wrong form', (d: Loose) => void (d.date = '1st July 2025')],
    ['an SVG picture (Outlook shows none)', (d: Loose) => void (d.sections[3].image.src = 'assets/july-2025/leaflet.svg')],
    ['a data: image', (d: Loose) => void (d.sections[3].image.src = 'data:image/png;base64,AAAA')],
  ])('rejects %s, as the TypeScript schema does', async (_, fault) => {
    const validate = await validator();
    const data = await july();
    fault(data);
    expect(validate(data)).toBe(false);
    expect(IssueSchema.safeParse(data).success).toBe(false);
  });

  it('ensureSchemaJson writes the file only when it differs', async () => {
    const { ensureSchemaJson } = await import('../src/issue/schema-file.js');
    const project = await makeProject();
    const file = path.join(project, 'issues/schema.json');
    expect(await ensureSchemaJson(path.join(project, 'issues'))).toBe(file);
    expect(await readFile(file, 'utf8')).toBe(issueSchemaJsonText());
    expect(await ensureSchemaJson(path.join(project, 'issues'))).toBeUndefined();
  });

  it('the build refreshes the schema.json an issue file points at, when it is missing or stale, and leaves it otherwise', async () => {
    const project = await makeProject();
    const file = path.join(project, 'issues/schema.json');
    const first = await buildIssue('july-2025', { root: project });
    expect(first.schemaUpdated).toBe(file);
    expect(await readFile(file, 'utf8')).toBe(issueSchemaJsonText());
    const second = await buildIssue('july-2025', { root: project });
    expect(second.schemaUpdated).toBeUndefined();
    // An out-of-date copy (from an older version of the tool) is replaced, and the CLI says so.
    await writeFile(file, '{"title": "old"}\n');
    const cli = await runCli(['july-2025'], project);
    expect(cli.code, cli.err).toBe(0);
    expect(cli.out).toContain('issues/schema.json  (updated: the schema your editor autocompletes from)');
    expect(await readFile(file, 'utf8')).toBe(issueSchemaJsonText());
    // A build in memory writes nothing; neither does a build of a file without the line.
    await rm(file);
    expect((await buildIssue('july-2025', { root: project, write: false })).schemaUpdated).toBeUndefined();
    await writeFile(
      path.join(project, 'issues/july-2025.yaml'),
      (await readFile(path.join(project, 'issues/july-2025.yaml'), 'utf8')).split('\n').slice(1).join('\n'),
    );
    await buildIssue('july-2025', { root: project });
    expect(existsSync(file)).toBe(false);
  });

  it('the installed command (the bundle, with the schema made when it was bundled) writes the same schema.json', async () => {
    const project = await makeProject();
    const file = path.join(project, 'issues/schema.json');
    await writeFile(file, '{}\n');
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'build-issue.js'), 'july-2025'], { cwd: project });
    expect(stdout).toContain('issues/schema.json  (updated');
    expect(await readFile(file, 'utf8')).toBe(issueSchemaJsonText());
  });
});

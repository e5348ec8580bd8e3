/**
 * The output fence (issue 10): a build replaces or writes only what it made itself.
 * Each case is one a comms officer can hit by accident; each used to delete or
 * overwrite something. The project is snapshot before and after: every file outside
 * the build's own output must be byte for byte as it was.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildIssue } from '../src/index.js';
import { makeProject, runCli } from './helpers.js';

/** Every file under `dir` (relative path -> sha256), links as their target, skipping `skip` folders. */
async function snapshot(dir: string, skip: string[] = []): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      const rel = path.relative(dir, full);
      if (skip.some((s) => rel === s || rel.startsWith(s + path.sep))) continue;
      if (e.isDirectory()) await walk(full);
      else
        out.set(
          rel,
          createHash('sha256')
            .update(await readFile(full).catch(() => Buffer.from('<unreadable>')))
            .digest('hex'),
        );
    }
  };
  await walk(dir);
  return out;
}

let project: string;

/** A project as a comms officer has it: git, .env, a ledger, another issue's build. */
beforeEach(async () => {
  project = await makeProject();
  await mkdir(path.join(project, '.git'));
  await writeFile(path.join(project, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(path.join(project, '.env'), 'SMTP_URL=smtp://127.0.0.1:2525\n');
  await mkdir(path.join(project, 'sends', 'june-2025'), { recursive: true });
  await writeFile(path.join(project, 'sends', 'june-2025', 'ledger.jsonl'), '{"type":"start"}\n');
  await cp(path.join(project, 'issues', 'july-2025.yaml'), path.join(project, 'issues', 'june-2025.yaml'));
  expect((await runCli(['june-2025'], project)).code).toBe(0);
});

/** Run the CLI; it must refuse with `exit` and leave every file of the project as it was. */
async function refusesAndKeepsAll(args: string[], exit: number, said: RegExp): Promise<void> {
  const before = await snapshot(project);
  const r = await runCli(args, project);
  expect(r.code, r.err).toBe(exit);
  expect(r.err).toMatch(said);
  expect(r.err).not.toMatch(/unexpected failure|\n\s+at /);
  expect(await snapshot(project)).toEqual(before);
}

describe('a build never touches anything but its own output', () => {
  it('refuses an issue file named ".yaml" written into the project folder (-o .)', async () => {
    await cp(path.join(project, 'issues', 'july-2025.yaml'), path.join(project, '.yaml'));
    await refusesAndKeepsAll(['.yaml', '-o', '.'], 2, /"" cannot be an issue name/);
  });

  it('refuses issues/.yaml, which would have replaced the whole dist/', async () => {
    await cp(path.join(project, 'issues', 'july-2025.yaml'), path.join(project, 'issues', '.yaml'));
    await refusesAndKeepsAll(['issues/.yaml'], 2, /cannot be an issue name/);
  });

  it('refuses the project folder, an ancestor of it, a folder inside templates/ and another project as --out', async () => {
    expect((await runCli(['new', 'templates'], project)).code).toBe(0);
    await refusesAndKeepsAll(['templates', '-o', '.'], 2, /--out .*project folder/);
    await refusesAndKeepsAll(['july-2025', '-o', '..'], 2, /holds the project folder/);
    await refusesAndKeepsAll(['july-2025', '-o', 'templates'], 2, /inside the project's templates\/ folder/);
    await mkdir(path.join(project, 'other'));
    await writeFile(path.join(project, 'other', 'newsletter.config.yaml'), 'x: 1\n');
    await refusesAndKeepsAll(['july-2025', '-o', 'other'], 2, /holds newsletter.config.yaml/);
  });

  it('refuses a file name that is not an issue name, and says which name would do', async () => {
    await cp(path.join(project, 'issues', 'july-2025.yaml'), path.join(project, 'issues', 'July_2025.yaml'));
    await refusesAndKeepsAll(['issues/July_2025.yaml'], 2, /Rename the file to july-2025\.yaml/);
  });

  it('refuses two issue files with the same name (they would share dist/ and the send ledger)', async () => {
    await cp(path.join(project, 'issues', 'june-2025.yaml'), path.join(project, 'issues', 'june-2025.yml'));
    await refusesAndKeepsAll(['june-2025'], 2, /issues\/june-2025\.yaml and issues\/june-2025\.yml are both named june-2025/);
    await mkdir(path.join(project, 'drafts'));
    await cp(path.join(project, 'issues', 'june-2025.yaml'), path.join(project, 'drafts', 'july-2025.yaml'));
    await refusesAndKeepsAll(['drafts/july-2025.yaml'], 2, /both named july-2025/);
  });

  it('refuses to replace a folder or archive page it did not write, or a link', async () => {
    await mkdir(path.join(project, 'dist', 'july-2025'));
    await writeFile(path.join(project, 'dist', 'july-2025', 'notes.txt'), 'mine');
    await refusesAndKeepsAll(['july-2025'], 1, /dist\/july-2025 was not written by build-issue \(it holds notes.txt\)/);
    await rm(path.join(project, 'dist', 'july-2025'), { recursive: true });

    await symlink(path.join(project, 'templates'), path.join(project, 'dist', 'july-2025'));
    await refusesAndKeepsAll(['july-2025'], 1, /dist\/july-2025 is a link/);
    await rm(path.join(project, 'dist', 'july-2025'));

    await mkdir(path.join(project, 'site'));
    await writeFile(path.join(project, 'site', 'index.html'), '<p>our website</p>');
    await refusesAndKeepsAll(['july-2025', '-o', 'site'], 1, /site\/index.html was not written by build-issue/);
  });

  it('replaces its own builds, marked or (from before the marker) holding only build files', async () => {
    // june-2025 was built in beforeEach: marked.
    const june = path.join(project, 'dist', 'june-2025');
    expect(await readdir(june)).toContain('.build-issue');
    await rm(path.join(june, '.build-issue'));
    await writeFile(path.join(june, 'screenshot-phone.png'), 'an old screenshot');
    const others = await snapshot(project, ['dist']);
    const r = await runCli(['june-2025'], project);
    expect(r.code, r.err).toBe(0);
    expect((await readdir(june)).sort()).toContain('.build-issue');
    expect(await readdir(june)).not.toContain('screenshot-phone.png');
    expect(await snapshot(project, ['dist'])).toEqual(others);
  });

  it('writes the archive pages into the output folder only', async () => {
    const out = path.join(project, 'public');
    await buildIssue('july-2025', { root: project, outDir: out });
    expect((await readdir(out)).sort()).toEqual(['feed.xml', 'index.html', 'july-2025']);
    // dist/ (june's build) was not rewritten to list july.
    expect(await readFile(path.join(project, 'dist', 'index.html'), 'utf8')).not.toContain('july-2025/');
  });
});

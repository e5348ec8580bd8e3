/**
 * `screenshots` offline: the remote images it cannot load are said once, as a "Note:" of
 * the report, not counted as a warning; a local picture that fails to load stays a warning.
 * Skipped where no Chromium is installed (as screenshots.test.ts).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIssue } from '../src/index.js';
import { findChromium } from '../src/preview/screenshots.js';
import { makeProject, runCli } from './helpers.js';

const projects: string[] = [];
afterAll(() => Promise.all(projects.map((p) => rm(p, { recursive: true, force: true }))));

describe.skipIf(!findChromium())('screenshots taken offline', () => {
  it('July: 0 warnings, and one note that the 8 web images were not loaded; the CLI prints it as "Note:"', async () => {
    const project = await makeProject();
    projects.push(project);
    const r = await runCli(['screenshots', 'july-2025'], project);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('Checks: 0 errors, 0 warnings');
    const notes = r.out.split('\n').filter((l) => l.startsWith('Note: ') && l.includes('screenshots are taken offline'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^Note: none of the 8 images were loaded: screenshots are taken offline .*vess-leaflet\.png/);
    const report = JSON.parse(await readFile(path.join(project, 'dist/july-2025/report.json'), 'utf8')) as {
      notes: string[];
      findings: { rule: string; message: string }[];
    };
    expect(report.notes.filter((n) => n.includes('screenshots are taken offline'))).toHaveLength(1);
    expect(report.findings.filter((f) => f.rule === 'render')).toEqual([]);
  }, 60_000);

  it('a local picture that does not load is still a warning, beside the note about the web ones', async () => {
    const project = await makeProject();
    projects.push(project);
    // One picture served from this machine, where nothing listens (port 9)...
    const file = path.join(project, 'issues', 'july-2025.yaml');
    const yaml = await readFile(file, 'utf8');
    const src = 'https://liia.london/newsletter/july-2025/images/vess-leaflet.png';
    expect(yaml).toContain(src);
    await writeFile(file, yaml.replace(src, 'http://127.0.0.1:9/vess-leaflet.png'));
    const r = await buildIssue('july-2025', { root: project, screenshots: true });
    const render = r.report.findings.filter((f) => f.rule === 'render');
    // ...is not blocked, so its failure is a warning naming it; the 7 web ones are the note.
    expect(render.map((f) => f.severity)).toEqual(['warning']);
    expect(render[0]!.message).toMatch(/^image "[^"]+" \(http:\/\/127\.0\.0\.1:9\/vess-leaflet\.png\) could not be loaded from here \(net::/);
    expect(r.report.notes.filter((n) => n.includes('screenshots are taken offline'))).toEqual([expect.stringMatching(/^7 of the 8 images were not loaded: /)]);
  }, 60_000);
});

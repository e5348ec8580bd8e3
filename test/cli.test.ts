/** The command line: arguments, output, exit codes; and the real bin as a child process. */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeProject, ROOT, runCli } from './helpers.js';

const exec = promisify(execFile);

describe('build-issue (in-process)', () => {
  it('builds an issue by name and prints what it wrote, the size against Gmail’s limit and the time', async () => {
    const project = await makeProject();
    const { code, out, err } = await runCli(['july-2025'], project);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^Built july-2025 in \d+ ms$/m);
    expect(out).toMatch(/dist\/july-2025\/email\.html +\d+\.\d KB +\(\d+% of Gmail's 102\.0 KB clipping limit\)/);
    expect(out).toMatch(/dist\/july-2025\/email\.txt +\d+\.\d KB/);
    expect(out).toMatch(/dist\/july-2025\/email\.eml +\d+\.\d KB/);
    expect(existsSync(path.join(project, 'dist/july-2025/email.eml'))).toBe(true);
  });

  it('accepts a path to a YAML file, and --out', async () => {
    const project = await makeProject();
    const { code, out } = await runCli(['issues/july-2025.yaml', '--out', 'build'], project);
    expect(code).toBe(0);
    expect(out).toContain('build/july-2025/email.html');
    expect(existsSync(path.join(project, 'build/july-2025/email.html'))).toBe(true);
    expect(existsSync(path.join(project, 'dist'))).toBe(false);
  });

  it('--json prints a machine-readable summary whose sizes match the files', async () => {
    const project = await makeProject();
    const { code, out } = await runCli(['july-2025', '--json'], project);
    expect(code).toBe(0);
    const summary = JSON.parse(out) as { ok: boolean; files: Record<string, string>; bytes: Record<string, number>; gmailClipBytes: number; hash: string };
    expect(summary.ok).toBe(true);
    expect(summary.gmailClipBytes).toBe(102000);
    expect(summary.hash).toMatch(/^[0-9a-f]{64}$/);
    for (const kind of ['html', 'text', 'eml'] as const) {
      const bytes = (await readFile(path.join(project, summary.files[kind]!))).length;
      expect(summary.bytes[kind]).toBe(bytes);
    }
  });

  it('--json reports failures as JSON too, with exit code 1', async () => {
    const project = await makeProject();
    const { code, out } = await runCli(['nope-2025', '--json'], project);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, error: { code: 'EISSUE_NOT_FOUND' } });
  });

  it('--help and --version exit 0', async () => {
    const help = await runCli(['--help'], ROOT);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: build-issue [options] <issue>');
    expect(help.out).toContain('--json');
    const version = await runCli(['--version'], ROOT);
    expect(version.code).toBe(0);
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.out.trim()).toBe(pkg.version);
  });

  it('exits 2 on usage errors: unknown option, missing issue, a name that is not an issue name', async () => {
    for (const args of [['july-2025', '--bogus'], [], ['July 2025!']]) {
      const { code, err } = await runCli(args, ROOT);
      expect(code, args.join(' ')).toBe(2);
      expect(err).toMatch(/error: /);
    }
  });
});

describe('--screenshots and --watch from the command line', () => {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

  it('--screenshots without a browser: says how to install one, exit 1', async () => {
    const project = await makeProject();
    const { code, err } = await runCli(['july-2025', '--screenshots'], project, { CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(code).toBe(1);
    expect(err).toMatch(/^error: .*CHROMIUM_PATH/m);
    expect(err).toContain('apt-get install chromium');
  });

  it.skipIf(!existsSync(chromium))('--screenshots writes the three PNGs and adds the browser checks to report.json', async () => {
    const project = await makeProject();
    const { code, out } = await runCli(['july-2025', '--screenshots'], project, { CHROMIUM_PATH: chromium });
    expect(code).toBe(0);
    for (const f of ['screenshot-desktop.png', 'screenshot-phone.png', 'screenshot-phone-dark.png']) {
      expect(out).toContain(`dist/july-2025/${f}`);
      expect(existsSync(path.join(project, 'dist/july-2025', f)), f).toBe(true);
    }
    const report = JSON.parse(await readFile(path.join(project, 'dist/july-2025/report.json'), 'utf8')) as { findings: { rule: string }[]; notes: string[] };
    // The browser's checks ran: the offline images are a note (a warning only for a local picture that fails).
    expect(report.notes.filter((n) => /^none of the \d+ images were loaded: screenshots are taken offline/.test(n))).toHaveLength(1);
    expect(out).toMatch(/^Note: none of the \d+ images were loaded/m);
  });

  it('--watch serves the preview until Ctrl-C, then exits 0', async () => {
    const project = await makeProject();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'build-issue.js'), 'july-2025', '--watch'], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!/Preview: (http:\/\/127\.0\.0\.1:\d+\/)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const url = /Preview: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    expect(url, out).toBeTruthy();
    expect(out).toMatch(/Built july-2025 in \d+ ms: [\d.]+ KB HTML, 0 errors/);
    const page = await fetch(url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('july-2025');
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(out).toContain('Preview stopped.');
  });
});

describe('the real bin (child process)', () => {
  const bin = path.join(ROOT, 'bin', 'build-issue.js');

  it('builds the July issue in a project folder, exit 0', async () => {
    const project = await makeProject();
    const { stdout } = await exec(process.execPath, [bin, 'july-2025'], { cwd: project });
    expect(stdout).toMatch(/^Built july-2025 in \d+ ms/);
    const html = await readFile(path.join(project, 'dist/july-2025/email.html'), 'utf8');
    expect(html).toContain('LONDON ADOLESCENT SAFEGUARDING AND YOUTH JUSTICE NEWSLETTER');
  });

  it('prints a one-line error and no stack trace for a missing issue, exit 1', async () => {
    const project = await makeProject();
    const err = await exec(process.execPath, [bin, 'nope-2025'], { cwd: project, env: { ...process.env, DEBUG: '' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 1 });
    const stderr = (err as { stderr: string }).stderr;
    expect(stderr).toContain('error: issues/nope-2025.yaml: no such issue file');
    expect(stderr).toContain('Issues in issues/: july-2025');
    expect(stderr).not.toMatch(/^\s+at /m);
    await rm(project, { recursive: true, force: true });
  });
});

describe('build-issue new', () => {
  it('writes the next issue from July, keeps the recurring sections, and refuses to overwrite', async () => {
    const project = await makeProject();
    const first = await runCli(['new', 'august-2025', '--from', 'july-2025'], project);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain('Wrote issues/august-2025.yaml from issues/july-2025.yaml');
    expect(first.out).toMatch(/kept: .*footer/);
    expect(existsSync(path.join(project, 'issues/schema.json'))).toBe(true);
    const again = await runCli(['new', 'august-2025'], project);
    expect(again.code).toBe(2);
    expect(again.err).toContain('already exists');
    expect((await runCli(['new', 'August 2025'], project)).code).toBe(2);
    // The new issue builds; its placeholders are errors, so it cannot be sent as it is.
    const build = await runCli(['august-2025'], project);
    expect(build.code).toBe(1);
    expect(build.out).toMatch(/\[document\] .*subject still says TODO/);
  });
});

/**
 * The commands (build, check, preview, screenshots, test-send, send, status, new): their
 * --help, the default command, the old flags and their notes, usage errors under --json,
 * exit codes, finding the config from a sub-folder, the progress line on a narrow
 * terminal, and Ctrl-C during a build (the real bin, as a child process).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';
import { oldRun } from '../src/cli/old-flags.js';
import { fitLine, progressLine, textWidth } from '../src/cli/progress.js';
import { makeProject, ROOT, runCli } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';

const BIN = path.join(ROOT, 'bin', 'build-issue.js');
const note = (old: string, now: string) => `Note: "${old}" is now "build-issue ${now}"; the old spelling goes in the next release.\n`;
const count = (text: string, part: string) => text.split(part).length - 1;

/** Run in-process with Ctrl-C already pressed: the preview builds once, prints its address and stops. */
async function runStopped(args: string[], cwd: string) {
  let out = '';
  let err = '';
  const controller = new AbortController();
  controller.abort();
  const code = await run(args, { out: (t) => (out += t), err: (t) => (err += t), env: {}, cwd, signal: controller.signal });
  return { code, out, err };
}

let project: string;
let sink: SmtpSink;
beforeAll(async () => {
  project = await makeProject();
  await appendFile(path.join(project, 'newsletter.config.yaml'), '\nsend:\n  rate: 1000\n  connections: 2\n');
  await mkdir(path.join(project, 'lists'));
  await writeFile(path.join(project, 'lists', 'list.csv'), `email\n${Array.from({ length: 30 }, (_, i) => `reader${i}@example.org`).join('\n')}\n`);
  sink = await startSink();
});
afterAll(async () => {
  await sink?.close();
});

describe('--help', () => {
  const commands: [string, string[], string][] = [
    ['build', ['--out <dir>', '--json', '--allow-errors'], 'build-issue build check'],
    ['check', ['--links', '--screenshots', '--out <dir>', '--json', '--allow-errors'], 'build-issue check july-2025 --links'],
    ['preview', ['--port <n>'], 'build-issue preview july-2025'],
    ['screenshots', ['--out <dir>', '--json', '--allow-errors'], 'build-issue screenshots july-2025'],
    ['test-send', ['--to <addresses>', '--rate <n>', '--connections <n>', '--json'], 'build-issue test-send july-2025 --to'],
    [
      'send',
      ['--list <file.csv>', '--yes', '--dry-run', '--rate <n>', '--connections <n>', '--retry-failed', '--resend-unknown', '--skip-test-gate', '--json'],
      'build-issue send july-2025 --list',
    ],
    ['status', ['--json'], 'build-issue status july-2025'],
    ['new', ['--from <previous>', '--json'], 'build-issue new august-2025 --from july-2025'],
  ];

  it.each(commands)('%s --help: exit 0, its options, an example, the exit codes, the global --config', async (name, options, example) => {
    const { code, out, err } = await runCli([name, '--help'], ROOT);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toContain(`Usage: build-issue ${name} [options] <issue>`);
    for (const o of options) expect(out, o).toContain(o);
    expect(out).toContain('Examples:');
    expect(out).toContain(example);
    expect(out).toMatch(/Exit codes: 0 ok, 1 failed, 2 used wrongly, 130 interrupted/);
    expect(out).toContain('--config <file>');
    // The old flags are not options of any command.
    for (const old of ['--watch', '--send-test', '--status', '--check-links']) expect(out).not.toContain(old);
    for (const line of out.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    // "help <command>" says the same.
    expect((await runCli(['help', name], ROOT)).out).toBe(out);
  });

  it('build-issue --help: the commands, examples, the environment, exit codes, the old spellings apart', async () => {
    const { code, out } = await runCli(['--help'], ROOT);
    expect(code).toBe(0);
    for (const name of ['build', 'check', 'preview', 'screenshots', 'test-send', 'send', 'status', 'new'])
      expect(out).toMatch(new RegExp(`^  ${name} \\[options\\] <issue> +\\S`, 'm'));
    for (const v of ['SMTP_URL', 'DKIM_PRIVATE_KEY', 'CHROMIUM_PATH', 'DEBUG', 'BUILD_ISSUE_NO_CODE_CACHE']) expect(out).toMatch(new RegExp(`^  ${v}\\b`, 'm'));
    for (const c of ['0', '1', '2', '130']) expect(out).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
    expect(out).toContain('build-issue build <name>');
    // The old flags only in their own section, not among the options.
    const options = out.slice(out.indexOf('Options:'), out.indexOf('Commands:'));
    expect(options).not.toMatch(/--watch|--send|--status|--check|--screenshots/);
    expect(out.slice(out.indexOf('Old spellings'))).toMatch(/<issue> --watch \[--port <n>\] +is now {2}preview <issue>/);
    // Short lines: it reads on an 80-column terminal.
    for (const line of out.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });
});

describe('the default command and issue names that are command names', () => {
  it('build-issue <issue> is build-issue build <issue>', async () => {
    await runCli(['july-2025'], project); // the first build also writes issues/schema.json
    const a = await runCli(['july-2025'], project);
    const b = await runCli(['build', 'july-2025'], project);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.err, b.err]).toEqual(['', '']);
    const strip = (s: string) => s.replace(/\d+ ms/g, 'N ms');
    expect(strip(a.out)).toBe(strip(b.out));
  });

  it('an issue named "check": "build-issue build check" builds it, "build-issue check" is the command', async () => {
    const p = await makeProject();
    const made = await runCli(['new', 'check'], p);
    expect(made.code).toBe(0);
    expect(made.out).toContain('"check" is also a command: build it with "build-issue build check"');
    const built = await runCli(['build', 'check'], p);
    expect(built.out).toMatch(/^Built check in \d+ ms/);
    expect(built.code).toBe(1); // the starter's TODOs are errors
    const command = await runCli(['check'], p);
    expect(command.code).toBe(2);
    expect(command.err).toContain("error: missing required argument 'issue'");
    expect(command.err).toContain('build-issue check --help');
  });
});

describe('the old flags: still work, and say the new spelling once on stderr', () => {
  it('--watch', async () => {
    const r = await runStopped(['july-2025', '--watch'], project);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Preview: http:\/\/127\.0\.0\.1:\d+\//);
    expect(r.out).toContain('Preview stopped.');
    expect(r.err).toBe(note('--watch', 'preview july-2025'));
    const now = await runStopped(['preview', 'july-2025'], project);
    expect(now.code).toBe(0);
    expect(now.err).toBe('');
  });

  it('--check: the full report, as "check" prints it', async () => {
    const r = await runCli(['july-2025', '--check'], project);
    const now = await runCli(['check', 'july-2025'], project);
    expect(r.code).toBe(now.code);
    // The full report, every link listed (SpamAssassin's line may differ from run to run on a busy machine).
    for (const out of [r.out, now.out]) expect(out).toMatch(/^Links \(\d+\):$/m);
    expect(r.err).toBe(now.err + note('--check', 'check july-2025'));
    expect(count(r.err, 'Note:')).toBe(1);
  });

  it('--screenshots (no browser): the same error as before, then the note', async () => {
    const r = await runCli(['july-2025', '--screenshots', '--json'], project, { CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'EBROWSER' } });
    expect(r.err).toBe(note('--screenshots', 'screenshots july-2025 --json'));
  });

  it('--status', async () => {
    const r = await runCli(['july-2025', '--status'], project);
    expect(r.code).toBe(0);
    expect(r.out).toContain('not sent to the list yet');
    expect(r.err).toBe(note('--status', 'status july-2025'));
  });

  it('--send-test --to, and --send --list with its flags', async () => {
    const t = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org'], project, { SMTP_URL: sink.url });
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain('sent    reviewer@example.org');
    expect(t.err).toBe(note('--send-test', 'test-send july-2025 --to reviewer@example.org'));
    const s = await runCli(['july-2025', '--send', '--list', 'lists/list.csv', '--yes', '--dry-run', '--rate', '5'], project, { SMTP_URL: sink.url });
    expect(s.code, s.err).toBe(0);
    expect(s.out).toContain('Dry run: nothing was sent.');
    expect(s.err.endsWith(note('--send', 'send july-2025 --list lists/list.csv --yes --dry-run --rate 5'))).toBe(true);
    expect(count(s.err, 'Note:')).toBe(1);
  });

  it('--check-links and --check --screenshots map to check; values with spaces are quoted', () => {
    const io = { out: () => {}, err: () => {}, env: {}, cwd: project };
    expect(oldRun('july-2025', { checkLinks: true }, io)?.note).toBe(note('--check-links', 'check july-2025 --links'));
    expect(oldRun('july-2025', { check: true, screenshots: true, out: 'my out' }, io)?.note).toBe(
      note('--check --screenshots', "check july-2025 --screenshots --out 'my out'"),
    );
    expect(oldRun('july-2025', { watch: true, port: 8080 }, io)?.note).toBe(note('--watch', 'preview july-2025 --port 8080'));
    expect(oldRun('july-2025', { json: true }, io)).toBeUndefined();
  });

  it('the old "goes with" rules still hold (exit 2)', async () => {
    for (const [args, message] of [
      [['--to', 'a@example.org'], '--to goes with --send-test'],
      [['--list', 'l.csv'], '--list goes with --send'],
      [['--dry-run'], '--dry-run goes with --send'],
      [['--port', '8080'], '--port goes with --watch'],
      [['--send-test', '--send'], '--send-test and --send cannot be used together'],
      [['--send'], '--send needs --list <file.csv>'],
    ] as const) {
      const r = await runCli(['july-2025', ...args], project);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain(`error: ${message}`);
      expect(r.err).not.toContain('Note:');
    }
  });
});

describe('usage errors under --json: one JSON object on stdout, exit 2', () => {
  const cases = [
    ['--json'],
    ['check', '--json'],
    ['july-2025', '--bogus', '--json'],
    ['send', 'july-2025', '--json'],
    ['test-send', 'july-2025', '--rate', 'fast', '--json'],
    ['preview', 'july-2025', '--port', '0', '--json'],
    ['preview', 'july-2025', '--json'],
    ['new', 'August 2025', '--json'],
    ['status', 'july-2025', 'extra', '--json'],
    ['july-2025', '--to', 'a@example.org', '--json'],
    ['--json', 'July 2025!'],
  ];
  it.each(cases)('%s', async (...args) => {
    const r = await runCli(args, project);
    expect(r.code).toBe(2);
    expect(r.err).toBe('');
    const json = JSON.parse(r.out) as { ok: boolean; error: { code: string; message: string } };
    expect(json).toMatchObject({ ok: false, error: { code: 'EUSAGE' } });
    expect(json.error.message.length).toBeGreaterThan(5);
  });

  it('without --json the same errors are text on stderr', async () => {
    const r = await runCli(['send', 'july-2025'], project);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain("error: required option '--list <file.csv>' not specified");
    expect(r.err).toContain('(run "build-issue send --help" for usage)');
  });
});

describe('exit codes', () => {
  it('0 ok, 1 failed, 2 used wrongly', async () => {
    expect((await runCli(['july-2025'], project)).code).toBe(0);
    expect((await runCli(['status', 'july-2025'], project)).code).toBe(0);
    expect((await runCli(['nope-2025'], project)).code).toBe(1);
    expect((await runCli(['check', 'nope-2025'], project)).code).toBe(1);
    expect((await runCli(['test-send', 'july-2025'], project, {})).code).toBe(1); // SMTP_URL not set
    expect((await runCli(['bogus-command', 'july-2025'], project)).code).toBe(2);
    expect((await runCli(['send', 'july-2025', '--list', 'lists/list.csv'], project)).code).toBe(2); // no terminal to confirm on
  });
});

describe('finding the project', () => {
  it('from a sub-folder: the config above is found; --out, --list and an issue path are from where you are', async () => {
    const p = await makeProject();
    const sub = path.join(p, 'notes', 'drafts');
    await mkdir(sub, { recursive: true });
    const built = await runCli(['july-2025'], sub);
    expect(built.code, built.err).toBe(0);
    expect(built.out).toContain('../../dist/july-2025/email.html');
    expect(existsSync(path.join(p, 'dist', 'july-2025', 'email.html'))).toBe(true);
    const out = await runCli(['build', '../../issues/july-2025.yaml', '--out', 'here', '--json'], sub);
    expect(out.code, out.out).toBe(0);
    expect((JSON.parse(out.out) as { files: { html: string } }).files.html).toBe('here/july-2025/email.html');
    expect(existsSync(path.join(sub, 'here', 'july-2025', 'email.html'))).toBe(true);
    await writeFile(path.join(sub, 'few.csv'), 'email\nreader@example.org\n');
    const dry = await runCli(['send', 'july-2025', '--list', 'few.csv', '--dry-run', '--skip-test-gate'], sub, { SMTP_URL: sink.url });
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(/list {9}few\.csv: 1 rows, 1 recipients/);
  });

  it('--config <file> (or its folder) from anywhere; the project is the folder holding it', async () => {
    const p = await makeProject();
    await rename(path.join(p, 'newsletter.config.yaml'), path.join(p, 'other.config.yaml'));
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'newsletter-elsewhere-'));
    const r = await runCli(['--config', path.join(p, 'other.config.yaml'), 'july-2025'], elsewhere);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(path.join(p, 'dist', 'july-2025', 'email.html'))).toBe(true);
    const after = await runCli(['check', 'july-2025', '--json', '--config', path.relative(elsewhere, path.join(p, 'other.config.yaml'))], elsewhere);
    expect(JSON.parse(after.out)).toMatchObject({ ok: true, slug: 'july-2025' });
    const folder = await runCli(['status', 'july-2025', `--config=${await makeProject()}`], elsewhere);
    expect(folder.code, folder.err).toBe(0);
    const missing = await runCli(['july-2025', '--config', 'nope.yaml', '--json'], elsewhere);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toMatchObject({
      ok: false,
      error: { code: 'ECONFIG', message: expect.stringContaining('--config nope.yaml: no such file') },
    });
  });

  it('no config: a clear error naming where it looked and how to fix it, exit 1', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'newsletter-none-'));
    const r = await runCli(['july-2025'], dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: no newsletter.config.yaml found: looked from ${dir} up to /`);
    expect(r.err).toContain('or pass --config <file>');
    // A git repository bounds the walk: a config above it belongs to something else.
    const repo = path.join(dir, 'repo');
    await mkdir(path.join(repo, '.git'), { recursive: true });
    await mkdir(path.join(repo, 'src'));
    await writeFile(path.join(dir, 'newsletter.config.yaml'), 'not: this one\n');
    const inRepo = await runCli(['status', 'july-2025', '--json'], path.join(repo, 'src'));
    expect(inRepo.code).toBe(1);
    expect(JSON.parse(inRepo.out)).toMatchObject({
      error: {
        code: 'ECONFIG',
        message: `no newsletter.config.yaml found: looked from ${path.join(repo, 'src')} up to ${repo} (the top of its git repository)`,
      },
    });
  });
});

describe('the progress line fits the terminal', () => {
  const p = { sent: 1234, failed: 5, unknown: 1, retrying: 0, remaining: 98765, total: 100005, rate: 123.4, elapsedMs: 1000 };

  it('is cut to the width with an ellipsis, never longer; wide characters count twice', () => {
    expect(progressLine(p)).toBe('[....................] 1%  sent 1234  failed 5  unknown 1  remaining 98765  123.4/s  ~800s left');
    for (const columns of [1, 10, 29, 40, 60, 79, 200]) {
      const line = progressLine(p, columns);
      expect(textWidth(line), line).toBeLessThanOrEqual(columns);
    }
    expect(progressLine(p, 40)).toBe('1%  sent 1234  failed 5  unknown 1  rem…');
    expect(textWidth('日本語abc')).toBe(9);
    expect(fitLine('日本語abc', 6)).toBe('日本…');
    expect(textWidth(fitLine('日本語abc', 6))).toBe(5);
  });

  it('a send on a 24-column terminal redraws one line that never wraps', async () => {
    const p2 = await makeProject();
    await appendFile(path.join(p2, 'newsletter.config.yaml'), '\nsend:\n  rate: 1000\n  connections: 2\n');
    await mkdir(path.join(p2, 'lists'));
    await writeFile(path.join(p2, 'lists', 'list.csv'), `email\n${Array.from({ length: 20 }, (_, i) => `narrow${i}@example.org`).join('\n')}\n`);
    let err = '';
    let out = '';
    const code = await run(['send', 'july-2025', '--list', 'lists/list.csv', '--yes', '--skip-test-gate'], {
      out: (t) => (out += t),
      err: (t) => (err += t),
      env: { SMTP_URL: sink.url },
      cwd: p2,
      tty: true,
      columns: () => 24,
    });
    expect(code, err).toBe(0);
    expect(out).toMatch(/Done: 20 sent now/);
    const redraws = [...err.matchAll(/\r([^\r\n]*?)\x1b\[K/g)].map((m) => m[1]!);
    expect(redraws.length).toBeGreaterThan(0);
    for (const line of redraws) expect(textWidth(line), line).toBeLessThanOrEqual(23);
    expect(redraws.at(-1)!.startsWith('100%  sent 20'), redraws.at(-1)).toBe(true);
  });
});

describe('Ctrl-C (the real bin)', () => {
  it('during a build: exit 130 at once, not a word about sends', async () => {
    const p = await makeProject();
    // Holds the build at its first read of the issue file, and says so: the moment to press Ctrl-C.
    const hold = path.join(p, 'hold.mjs');
    await writeFile(
      hold,
      `import fsp from 'node:fs/promises';
const readFile = fsp.readFile;
fsp.readFile = async function (file, ...rest) {
  if (String(file).endsWith('july-2025.yaml')) {
    process.stderr.write('[held]\\n');
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  }
  return readFile.call(this, file, ...rest);
};
`,
    );
    const child = spawn(process.execPath, ['--import', pathToFileURL(hold).href, BIN, 'july-2025'], {
      cwd: p,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBUG: '' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const held = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('[held]')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await Promise.race([held, exited]);
    expect(err).toContain('[held]');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(out).toBe('');
    expect(err.replace('[held]\n', '')).toBe('');
    expect(existsSync(path.join(p, 'dist', 'july-2025'))).toBe(false);
  });
});

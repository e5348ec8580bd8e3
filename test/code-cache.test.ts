/**
 * bin/build-issue.js keeps V8's code cache for the bundle (by hand on Node 20, with
 * Node's compile cache on 22+). A rebuilt bundle must run its new code, even when it
 * has exactly the old one's length: V8's own check on Node 20 looks only at the length.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = path.resolve('bin/build-issue.js');

const bundle = (word: string) => `module.exports = { main: async () => { process.stdout.write(${JSON.stringify(word)}); } };\n`;

/** A copy of bin/build-issue.js in a new folder, with lib/build-issue.cjs to be written by the test. */
async function install(): Promise<{ dir: string; lib: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'code-cache-'));
  await mkdir(path.join(dir, 'bin'));
  await mkdir(path.join(dir, 'lib'));
  await cp(bin, path.join(dir, 'bin', 'build-issue.js'));
  await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n');
  return { dir, lib: path.join(dir, 'lib', 'build-issue.cjs') };
}

/** Every file under `dir` with its modification time. */
async function files(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const file = path.join(entry.parentPath, entry.name);
      out[path.relative(dir, file)] = (await stat(file)).mtimeMs;
    }
  }
  return out;
}

const env = { ...process.env, BUILD_ISSUE_NO_CODE_CACHE: '' };

describe('the code cache of bin/build-issue.js', () => {
  it('runs a rebuilt bundle of the same length, not the cached old one', async () => {
    const { dir, lib } = await install();

    await writeFile(lib, bundle('AAAA'));
    const first = await run(process.execPath, [path.join(dir, 'bin', 'build-issue.js')], { env });
    expect(first.stdout).toBe('AAAA');
    // The first run left a cache behind (a .v8cache file on Node 20, .compile-cache/ on 22+).
    expect((await readdir(path.join(dir, 'lib'))).length).toBeGreaterThan(1);

    await writeFile(lib, bundle('BBBB')); // same length, new code
    const second = await run(process.execPath, [path.join(dir, 'bin', 'build-issue.js')], { env });
    expect(second.stdout).toBe('BBBB');
  });

  it('runs `send` with a young generation that does not grow, under a cache of its own', async () => {
    const { dir, lib } = await install();
    // Makes 200 MB of short-lived garbage, then prints the young generation's size in MiB.
    await writeFile(
      lib,
      `const v8 = require('node:v8');
module.exports = { main: async () => {
  let keep = [];
  for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 50000) keep = []; }
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  process.stdout.write(String(young.space_size / 1048576));
} };
`,
    );
    const young = async (...args: string[]) => Number((await run(process.execPath, [path.join(dir, 'bin', 'build-issue.js'), ...args], { env })).stdout);
    // The build lets V8 grow it (more than the 2 MiB it starts with); the send keeps it at 2 MiB,
    // wherever the command is on the line.
    expect(await young('build', 'july-2025')).toBeGreaterThan(2);
    expect(await young('send', 'july-2025', '--list', 'list.csv')).toBeLessThanOrEqual(2);
    expect(await young('--config', 'send', 'send', 'july-2025')).toBeLessThanOrEqual(2);
    expect(await young('--config=x.yaml', 'build', 'july-2025')).toBeGreaterThan(2);
    // The older spelling of a send.
    expect(await young('july-2025', '--send', '--list', 'list.csv')).toBeLessThanOrEqual(2);
    expect(await young('july-2025', '--send-test')).toBeGreaterThan(2);

    // Each kept its own cache: running them again rewrites neither.
    const cached = await files(path.join(dir, 'lib'));
    expect(Object.keys(cached).length).toBeGreaterThan(2);
    await young('send', 'july-2025');
    await young('build', 'july-2025');
    await young('send', 'july-2025');
    expect(await files(path.join(dir, 'lib'))).toEqual(cached);
  });
});

/**
 * bin/build-issue.js keeps V8's code cache for the bundle (by hand on Node 20, with
 * Node's compile cache on 22+). A rebuilt bundle must run its new code, even when it
 * has exactly the old one's length: V8's own check on Node 20 looks only at the length.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = path.resolve('bin/build-issue.js');

const bundle = (word: string) => `module.exports = { main: async () => { process.stdout.write(${JSON.stringify(word)}); } };\n`;

describe('the code cache of bin/build-issue.js', () => {
  it('runs a rebuilt bundle of the same length, not the cached old one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'code-cache-'));
    await mkdir(path.join(dir, 'bin'));
    await mkdir(path.join(dir, 'lib'));
    await cp(bin, path.join(dir, 'bin', 'build-issue.js'));
    await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n');
    const lib = path.join(dir, 'lib', 'build-issue.cjs');
    const env = { ...process.env, BUILD_ISSUE_NO_CODE_CACHE: '' };

    await writeFile(lib, bundle('AAAA'));
    const first = await run(process.execPath, [path.join(dir, 'bin', 'build-issue.js')], { env });
    expect(first.stdout).toBe('AAAA');
    // The first run left a cache behind (a .v8cache file on Node 20, .compile-cache/ on 22+).
    expect((await readdir(path.join(dir, 'lib'))).length).toBeGreaterThan(1);

    await writeFile(lib, bundle('BBBB')); // same length, new code
    const second = await run(process.execPath, [path.join(dir, 'bin', 'build-issue.js')], { env });
    expect(second.stdout).toBe('BBBB');
  });
});

#!/usr/bin/env node
// Runs the bundled CLI, lib/build-issue.cjs (made by "npm install"; see scripts/bundle.mjs).
//
// A cold run spends about a quarter of its time parsing and compiling the 3 MB bundle,
// so V8's code cache for it is kept beside it in lib/:
// - Node 22.1 and later: module.enableCompileCache(), Node's own cache (lib/.compile-cache/).
// - Node 20, which lacks it: the same by hand (lib/build-issue.cjs.<node>.v8cache), with
//   vm.Script's cachedData. V8 checks only that a cache matches the source's length, so
//   a rebuilt bundle of the same length would run the old code: the cache file starts
//   with a stamp of the bundle (size, mtime, inode) and is used only when it matches.
//   Drop this path when Node 20 is dropped.
// BUILD_ISSUE_NO_CODE_CACHE=1 turns both off. A read-only install simply goes without.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** @typedef {{ main: () => Promise<void> }} Cli */

const file = fileURLToPath(new URL('../lib/build-issue.cjs', import.meta.url));
if (!existsSync(file)) {
  process.stderr.write('error: build-issue is not built yet.\n  Run "npm install" (or "npm run build") in the project folder, then try again.\n');
  process.exit(1);
}

const useCache = !process.env.BUILD_ISSUE_NO_CODE_CACHE;

// Typed by hand: @types/node follows Node 20, which lacks it.
const nodeModule = /** @type {{ enableCompileCache?: (directory: string) => unknown }} */ (/** @type {unknown} */ (Module));
if (typeof nodeModule.enableCompileCache === 'function') {
  if (useCache) nodeModule.enableCompileCache(path.join(path.dirname(file), '.compile-cache'));
  /** @type {Cli} */
  const cli = createRequire(import.meta.url)(file);
  await cli.main();
} else {
  await runWithCodeCache();
}

/** Node 20: load the bundle through vm.Script with a code cache kept beside it. */
async function runWithCodeCache() {
  const cacheFile = `${file}.${process.version}.v8cache`;
  const source = readFileSync(file, 'utf8');
  const { size, mtimeMs, ino } = statSync(file);
  const stamp = Buffer.from(`build-issue ${size} ${mtimeMs} ${ino}\n`);
  /** @type {Buffer | undefined} */
  let cachedData;
  if (useCache) {
    try {
      const saved = readFileSync(cacheFile);
      // Another bundle's cache (same length or not) is not offered to V8 at all.
      if (saved.subarray(0, stamp.length).equals(stamp)) cachedData = saved.subarray(stamp.length);
    } catch {
      // No cache yet: this run makes one.
    }
  }

  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  /** @type {{ exports: Cli }} */
  const cli = { exports: /** @type {Cli} */ ({}) };
  script.runInThisContext()(cli.exports, createRequire(file), cli, file, path.dirname(file));
  await cli.exports.main();

  if (useCache && (!cachedData || script.cachedDataRejected)) {
    // Made after the run, so it holds every function the build compiled. Written
    // beside and renamed, so a concurrent run never reads half a file.
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, Buffer.concat([stamp, script.createCachedData()]));
      renameSync(tmp, cacheFile);
    } catch {
      // Not writable: no cache, same result.
    }
  }
}

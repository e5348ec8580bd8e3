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
//
// A send (`send`, or the older `<issue> --send`) runs with a young generation that does not
// grow (1 MiB semi-spaces, not up to 16): a send keeps the list in memory for its whole run,
// and the young generation V8 grows for the build would otherwise stay resident beside it.
// Peak RSS of a send to 100,000 recipients: 151 -> 127 MiB, at the same rate; a build is
// 2-3% slower with it, so it is for the send only. V8 refuses a code cache made under other
// flags, so the send has its own cache (".send" in the file or folder name) and the two
// never evict each other.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

/** @typedef {{ main: () => Promise<void> }} Cli */

const file = fileURLToPath(new URL('../lib/build-issue.cjs', import.meta.url));
if (!existsSync(file)) {
  process.stderr.write('error: build-issue is not built yet.\n  Run "npm install" (or "npm run build") in the project folder, then try again.\n');
  process.exit(1);
}

const useCache = !process.env.BUILD_ISSUE_NO_CODE_CACHE;

const args = process.argv.slice(2);
// `send`, or the older spelling `build-issue <issue> --send` (src/cli/old-flags.ts).
const lean = commandName(args) === 'send' || args.includes('--send');
if (lean) v8.setFlagsFromString('--semi-space-growth-factor=1');
const cacheKind = lean ? '.send' : '';

// Typed by hand: @types/node follows Node 20, which lacks it.
const nodeModule = /** @type {{ enableCompileCache?: (directory: string) => unknown }} */ (/** @type {unknown} */ (Module));
if (typeof nodeModule.enableCompileCache === 'function') {
  if (useCache) nodeModule.enableCompileCache(path.join(path.dirname(file), `.compile-cache${cacheKind}`));
  /** @type {Cli} */
  const cli = createRequire(import.meta.url)(file);
  await cli.main();
} else {
  await runWithCodeCache();
}

/** Node 20: load the bundle through vm.Script with a code cache kept beside it. */
async function runWithCodeCache() {
  const cacheFile = `${file}.${process.version}${cacheKind}.v8cache`;
  const { script, stamp, cacheUsed, cli } = loadWithCodeCache(cacheFile);
  await cli.main();

  if (useCache && !cacheUsed) {
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

/**
 * Compile and run the bundle, with its code cache when one matches. Apart from
 * runWithCodeCache so that the bundle's source (2.7 MB) and the cache (2.9 MB) are
 * garbage once compiled: an async function's locals live until it returns, which for a
 * send is the whole send.
 * @param {string} cacheFile
 */
function loadWithCodeCache(cacheFile) {
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
  return { script, stamp, cacheUsed: cachedData !== undefined && !script.cachedDataRejected, cli: cli.exports };
}

/**
 * The command a command line runs: its first word that is not an option (the global
 * --config takes a value). Only to choose V8's settings; the CLI parses the line itself.
 * @param {string[]} args
 */
function commandName(args) {
  let i = 0;
  while (i < args.length && args[i]?.startsWith('-')) i += args[i] === '--config' ? 2 : 1;
  return args[i];
}

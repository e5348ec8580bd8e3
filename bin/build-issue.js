#!/usr/bin/env node
// Runs the bundled CLI, lib/build-issue.cjs (made by "npm install"; see scripts/bundle.mjs).
//
// It keeps V8's code cache for the bundle beside it (lib/build-issue.cjs.<node>.v8cache),
// as Node 22's module.enableCompileCache() would: a run then skips parsing and compiling
// the 1.9 MB bundle, about 0.1 s of a 0.4 s cold build. V8 rejects a cache that does
// not match the file, which we then rewrite. BUILD_ISSUE_NO_CODE_CACHE=1 turns it off.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const file = fileURLToPath(new URL('../lib/build-issue.cjs', import.meta.url));
if (!existsSync(file)) {
  process.stderr.write('error: build-issue is not built yet.\n  Run "npm install" (or "npm run build") in the project folder, then try again.\n');
  process.exit(1);
}

const useCache = !process.env.BUILD_ISSUE_NO_CODE_CACHE;
const cacheFile = `${file}.${process.version}.v8cache`;
let cachedData;
if (useCache) {
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // No cache yet: this run makes one.
  }
}

const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
const cli = { exports: {} };
script.runInThisContext()(cli.exports, createRequire(file), cli, file, path.dirname(file));
await cli.exports.main();

if (useCache && (!cachedData || script.cachedDataRejected)) {
  // Made after the run, so it holds every function the build compiled. Written
  // beside and renamed, so a concurrent run never reads half a file; a read-only
  // install simply goes without.
  try {
    const tmp = `${cacheFile}.${process.pid}`;
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
  } catch {
    // Not writable: no cache, same result.
  }
}

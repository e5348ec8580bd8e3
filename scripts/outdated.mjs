// The monthly dependency check: `npm run outdated`.
//
// Every dependency is pinned exactly (package.json), so `npm outdated` alone says little:
// this lists each package whose registry version is newer than the pin, and for each the
// newest version that still runs on every Node version we support (package.json "engines"),
// so a newer major that needs a newer Node (commander 15, juice 12, vitest 5 need Node 22)
// is shown as "held back" rather than suggested. It changes nothing: update a pin with
// `npm install --save-exact NAME@VERSION`, run `npm test`, and commit one package at a time.
// Exit code: 0 whether or not anything is outdated; 1 if the registry could not be asked.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
// @ts-expect-error semver ships no types, and @types/semver is not worth a dependency for one script.
import semver from 'semver';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
/** @type {Record<string, string>} */
const pins = { ...pkg.dependencies, ...pkg.devDependencies };
const engines = String(pkg.engines?.node ?? '*');
// The oldest release in each part of "engines" (e.g. 20.19.0, 22.12.0, 24.0.0): a version we suggest must run on all of them.
const floors = engines.split('||').map((part) => semver.minVersion(part.trim())?.version ?? '0.0.0');

const registry = (await run('npm', ['config', 'get', 'registry'])).stdout.trim().replace(/\/?$/, '/');

/**
 * The registry's abbreviated document for a package: its dist-tags and, per version, its engines.
 * @param {string} name
 * @returns {Promise<{ latest: string, versions: Record<string, { engines?: { node?: string } }> }>}
 */
async function packument(name) {
  const res = await fetch(`${registry}${name.replace('/', '%2F')}`, { headers: { accept: 'application/vnd.npm.install-v1+json' } });
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  const doc = await res.json();
  return { latest: doc['dist-tags'].latest, versions: doc.versions };
}

/** @param {string | undefined} range */
const runsOnAll = (range) => !range || floors.every((v) => semver.satisfies(v, range, { includePrerelease: true }));

// @types/node follows the oldest Node we support: its types for a newer Node would let code
// use what Node 20 lacks.
const typesNodeMajor = semver.major(floors[0] ?? '20.0.0');

/** @type {{ name: string, pin: string, latest: string, suggest: string, note: string }[]} */
const rows = [];
let failed = false;
const found = await Promise.allSettled(Object.keys(pins).map((name) => packument(name)));
for (const [i, [name, pin]] of Object.entries(pins).entries()) {
  const result = found[i];
  try {
    if (!result || result.status === 'rejected') throw result?.reason;
    const { latest, versions } = result.value;
    if (!semver.gt(latest, pin)) continue;
    const usable = Object.keys(versions)
      .filter((v) => semver.gt(v, pin) && !semver.prerelease(v) && runsOnAll(versions[v]?.engines?.node))
      .filter((v) => name !== '@types/node' || semver.major(v) <= typesNodeMajor)
      .sort(semver.rcompare)[0];
    const latestEngines = versions[latest]?.engines?.node;
    rows.push({
      name,
      pin,
      latest,
      suggest: usable ?? '-',
      note: name === '@types/node' ? `held to Node ${typesNodeMajor}'s types` : runsOnAll(latestEngines) ? '' : `latest needs Node ${latestEngines}`,
    });
  } catch (err) {
    failed = true;
    process.stderr.write(`${name}: could not ask the registry (${/** @type {Error} */ (err).message.split('\n')[0]})\n`);
  }
}

process.stdout.write(`Node versions the suggestions must run on (from engines "${engines}"): ${floors.join(', ')}\n\n`);
if (rows.length === 0) {
  process.stdout.write('Every pinned package is at its latest version.\n');
} else {
  const head = { name: 'package', pin: 'pinned', latest: 'latest', suggest: 'update to', note: '' };
  const table = [head, ...rows.sort((a, b) => a.name.replace('@', '').localeCompare(b.name.replace('@', '')))];
  const width = (/** @type {keyof typeof head} */ k) => Math.max(...table.map((r) => r[k].length));
  for (const r of table) {
    process.stdout.write(
      `${`${r.name.padEnd(width('name'))}  ${r.pin.padEnd(width('pin'))}  ${r.latest.padEnd(width('latest'))}  ${r.suggest.padEnd(width('suggest'))}  ${r.note}`.trimEnd()}\n`,
    );
  }
  process.stdout.write('\nUpdate one at a time: npm install --save-exact NAME@VERSION && npm test, then commit.\n');
}
process.exit(failed ? 1 : 0);

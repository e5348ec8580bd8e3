// Updates the vendored caniemail data (src/check/client-support/data/): fetches the
// caniemail package from the npm registry with `npm pack` into a temporary folder,
// copies its caniemail.json and LICENSE, rewrites the README's source lines, and
// prints what changed (package version, data date, number of features, features
// added, removed or changed).
//
//   npm run update-caniemail              # the latest published version
//   npm run update-caniemail -- 1.0.6     # a given version
//   npm run update-caniemail -- --dry-run # print what would change, write nothing
//
// Then run `npx vitest run test/client-support.test.ts`: it checks every feature our
// detector looks for still exists in the data, and the verdicts the tests rely on.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DATA_DIR = fileURLToPath(new URL('../src/check/client-support/data/', import.meta.url));
const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const version = args.find((a) => !a.startsWith('-')) ?? 'latest';

/**
 * Run a command; its standard output, or an error with its messages.
 * @param {string} command
 * @param {string[]} commandArgs
 * @param {string} [cwd]
 * @returns {string}
 */
function run(command, commandArgs, cwd) {
  const r = spawnSync(command, commandArgs, { cwd, encoding: 'utf8', shell: process.platform === 'win32', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${command} ${commandArgs.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * The README beside the data: what it is, where it came from, how to update it.
 * @param {{ version: string, tarball: string, integrity: string, api: string, updated: string, features: number, copied: string }} source
 */
function readme({ version, tarball, integrity, api, updated, features, copied }) {
  return `# caniemail's data, vendored

\`caniemail.json\` is the data file of the npm package
[caniemail](https://www.npmjs.com/package/caniemail) (repository
[shellscape/caniemail](https://github.com/shellscape/caniemail)), copied unchanged:
caniemail.com's support tables for HTML and CSS features in email clients.
\`LICENSE\` is that package's licence (MIT).

- Package: caniemail@${version}
- Tarball: ${tarball}
- Integrity: ${integrity}
- Data: api_version ${api}, last_update_date ${updated}, ${features} features
- Copied: ${copied}

The client-support check (\`src/check/client-support/caniemail.ts\`) reads it at run time, only
when the check runs (\`build-issue check\`, or \`--check\`). We read the data only: the package's
analyzer is not used (see \`../detect.ts\` for why), and the package itself declares prettier
and babel as run-time dependencies, so it is not a dependency.

To update: \`npm run update-caniemail\` (scripts/update-caniemail.mjs) fetches the latest
published package, replaces \`caniemail.json\`, \`LICENSE\` and the lines above, and prints
what changed; then run \`npx vitest run test/client-support.test.ts\`.
`;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'caniemail-'));
try {
  // npm pack fetches the published tarball as it is (no install, no scripts run).
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const [packed] = JSON.parse(run(npm, ['pack', `caniemail@${version}`, '--json', '--ignore-scripts', '--pack-destination', tmp], tmp));
  if (!packed?.filename) throw new Error('npm pack did not say which file it wrote');
  run('tar', ['-xzf', path.join(tmp, path.basename(packed.filename)), '-C', tmp]);
  const pkgDir = path.join(tmp, 'package');
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));

  // Where the package keeps its data: its "./caniemail.json" export (data/caniemail.json in 1.0.5).
  const exported = pkg.exports?.['./caniemail.json'];
  const dataPath = path.join(pkgDir, typeof exported === 'string' ? exported : 'data/caniemail.json');
  const text = readFileSync(dataPath, 'utf8');
  /** @typedef {{ api_version?: string, last_update_date?: string, data: { slug: string, stats: unknown }[] }} Data */
  /** @type {Data} */
  const next = JSON.parse(text);
  if (!Array.isArray(next.data) || !next.data.every((f) => typeof f.slug === 'string' && f.stats)) {
    throw new Error(`${path.relative(pkgDir, dataPath)} in caniemail@${pkg.version} is not in the shape we read (data: [{ slug, stats, ... }])`);
  }
  const licenseFile = readdirSync(pkgDir).find((f) => /^licen[cs]e(\.md|\.txt)?$/i.test(f));
  if (!licenseFile) throw new Error(`caniemail@${pkg.version} has no LICENSE file: check its licence before vendoring it`);
  if (pkg.license !== 'MIT')
    console.warn(`Note: caniemail@${pkg.version} declares the licence "${pkg.license}" (1.0.5 was MIT): check it still allows vendoring.`);

  // What we have now.
  const ownFile = path.join(DATA_DIR, 'caniemail.json');
  const ownReadme = path.join(DATA_DIR, 'README.md');
  /** @type {Data} */
  const prev = existsSync(ownFile) ? JSON.parse(readFileSync(ownFile, 'utf8')) : { data: [] };
  const prevVersion = existsSync(ownReadme) ? (/caniemail@([\w.+-]+)/.exec(readFileSync(ownReadme, 'utf8'))?.[1] ?? 'unknown') : 'none';

  const before = new Map(prev.data.map((f) => [f.slug, f]));
  const after = new Map(next.data.map((f) => [f.slug, f]));
  const added = [...after.keys()].filter((s) => !before.has(s));
  const removed = [...before.keys()].filter((s) => !after.has(s));
  const changed = [...after.keys()].filter((s) => before.has(s) && JSON.stringify(before.get(s)?.stats) !== JSON.stringify(after.get(s)?.stats));

  const lines = [
    `caniemail: ${prevVersion} -> ${pkg.version}`,
    `  data date: ${prev.last_update_date ?? 'none'} -> ${next.last_update_date}`,
    `  api_version: ${prev.api_version ?? 'none'} -> ${next.api_version}`,
    `  features: ${before.size} -> ${after.size} (${added.length} added, ${removed.length} removed, ${changed.length} with changed support data)`,
  ];
  if (added.length) lines.push(`  added: ${added.join(', ')}`);
  if (removed.length)
    lines.push(`  removed: ${removed.join(', ')} (if the detector uses one, test/client-support.test.ts fails: update src/check/client-support/features.ts)`);
  if (changed.length) lines.push(`  changed: ${changed.join(', ')}`);
  console.log(lines.join('\n'));

  if (text === (existsSync(ownFile) ? readFileSync(ownFile, 'utf8') : '')) {
    console.log("The data is already this version's: nothing to write.");
  } else if (dryRun) {
    console.log('--dry-run: nothing written.');
  } else {
    writeFileSync(ownFile, text);
    writeFileSync(path.join(DATA_DIR, 'LICENSE'), readFileSync(path.join(pkgDir, licenseFile)));
    writeFileSync(
      ownReadme,
      readme({
        version: pkg.version,
        tarball: `https://registry.npmjs.org/caniemail/-/caniemail-${pkg.version}.tgz`,
        integrity: packed.integrity ?? 'unknown',
        api: next.api_version ?? 'unknown',
        updated: next.last_update_date ?? 'unknown',
        features: after.size,
        copied: new Date().toISOString().slice(0, 10),
      }),
    );
    console.log(
      `Wrote ${path.relative(process.cwd(), DATA_DIR) || DATA_DIR}: caniemail.json, LICENSE, README.md. Now run: npx vitest run test/client-support.test.ts`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// Bundles src/cli.ts and its dependencies into one CommonJS file, lib/build-issue.cjs
// (run by "npm install" via "prepare", and by "npm test"). Why a bundle: Node 20
// spends most of a cold `build-issue` run resolving and compiling ~1,500 small module
// files (mjml alone pulls in lodash, cheerio, parse5...). One file loads in about
// half the time, and bin/build-issue.js can keep V8's code cache for it.
//
// Modules that mjml-core or cheerio require at start-up but that build-issue never
// calls are replaced by stubs that throw if ever called:
//   htmlnano, cssnano-preset-lite, js-beautify: MJML's minify/beautify (we minify
//     ourselves, see src/render/minify-html.ts);
//   undici, encoding-sniffer: cheerio's fetch-a-URL and sniff-a-Buffer loaders.
// And one that is absent altogether (requiring it throws, as if it were not installed):
//   source-map: Handlebars loads it in a try/catch for source maps of compiled templates,
//     which we never ask for, and falls back to its own string builder (the same output).
// The bundle is then made pure ASCII: esbuild leaves a few non-ASCII characters in regular
// expressions (an ellipsis, a bullet), and one is enough for V8 to keep the whole 3 MB
// source two bytes a character. Each becomes its \u escape, which means the same there.
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const UNUSED = ['htmlnano', 'cssnano-preset-lite', 'js-beautify', 'undici', 'encoding-sniffer'];
const ABSENT = ['source-map'];

// issues/schema.json's text, made once here (about 11 ms at run time): every build
// compares the schema.json an issue points at with it (src/issue/schema-file.ts).
const probe = await build({
  absWorkingDir: root,
  stdin: { contents: "export { issueSchemaJsonText } from './src/issue/schema.ts';", resolveDir: root, loader: 'ts' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  logLevel: 'warning',
});
const [probeFile] = probe.outputFiles ?? [];
if (!probeFile) throw new Error('esbuild wrote no output for the schema probe');
/** @type {{ exports: { issueSchemaJsonText?: () => string } }} */
const probed = { exports: {} };
new Function('module', 'exports', 'require', probeFile.text)(probed, probed.exports, createRequire(import.meta.url));
if (!probed.exports.issueSchemaJsonText) throw new Error('src/issue/schema.ts no longer exports issueSchemaJsonText');
const schemaJson = probed.exports.issueSchemaJsonText();

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outfile: 'lib/build-issue.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  // src/ is ESM and uses import.meta.url; in the CommonJS bundle that is this file's URL.
  define: { 'import.meta.url': '__bundleUrl', __ISSUE_SCHEMA_JSON__: JSON.stringify(schemaJson) },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // playwright-core is loaded from node_modules when --screenshots runs: it is large,
  // finds its own files at run time, and most builds never start a browser. imapflow and
  // mailparser likewise, when `inbox` runs: bundled, they made the file 1.8 MB (60%) larger
  // for every cold build.
  external: ['playwright-core', 'imapflow', 'mailparser'],
  plugins: [
    {
      name: 'unused-modules',
      setup(b) {
        const filter = new RegExp(`^(${UNUSED.join('|')})$`);
        b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'unused' }));
        b.onLoad({ filter: /.*/, namespace: 'unused' }, (args) => ({
          loader: 'js',
          contents: `const fail = () => { throw new Error(${JSON.stringify(args.path)} + ' was left out of the build-issue bundle (scripts/bundle.mjs): it was thought unused'); };
module.exports = new Proxy(fail, { get: (_, key) => (key === '__esModule' ? false : fail) });`,
        }));
        const absent = new RegExp(`^(${ABSENT.join('|')})$`);
        b.onResolve({ filter: absent }, (args) => ({ path: args.path, namespace: 'absent' }));
        b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
          loader: 'js',
          contents: `throw Object.assign(new Error(${JSON.stringify(args.path)} + ' is left out of the build-issue bundle (scripts/bundle.mjs)'), { code: 'MODULE_NOT_FOUND' });`,
        }));
      },
    },
  ],
});

const bundle = 'lib/build-issue.cjs';
const text = readFileSync(new URL(`../${bundle}`, import.meta.url), 'utf8');
const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
if (ascii !== text) writeFileSync(new URL(`../${bundle}`, import.meta.url), ascii);

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
// lodash/fp (mjml-hero, mjml-section, mjml-parser-xml) is replaced by
// scripts/bundle-shims/lodash-fp.cjs: the five fp methods they use, with fp's currying and
// argument order, on the bundle's one `lodash`. The real one loads lodash.min.js (a second
// lodash) and converts every method at start-up. The build fails if a bundled module uses an
// fp method the shim lacks.
// The `entities` package is in node_modules five times over (4.5.0, 6.0.1, 7.0.1 twice, 8.1.0),
// and several were bundled in both their CommonJS and ESM builds. They are folded into two
// copies (ENTITIES below): what each importer uses was read in their sources, and where
// versions differ compared with the copy it now gets. 7.0.1 stays apart: its decodeHTML and
// EntityDecoder (htmlparser2 10's tokenizer) differ from the others (`&backepsilonx` decodes
// to "\u00c1x" there, unchanged elsewhere).
// The bundle is then made pure ASCII: esbuild leaves a few non-ASCII characters in regular
// expressions (an ellipsis, a bullet), and one is enough for V8 to keep the whole 3 MB
// source two bytes a character. Each becomes its \u escape, which means the same there.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const UNUSED = ['htmlnano', 'cssnano-preset-lite', 'js-beautify', 'undici', 'encoding-sniffer'];
const ABSENT = ['source-map'];

const LODASH_FP_SHIM = path.join(root, 'scripts/bundle-shims/lodash-fp.cjs');
const LODASH_FP_METHODS = new Set(Object.keys(createRequire(import.meta.url)(LODASH_FP_SHIM)));

// Each `entities` copy an import would reach -> the copy it gets instead, with the version
// each must be (checked at build time, so an update of any of them stops the build for a
// new look). Paths are relative to node_modules/; `to` keeps the rest of the path (decode.js,
// escape.js, index.js), except where `files` maps it.
// - 4.5.0 (CommonJS, node_modules/entities/lib) for: htmlparser2 9 (cheerio's, mjml-parser-xml's,
//   web-resource-inliner's: EntityDecoder, DecodingMode, html/xmlDecodeTree, fromCodePoint) and
//   dom-serializer (encodeXML, escapeAttribute, escapeText), as before; dom-serializer's ESM build,
//   which had 4.5.0's ESM build (the same version); parse5 7 (6.0.1: EntityDecoder, DecodingMode, htmlDecodeTree,
//   escapeAttribute, escapeText): 6.0.1 is 4.5.0 recompiled for ES2022 (same decoder, same
//   decode tables, same escape maps); markdown-it 15 (8.1.0: decodeHTMLStrict on `&name;` and
//   `&#...;` matches only): the same result on 7.3 million such inputs (every entity name, each
//   with one character added, dropped or changed, every code point in decimal and hex, 2 million
//   random names).
// - 7.0.1 (CommonJS, htmlparser2's copy) for: htmlparser2 10 (its ESM build too) and juice
//   (decode), whose own copy is the same 7.0.1, file for file.
const ENTITIES = [
  { from: 'entities/lib/esm/', version: '4.5.0', to: 'entities/lib/' },
  {
    from: 'parse5/node_modules/entities/dist/commonjs/',
    version: '6.0.1',
    to: 'entities/lib/',
    files: { 'decode.js': 'decode.js', 'escape.js': 'escape.js' },
  },
  { from: 'markdown-it/node_modules/entities/dist/', version: '8.1.0', to: 'entities/lib/', files: { 'index.js': 'index.js' } },
  { from: 'htmlparser2/node_modules/entities/dist/esm/', version: '7.0.1', to: 'htmlparser2/node_modules/entities/dist/commonjs/' },
  { from: 'juice/node_modules/entities/dist/commonjs/', version: '7.0.1', to: 'htmlparser2/node_modules/entities/dist/commonjs/' },
];
const ENTITIES_KEPT = [
  { dir: 'entities/lib/', version: '4.5.0' },
  { dir: 'htmlparser2/node_modules/entities/dist/commonjs/', version: '7.0.1' },
];
const nodeModules = path.join(root, 'node_modules/');
/** @param {string} dir a folder inside an entities package, relative to node_modules/ */
function entitiesVersion(dir) {
  const pkg = path.join(nodeModules, dir.slice(0, dir.indexOf('entities/') + 'entities/'.length), 'package.json');
  return /** @type {{ version: string }} */ (JSON.parse(readFileSync(pkg, 'utf8'))).version;
}
for (const { dir, version } of [...ENTITIES_KEPT, ...ENTITIES.map((e) => ({ dir: e.from, version: e.version }))]) {
  const found = entitiesVersion(dir);
  if (found !== version) {
    throw new Error(
      `node_modules/${dir} is entities ${found}, not ${version}: check its API against its importers, then update ENTITIES in scripts/bundle.mjs`,
    );
  }
}

/**
 * The lodash/fp members a module uses, from its source (Babel's `var _fp = require("lodash/fp")`
 * then `_fp.name`, or `import { name } from 'lodash/fp'`); undefined when it uses it some other way.
 * @param {string} source
 */
function lodashFpMembers(source) {
  const names = new Set();
  const imported = /import\s*\{([^}]*)\}\s*from\s*["']lodash\/fp["']/g;
  for (const m of source.matchAll(imported)) for (const name of (m[1] ?? '').split(',')) names.add(name.trim().split(/\s+as\s+/)[0]);
  const bindings = [...source.matchAll(/\b(?:var|let|const)\s+([\w$]+)\s*=\s*require\(["']lodash\/fp["']\)/g)].map((m) => m[1] ?? '');
  const uses = [...source.matchAll(/require\(["']lodash\/fp["']\)|from\s*["']lodash\/fp["']/g)].length;
  if (uses !== bindings.length + [...source.matchAll(imported)].length) return undefined;
  for (const binding of bindings) {
    const escaped = binding.replace(/\$/g, '\\$');
    const anyUse = source.match(new RegExp(`(?<![\\w$.])${escaped}(?![\\w$])`, 'g'))?.length ?? 0;
    const memberUses = [...source.matchAll(new RegExp(`(?<![\\w$.])${escaped}\\.([\\w$]+)`, 'g'))];
    if (anyUse !== memberUses.length + 1) return undefined; // used whole (passed on, indexed...)
    for (const m of memberUses) names.add(m[1]);
  }
  names.delete('');
  return names;
}

// issues/schema.json's text, made once here (about 11 ms at run time): every build
// compares the schema.json an issue points at with it (src/issue/schema-file.ts).
const probe = await build({
  absWorkingDir: root,
  stdin: {
    contents: [
      "export { issueSchemaJsonText } from './src/issue/schema.ts';",
      "export { COMPILE_OPTIONS, templateKey } from './src/render/templates.ts';",
      "export { default as Handlebars } from 'handlebars';",
    ].join('\n'),
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  logLevel: 'warning',
});
const [probeFile] = probe.outputFiles ?? [];
if (!probeFile) throw new Error('esbuild wrote no output for the schema probe');
/**
 * @type {{ exports: {
 *   issueSchemaJsonText?: () => string,
 *   COMPILE_OPTIONS?: object,
 *   templateKey?: (source: string) => string,
 *   Handlebars?: { precompile: (source: string, options: object) => string },
 * } }}
 */
const probed = { exports: {} };
new Function('module', 'exports', 'require', probeFile.text)(probed, probed.exports, createRequire(import.meta.url));
const { issueSchemaJsonText, COMPILE_OPTIONS, templateKey, Handlebars } = probed.exports;
if (!issueSchemaJsonText) throw new Error('src/issue/schema.ts no longer exports issueSchemaJsonText');
if (!COMPILE_OPTIONS || !templateKey || !Handlebars) throw new Error('src/render/templates.ts no longer exports COMPILE_OPTIONS and templateKey');
const schemaJson = issueSchemaJsonText();

// The project's templates (templates/**/*.hbs), precompiled with the options and the Handlebars
// the bundle runs with, for src/render/precompiled-templates.ts: a cold build of unedited
// templates skips Handlebars' parser and compiler (about 20 ms). An edited template's key differs.
const templateFiles = readdirSync(path.join(root, 'templates'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.hbs'));
const precompiledModule = `export const PRECOMPILED = new Map([\n${templateFiles
  .map((f) => {
    const source = readFileSync(path.join(root, 'templates', f), 'utf8');
    return `  [${JSON.stringify(templateKey(source))}, ${Handlebars.precompile(source, { ...COMPILE_OPTIONS })}],`;
  })
  .join('\n')}\n]);\n`;

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
      name: 'precompiled-templates',
      setup(b) {
        b.onResolve({ filter: /\/precompiled-templates\.js$/ }, (args) => ({ path: args.path, namespace: 'precompiled-templates' }));
        b.onLoad({ filter: /.*/, namespace: 'precompiled-templates' }, () => ({ loader: 'js', contents: precompiledModule }));
      },
    },
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
    {
      name: 'lodash-fp-shim',
      setup(b) {
        b.onResolve({ filter: /^lodash\/fp(\.js)?$/ }, (args) => {
          const members = lodashFpMembers(readFileSync(args.importer, 'utf8'));
          if (!members) throw new Error(`${args.importer} uses lodash/fp in a way scripts/bundle.mjs cannot check against its shim`);
          const missing = [...members].filter((name) => !LODASH_FP_METHODS.has(name));
          if (missing.length) {
            throw new Error(`${args.importer} uses lodash/fp's ${missing.join(', ')}, missing from ${path.relative(root, LODASH_FP_SHIM)}`);
          }
          return { path: LODASH_FP_SHIM };
        });
        b.onResolve({ filter: /^lodash\/fp\/./ }, (args) => {
          const name = args.path.slice('lodash/fp/'.length).replace(/\.js$/, '');
          if (!LODASH_FP_METHODS.has(name)) throw new Error(`${args.importer} requires ${args.path}, missing from ${path.relative(root, LODASH_FP_SHIM)}`);
          return { path: name, namespace: 'lodash-fp-method' };
        });
        b.onLoad({ filter: /.*/, namespace: 'lodash-fp-method' }, (args) => ({
          loader: 'js',
          resolveDir: root,
          contents: `module.exports = require(${JSON.stringify(LODASH_FP_SHIM)})[${JSON.stringify(args.path)}];`,
        }));
      },
    },
    {
      name: 'one-entities',
      setup(b) {
        b.onResolve({ filter: /^entities(\/.*)?$/ }, async (args) => {
          if (args.pluginData === 'one-entities') return undefined;
          const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'one-entities' });
          if (found.errors.length) return { errors: found.errors };
          const rel = path.relative(nodeModules, found.path).split(path.sep).join('/');
          const entry = ENTITIES.find(({ from }) => rel.startsWith(from));
          if (!entry && ENTITIES_KEPT.some(({ dir }) => rel.startsWith(dir))) return { path: found.path };
          if (!entry)
            throw new Error(`${args.importer} imports ${args.path} (${rel}), an entities copy scripts/bundle.mjs has not checked: add it to ENTITIES`);
          const rest = rel.slice(entry.from.length);
          const files = /** @type {Record<string, string | undefined> | undefined} */ (entry.files);
          const file = files ? files[rest] : rest;
          const target = file && path.join(nodeModules, entry.to, file);
          if (!target || !existsSync(target))
            throw new Error(`${args.importer} imports ${args.path} (${rel}), which ENTITIES in scripts/bundle.mjs does not map`);
          return { path: target };
        });
      },
    },
  ],
});

const bundle = 'lib/build-issue.cjs';
const text = readFileSync(new URL(`../${bundle}`, import.meta.url), 'utf8');
const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
if (ascii !== text) writeFileSync(new URL(`../${bundle}`, import.meta.url), ascii);

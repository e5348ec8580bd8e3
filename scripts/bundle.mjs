// Bundles src/cli.ts and its dependencies into lib/cli.js (run by "npm install" via
// "prepare", and by "npm test"). Why a bundle: Node 20 spends most of a cold
// `build-issue` run resolving and compiling ~1,500 small module files (mjml alone
// pulls in lodash, cheerio, parse5...). One file loads in about a third of the time.
//
// Modules that mjml-core or cheerio require at start-up but that build-issue never
// calls are replaced by stubs that throw if ever called:
//   htmlnano, cssnano-preset-lite, js-beautify: MJML's minify/beautify (we minify
//     ourselves, see src/render/minify-html.ts);
//   undici, encoding-sniffer: cheerio's fetch-a-URL and sniff-a-Buffer loaders.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const UNUSED = ['htmlnano', 'cssnano-preset-lite', 'js-beautify', 'undici', 'encoding-sniffer'];

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts', 'src/index.ts'],
  outdir: 'lib',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
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
      },
    },
  ],
});

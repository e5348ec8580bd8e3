#!/usr/bin/env node
// Runs the compiled CLI in lib/ (npm install compiles src/ into it: see "prepare").
import { existsSync } from 'node:fs';

const cli = new URL('../lib/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('error: build-issue is not compiled yet.\n  Run "npm install" (or "npm run build") in the project folder, then try again.\n');
  process.exit(1);
}
const { main } = await import(cli.href);
await main();

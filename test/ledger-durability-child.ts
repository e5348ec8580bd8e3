/**
 * Runs the CLI from src/ in its own process (for test/ledger-durability.test.ts):
 * a crash in it (such as an uncaught ENOSPC) cannot take the test runner down.
 *   node --import tsx test/ledger-durability-child.ts july-2025 --send --list ... --yes
 * Run in the project folder; prints what the CLI prints and exits with its code.
 */
import { run } from '../src/cli.js';

const code = await run(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;

/**
 * The DKIM send rate, and the cost of personal unsubscribe links: July to N recipients (default 1,000) through the project's
 * loopback test sink (test/smtp-sink.ts, in a process of its own, restarted for
 * every run so its record of accepted messages starts empty), with DKIM signing on
 * and off, in paired runs that alternate which goes first. Each run is a new
 * process (test/bench/dkim-bench.ts --child), so neither inherits the other's JIT
 * warmth. Prints medians and the median of per-pair ratios. Then (6c) the same send with
 * personal unsubscribe links (a sealed token per recipient in List-Unsubscribe, DKIM on in
 * both) against the shared link.
 *
 *   node --import tsx test/bench/dkim-bench.ts
 *   BENCH_DKIM_MESSAGES (1000), BENCH_DKIM_PAIRS (5), BENCH_DKIM_CONNECTIONS (4)
 *
 * Figures only: nothing here passes or fails.
 */
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const self = fileURLToPath(import.meta.url);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface RunResult {
  sent: number;
  seconds: number;
  rate: number;
  messageBytes: number;
}

/** Which variant a run sends: DKIM signing, and personal unsubscribe links (a token per recipient in List-Unsubscribe). */
interface Variant {
  dkim: boolean;
  personal: boolean;
}

/** One send, in this process: `--child <dkim on|off> <recipients> <connections> <personal on|off>`, SMTP_URL (and DKIM_PRIVATE_KEY) in the env. */
async function child({ dkim, personal }: Variant, n: number, connections: number): Promise<void> {
  const { buildIssue } = await import('../../src/index.js');
  const { Ledger } = await import('../../src/send/ledger.js');
  const { readList } = await import('../../src/send/list.js');
  const { prepareMessage } = await import('../../src/send/message.js');
  const { runSend } = await import('../../src/send/sender.js');
  const { parseSmtpUrl } = await import('../../src/send/smtp-settings.js');
  const { unsubscribeKeys } = await import('../../src/send/unsubscribe-token.js');
  const work = await mkdtemp(path.join(os.tmpdir(), 'dkim-bench-'));
  try {
    const listFile = path.join(work, 'list.csv');
    await writeFile(listFile, `email,name\n${Array.from({ length: n }, (_, i) => `reader${i}@example.org,Reader ${i}`).join('\n')}\n`);
    const build = await buildIssue('july-2025', { root, write: false, check: false });
    const base = { ...build.config, unsubscribe: { ...build.config.unsubscribe, url: 'https://liia.london/newsletter/unsubscribe' } };
    const config = dkim ? { ...base, dkim: { domainName: 'example.org', keySelector: 'bench' } } : { ...base, dkim: undefined };
    const unsubscribe = personal ? unsubscribeKeys('bench-secret-0123456789-abcdefghijklmnop', 'LIIA <newsletter.example.org>') : undefined;
    const message = await prepareMessage(build, config, { root, env: process.env, unsubscribe });
    const list = await readList(listFile);
    const ledger = new Ledger(path.join(work, 'ledger.jsonl'));
    const started = performance.now();
    const result = await runSend({
      smtp: parseSmtpUrl(process.env.SMTP_URL!),
      message,
      recipients: list.recipients,
      ledger,
      rate: 1e9,
      connections,
      maxRetries: 0,
      retryBaseMs: 10,
      failureWindow: 100,
      failureRate: 1,
    });
    const seconds = (performance.now() - started) / 1000;
    ledger.close();
    const out: RunResult = { sent: result.sent.length, seconds, rate: result.sent.length / seconds, messageBytes: message.size };
    console.log(JSON.stringify(out));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Start test/smtp-sink-child.ts; resolves with its URL and a stop function. */
async function startSinkProcess(): Promise<{ url: string; stop: () => Promise<void> }> {
  const p = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/smtp-sink-child.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: p.stdout! });
    lines.on('line', (l) => {
      const m = /^READY (\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    p.once('exit', (code) => reject(new Error(`smtp-sink-child exited (${code}) before it was ready`)));
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
      }),
  };
}

const onOff = (b: boolean) => (b ? 'on' : 'off');

async function oneRun(v: Variant, n: number, connections: number, key: string): Promise<RunResult> {
  const sink = await startSinkProcess();
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', onOff(v.dkim), String(n), String(connections), onOff(v.personal)], {
      cwd: root,
      env: { ...process.env, SMTP_URL: sink.url, DKIM_PRIVATE_KEY: key },
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as RunResult;
    if (r.sent !== n) throw new Error(`only ${r.sent} of ${n} sent (DKIM ${onOff(v.dkim)}, personal links ${onOff(v.personal)})`);
    return r;
  } finally {
    await sink.stop();
  }
}

/** Paired runs of two variants, alternating which goes first; medians and the median of per-pair ratios. */
async function paired(
  a: Variant,
  b: Variant,
): Promise<{ a: number[]; b: number[]; ratio: number; n: number; pairs: number; connections: number; bytes: number }> {
  const n = Number(process.env.BENCH_DKIM_MESSAGES ?? 1000);
  const pairs = Number(process.env.BENCH_DKIM_PAIRS ?? 5);
  const connections = Number(process.env.BENCH_DKIM_CONNECTIONS ?? 4);
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ra: number[] = [];
  const rb: number[] = [];
  let bytes = 0;
  await oneRun(a, Math.min(n, 100), connections, key); // untimed, so the file cache is warm for both
  for (let i = 0; i < pairs; i++) {
    for (const first of i % 2 ? [false, true] : [true, false]) {
      const r = await oneRun(first ? a : b, n, connections, key);
      (first ? ra : rb).push(r.rate);
      bytes = r.messageBytes;
    }
  }
  return { a: ra, b: rb, ratio: median(ra.map((x, i) => x / rb[i]!)), n, pairs, connections, bytes };
}

const rates = (xs: number[]) => `median ${median(xs).toFixed(0)} msg/s  (${xs.map((x) => x.toFixed(0)).join(', ')})`;

/** DKIM on against off; printed as section "6b" of npm run bench. */
export async function dkimBenchmark(): Promise<void> {
  const r = await paired({ dkim: true, personal: false }, { dkim: false, personal: false });
  console.log(
    `6b. DKIM: July (${r.bytes} bytes) to ${r.n} recipients through test/smtp-sink.ts on 127.0.0.1, ${r.connections} connections, ${r.pairs} pairs, RSA-2048`,
  );
  console.log(`  DKIM on    ${rates(r.a)}`);
  console.log(`  DKIM off   ${rates(r.b)}`);
  console.log(`  ratio on/off: ${r.ratio.toFixed(2)}x (median of pairs)\n`);
}

/** Personal unsubscribe links (a sealed token per recipient in List-Unsubscribe, signed by DKIM) against the shared link; section "6c". */
export async function unsubscribeBenchmark(): Promise<void> {
  const r = await paired({ dkim: true, personal: true }, { dkim: true, personal: false });
  console.log(`6c. Personal unsubscribe links: the same send, DKIM on in both, ${r.pairs} pairs`);
  console.log(`  personal   ${rates(r.a)}`);
  console.log(`  shared     ${rates(r.b)}`);
  console.log(`  ratio personal/shared: ${r.ratio.toFixed(2)}x (median of pairs; the target is 0.90 or more)\n`);
}

if (process.argv[2] === '--child') {
  await child({ dkim: process.argv[3] === 'on', personal: process.argv[6] === 'on' }, Number(process.argv[4]), Number(process.argv[5]));
} else if (process.argv[1] && path.resolve(process.argv[1]) === self) {
  await dkimBenchmark();
  await unsubscribeBenchmark();
}

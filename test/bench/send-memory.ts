/**
 * Child process for the send benchmark: reads a generated circulation list of N
 * recipients and sends the July issue to all of them through SMTP_URL with the
 * ledger on, then prints one JSON line: counts, seconds and peak memory (also the peak RSS
 * as it stood after the build and after reading the list).
 * Usage: node --import tsx test/bench/send-memory.ts <recipients> <connections>
 * (BENCH_LEDGER_DURABLE=0: the ledger without fdatasync, for the bench's comparison.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIssue } from '../../src/index.js';
import { Ledger } from '../../src/send/ledger.js';
import { readList } from '../../src/send/list.js';
import { prepareMessage } from '../../src/send/message.js';
import { runSend } from '../../src/send/sender.js';
import { parseSmtpUrl } from '../../src/send/smtp-settings.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const n = Number(process.argv[2] ?? 100_000);
const connections = Number(process.argv[3] ?? 4);
const work = await mkdtemp(path.join(os.tmpdir(), 'send-bench-'));
try {
  const listFile = path.join(work, 'list.csv');
  await writeFile(listFile, `email,name\n${Array.from({ length: n }, (_, i) => `reader${i}@example.org,Reader ${i}`).join('\n')}\n`);
  const build = await buildIssue('july-2025', { root, write: false, check: false });
  const message = await prepareMessage(build, build.config, { root });
  // Peak RSS so far: where the whole send's peak comes from (the build, the list, or the send itself).
  const peakAfterBuildMb = process.resourceUsage().maxRSS / 1024;
  const list = await readList(listFile);
  const peakAfterListMb = process.resourceUsage().maxRSS / 1024;
  // BENCH_LEDGER_DURABLE=0: the ledger without fdatasync, to show what durability costs.
  const ledger = new Ledger(path.join(work, 'ledger.jsonl'), { durable: process.env.BENCH_LEDGER_DURABLE !== '0' });
  let peakHeap = 0;
  const timer = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
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
  // The ledger's last flush is part of the send: a send is done when its outcomes are on disk.
  ledger.close();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  console.log(
    JSON.stringify({
      recipients: n,
      sent: result.sent.length,
      failed: result.failed.length,
      seconds,
      rate: result.sent.length / seconds,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      peakAfterBuildMb,
      peakAfterListMb,
      peakHeapMb: peakHeap / 1024 / 1024,
      messageBytes: message.size,
    }),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}

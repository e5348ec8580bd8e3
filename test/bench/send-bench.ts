/**
 * The send benchmark: our sender against Postfix's smtp-source, both pushing
 * July-sized messages into Postfix's smtp-sink on 127.0.0.1 (Debian package
 * postfix; both tools run without the mail daemon), paired runs at the same
 * concurrency. smtp-source runs with -d, keeping each connection for the next message as
 * our sender does (without it, it reconnects for every message and the comparison flatters
 * us), and is timed as a whole process (its start is a few milliseconds); ours is timed from
 * the first connection to the ledger's last flush. Then peak memory for 100,000 recipients (and 10,000, to show it
 * is flat in list size).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The median of a list of figures. */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function which(cmd: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const p = path.join(dir, cmd);
    if (spawnSync('test', ['-x', p]).status === 0) return p;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

function runChild(
  root: string,
  n: number,
  connections: number,
  url: string,
  durable = true,
): { rate: number; sent: number; seconds: number; peakRssMb: number; peakHeapMb: number; messageBytes: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'test/bench/send-memory.ts'), String(n), String(connections)], {
    cwd: root,
    env: { ...process.env, SMTP_URL: url, BENCH_LEDGER_DURABLE: durable ? '1' : '0' },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** The minimal client's rate (test/bench/smtp-floor.ts), in a process of its own. */
function floorRate(root: string, port: number, n: number, connections: number, pipelined: boolean, durable: boolean, bytes: number): number {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(root, 'test/bench/smtp-floor.ts'),
      String(port),
      String(n),
      String(connections),
      pipelined ? '1' : '0',
      durable ? '1' : '0',
      String(bytes),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return (JSON.parse(out.trim().split('\n').pop()!) as { rate: number }).rate;
}

/**
 * Peak memory of the real CLI (bin/build-issue.js, the bundle, as a user runs it) sending July
 * to a generated list of `n` recipients: `send --yes --skip-test-gate` in a fresh project, timed
 * and measured as a whole process by GNU time. The first run makes the send's code cache and is
 * not counted; the median of `runs` after it.
 */
async function cliSendPeak(root: string, n: number, connections: number, url: string, runs = 3): Promise<{ sent: number; seconds: number; peakRssMb: number }> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'send-bench-cli-'));
  try {
    await cp(path.join(root, 'templates'), path.join(project, 'templates'), { recursive: true });
    await cp(path.join(root, 'newsletter.config.yaml'), path.join(project, 'newsletter.config.yaml'));
    await mkdir(path.join(project, 'issues'));
    await cp(path.join(root, 'issues/july-2025.yaml'), path.join(project, 'issues/july-2025.yaml'));
    await writeFile(path.join(project, 'list.csv'), `email,name\n${Array.from({ length: n }, (_, i) => `reader${i}@example.org,Reader ${i}`).join('\n')}\n`);
    const once = async () => {
      await rm(path.join(project, 'sends'), { recursive: true, force: true });
      const args = [
        'send',
        'july-2025',
        '--list',
        'list.csv',
        '--yes',
        '--json',
        '--skip-test-gate',
        '--rate',
        '1000000',
        '--connections',
        String(connections),
      ];
      const t = performance.now();
      const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(root, 'bin/build-issue.js'), ...args], {
        cwd: project,
        env: { ...process.env, SMTP_URL: url },
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      const seconds = (performance.now() - t) / 1000;
      if (r.status !== 0) throw new Error(`build-issue send failed (exit ${r.status}): ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { sent: number };
      return { sent: out.sent, seconds, peakRssMb: Number(/(\d+)\s*$/.exec(r.stderr)?.[1]) / 1024 };
    };
    await once();
    const all = [];
    for (let i = 0; i < runs; i++) all.push(await once());
    return { sent: all[0]!.sent, seconds: median(all.map((x) => x.seconds)), peakRssMb: median(all.map((x) => x.peakRssMb)) };
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}

/** What the summary needs: the paired send rates and the peak memory at the large list, with smtp-source's own peak as its anchor. */
export interface SendFigures {
  ours: number;
  theirs: number;
  ratio: number;
  big: { recipients: number; rssMb: number; anchorMb: number };
}

/** smtp-source's own peak RSS for the same run, in MiB (GNU time), or NaN without /usr/bin/time. */
function sourcePeakMb(sourceBin: string, args: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', sourceBin, ...args], { encoding: 'utf8' });
  const kb = Number(/(\d+)\s*$/.exec(r.stderr ?? '')?.[1]);
  return kb / 1024;
}

export async function sendBenchmarks(root: string, messageBytes: number): Promise<SendFigures | undefined> {
  const sinkBin = which('smtp-sink');
  const sourceBin = which('smtp-source');
  if (!sinkBin || !sourceBin) {
    console.log("6. Sending: skipped, Postfix's smtp-sink and smtp-source are not installed (apt-get install postfix)\n");
    return undefined;
  }
  const n = Number(process.env.BENCH_SEND_MESSAGES ?? 3000);
  const pairs = Number(process.env.BENCH_SEND_PAIRS ?? 3);
  const connections = Number(process.env.BENCH_SEND_CONNECTIONS ?? 4);
  const big = Number(process.env.BENCH_SEND_BIG ?? 100_000);
  const port = await freePort();
  // smtp-sink drops privileges when run as root; it accepts and discards everything.
  const sinkArgs = [...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), `127.0.0.1:${port}`, '256'];
  const sink: ChildProcess = spawn(sinkBin, sinkArgs, { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const url = `smtp://127.0.0.1:${port}`;
  try {
    const ours: number[] = [];
    const theirs: number[] = [];
    const lax: number[] = [];
    const sourceArgs = [
      '-d',
      '-s',
      String(connections),
      '-l',
      String(messageBytes),
      '-m',
      String(n),
      '-f',
      'news@example.org',
      '-t',
      'reader@example.org',
      `127.0.0.1:${port}`,
    ];
    for (let i = 0; i < pairs; i++) {
      const t = performance.now();
      execFileSync(sourceBin, sourceArgs, { stdio: 'ignore' });
      theirs.push(n / ((performance.now() - t) / 1000));
      ours.push(runChild(root, n, connections, url).rate);
      lax.push(runChild(root, n, connections, url, false).rate);
    }
    const ratios = ours.map((o, i) => o / theirs[i]!);
    const laxRatios = lax.map((o, i) => o / theirs[i]!);
    console.log(`6. Sending ${n} July-sized messages (${messageBytes} bytes) to Postfix's smtp-sink on 127.0.0.1, ${connections} connections, ${pairs} pairs`);
    console.log(`  ours, ledger on   median ${median(ours).toFixed(0)} msg/s  (${ours.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`  smtp-source -d    median ${median(theirs).toFixed(0)} msg/s  (${theirs.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`  ours, no fdatasync median ${median(lax).toFixed(0)} msg/s  (${lax.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`  ratio ours/smtp-source -d: ${median(ratios).toFixed(2)}x (median of pairs); goal at least 0.9x (issue 17)`);
    console.log(
      `  without the ledger's fdatasync (not safe; shows what durability costs): ${median(laxRatios).toFixed(2)}x; durable/non-durable ${median(ours.map((o, i) => o / lax[i]!)).toFixed(2)}x\n`,
    );

    // 6d. The floor: the least a Node client can do per message, paired with smtp-source.
    const floorKinds = [
      { label: 'sequential, durable', pipelined: false, durable: true },
      { label: 'pipelined, durable', pipelined: true, durable: true },
      { label: 'sequential, no fdatasync', pipelined: false, durable: false },
      { label: 'pipelined, no fdatasync', pipelined: true, durable: false },
    ];
    const floorRatios = floorKinds.map(() => [] as number[]);
    for (let i = 0; i < pairs; i++) {
      const t = performance.now();
      execFileSync(sourceBin, sourceArgs, { stdio: 'ignore' });
      const source = n / ((performance.now() - t) / 1000);
      for (const [j, k] of floorKinds.entries()) floorRatios[j]!.push(floorRate(root, port, n, connections, k.pipelined, k.durable, messageBytes) / source);
    }
    console.log(
      `6d. The floor: a minimal client (test/bench/smtp-floor.ts: a raw socket, one prepared body, the ledger's record and group commit), paired with smtp-source -d`,
    );
    for (const [j, k] of floorKinds.entries()) {
      console.log(`  ${k.label.padEnd(26)} ${median(floorRatios[j]!).toFixed(2)}x  (${floorRatios[j]!.map((x) => x.toFixed(2)).join(', ')})`);
    }
    console.log(`  (ours, durable: ${median(ratios).toFixed(2)}x, pipelined: nodemailer pipelines when the server offers it, as smtp-sink does)\n`);

    const small = await cliSendPeak(root, Math.round(big / 10), connections, url);
    const large = await cliSendPeak(root, big, connections, url);
    console.log(`7. Peak memory of a whole send, the real CLI (build, list read, every message sent, ledger on; median of 3 runs)`);
    console.log(`  ${small.sent} recipients: peak RSS ${small.peakRssMb.toFixed(0)} MiB, ${small.seconds.toFixed(1)} s`);
    console.log(`  ${large.sent} recipients: peak RSS ${large.peakRssMb.toFixed(0)} MiB, ${large.seconds.toFixed(0)} s; goal at most 120 MiB`);
    const anchorMb = sourcePeakMb(
      sourceBin,
      sourceArgs.map((a) => (a === String(n) ? String(big) : a)),
    );
    console.log(`  smtp-source -d for ${big} messages: peak RSS ${anchorMb.toFixed(1)} MB\n`);
    return { ours: median(ours), theirs: median(theirs), ratio: median(ratios), big: { recipients: large.sent, rssMb: large.peakRssMb, anchorMb } };
  } finally {
    sink.kill('SIGTERM');
  }
}

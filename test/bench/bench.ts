/**
 * npm run bench: build speed and output size for the July issue, from paired runs.
 *
 *  1. Cold: a new `build-issue july-2025` process against the bare `mjml` CLI
 *     compiling the same intermediate MJML, run alternately (pairs), so both see
 *     the same machine load. Reports medians and the median of per-pair ratios.
 *     1b: the same without build-issue's V8 code cache (a first run after install).
 *     1c: July with its 7 pictures as local files against July with web addresses.
 *  2. Start-up alone: `--version` of each CLI, same pairing.
 *  3. Warm: in-process rebuilds of the same issue (what the preview does), paired with
 *     MJML's own in-process compile of the same MJML.
 *  4. Sizes of email.html, email.txt and email.eml.
 *  5. Preview: save-to-reload latency of --watch (test/bench/preview-bench.ts).
 *  6. Sending (test/bench/send-bench.ts): our sender against Postfix's smtp-source
 *     into smtp-sink, paired; 6d. the floor, a minimal client with the ledger's discipline
 *     (test/bench/smtp-floor.ts), paired with smtp-source; 7. peak memory for 100,000 recipients.
 *  6b. DKIM on against off (test/bench/dkim-bench.ts): July to 1,000 recipients
 *     through test/smtp-sink.ts, paired; BENCH_DKIM_MESSAGES, BENCH_DKIM_PAIRS (5).
 *
 * Last, a summary: each of issue 17's figures as a ratio to its anchor, with the load average.
 * Figures only: nothing here passes or fails, and no test asserts on time.
 * Options: BENCH_PAIRS (default 10), BENCH_WARM (default 20), BENCH_PREVIEW_SAVES (9),
 * BENCH_PREVIEW_IDLE_MS (1000, between saves; 0: back to back); BENCH_SEND=0 skips
 * sending, BENCH_SEND_MESSAGES (3000), BENCH_SEND_PAIRS (3), BENCH_SEND_CONNECTIONS (4),
 * BENCH_SEND_BIG (100000).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mjml2html from 'mjml';
import { PNG } from 'pngjs';
import { buildIssue, GMAIL_CLIP_BYTES } from '../../src/index.js';
import { prepareMessage } from '../../src/send/message.js';
import { median, sendBenchmarks } from './send-bench.js';
import { dkimBenchmark, unsubscribeBenchmark } from './dkim-bench.js';
import { previewBenchmark } from './preview-bench.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pairs = Number(process.env.BENCH_PAIRS ?? 10);
const warmRuns = Number(process.env.BENCH_WARM ?? 20);
const node = process.execPath;
const bin = path.join(root, 'bin', 'build-issue.js');
const mjmlCli = path.join(root, 'node_modules', 'mjml', 'bin', 'mjml');

const ms = (n: number) => `${n.toFixed(0)} ms`;

function timeRun(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): number {
  const t = performance.now();
  execFileSync(node, args, { cwd, stdio: 'ignore', env });
  return performance.now() - t;
}

/** One line of the summary printed at the end: a figure, its anchor, their ratio and the goal. */
interface SummaryRow {
  figure: string;
  ours: string;
  anchor: string;
  ratio: number;
  goal: string;
}
const summary: SummaryRow[] = [];

function paired(
  label: string,
  ours: string[],
  theirs: string[],
  theirLabel: string,
  cwd: string,
  oursEnv?: NodeJS.ProcessEnv,
): { ours: number; theirs: number; ratio: number } {
  const a: number[] = [];
  const b: number[] = [];
  timeRun(ours, cwd, oursEnv); // one untimed run each, so the OS file cache is warm for both
  timeRun(theirs, cwd);
  for (let i = 0; i < pairs; i++) {
    // Alternate which goes first, so neither always runs on a just-warmed CPU.
    if (i % 2) {
      b.push(timeRun(theirs, cwd));
      a.push(timeRun(ours, cwd, oursEnv));
    } else {
      a.push(timeRun(ours, cwd, oursEnv));
      b.push(timeRun(theirs, cwd));
    }
  }
  const ratio = median(a.map((x, i) => x / b[i]!));
  console.log(`${label}`);
  console.log(`  ours         median ${ms(median(a))}  (min ${ms(Math.min(...a))}, max ${ms(Math.max(...a))})`);
  console.log(`  ${theirLabel.padEnd(12)} median ${ms(median(b))}  (min ${ms(Math.min(...b))}, max ${ms(Math.max(...b))})`);
  console.log(`  ratio ours/${theirLabel}: ${ratio.toFixed(2)}x (median of ${pairs} paired runs)\n`);
  return { ours: median(a), theirs: median(b), ratio };
}

/** A copy of the project with issues/july-local.yaml: July with every section image a local PNG. */
async function localPicturesProject(work: string): Promise<string> {
  const project = path.join(work, 'local-pictures');
  await mkdir(path.join(project, 'issues', 'assets', 'july-local'), { recursive: true });
  await cp(path.join(root, 'templates'), path.join(project, 'templates'), { recursive: true });
  await writeFile(
    path.join(project, 'newsletter.config.yaml'),
    `${await readFile(path.join(root, 'newsletter.config.yaml'), 'utf8')}\nassetBaseUrl: https://liia.london/newsletter/assets\n`,
  );
  const july = await readFile(path.join(root, 'issues', 'july-2025.yaml'), 'utf8');
  await writeFile(path.join(project, 'issues', 'july-2025.yaml'), july);
  let n = 0;
  const withFiles = july.replace(/src: "https:\/\/liia\.london\/newsletter\/july-2025\/images\/([\w-]+\.png)"/g, (_, name: string) => {
    const image = new PNG({ width: 240, height: 160 });
    for (let i = 0; i < image.data.length; i++) image.data[i] = i % 4 === 3 ? 255 : Math.floor(Math.random() * 256);
    writeFileSync(path.join(project, 'issues', 'assets', 'july-local', name), PNG.sync.write(image));
    n++;
    return `src: assets/july-local/${name}`;
  });
  if (n !== 7) throw new Error(`expected 7 images in the July issue, found ${n}`);
  await writeFile(path.join(project, 'issues', 'july-local.yaml'), withFiles);
  return project;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'newsletter-bench-'));
  const built = await buildIssue('july-2025', { root, write: false });
  const mjmlFile = path.join(work, 'july-2025.mjml');
  await writeFile(mjmlFile, built.mjml);

  console.log(`Benchmark: July 2025 issue, node ${process.version}, ${os.cpus().length} cores, ${pairs} pairs\n`);
  const cold = paired(
    '1. Cold build: build-issue july-2025 (new process) vs bare mjml CLI on the same MJML',
    [bin, 'july-2025', '--out', path.join(work, 'out')],
    [mjmlCli, mjmlFile, '-o', path.join(work, 'mjml-cli.html')],
    'mjml CLI',
    root,
  );
  summary.push({
    figure: 'cold build of July',
    ours: ms(cold.ours),
    anchor: `${ms(cold.theirs)} (bare mjml CLI, same MJML)`,
    ratio: cold.ratio,
    goal: '<= 0.6x',
  });
  paired(
    '1b. The same, without the V8 code cache that build-issue keeps after its first run',
    [bin, 'july-2025', '--out', path.join(work, 'out')],
    [mjmlCli, mjmlFile, '-o', path.join(work, 'mjml-cli.html')],
    'mjml CLI',
    root,
    { ...process.env, BUILD_ISSUE_NO_CODE_CACHE: '1' },
  );
  paired('2. Start-up only: build-issue --version vs mjml --version', [bin, '--version'], [mjmlCli, '--version'], 'mjml CLI', root);

  // 1c. Local pictures: July with its 7 images as files under issues/assets/ (about 150 KB
  // each, incompressible), against the same issue with web addresses, in one project.
  const local = await localPicturesProject(work);
  paired(
    '1c. Cold build with the 7 pictures as local files (read, sized, hashed, copied) vs with web addresses',
    [bin, 'july-local', '--out', path.join(work, 'out-local')],
    [bin, 'july-2025', '--out', path.join(work, 'out-remote')],
    'web images',
    local,
  );

  // 3. Warm, paired with MJML's own in-process compile of the same MJML (the anchor).
  const times: number[] = [];
  const mjmlTimes: number[] = [];
  const compileOnly = () => mjml2html(built.mjml, { validationLevel: 'strict', minify: false, beautify: false, fonts: {} });
  for (let i = 0; i < 3 + warmRuns; i++) {
    let t = performance.now();
    await buildIssue('july-2025', { root, write: false });
    const ours = performance.now() - t;
    t = performance.now();
    await compileOnly();
    const theirs = performance.now() - t;
    if (i >= 3) {
      times.push(ours);
      mjmlTimes.push(theirs);
    }
  }
  const warmRatio = median(times.map((x, i) => x / mjmlTimes[i]!));
  console.log(
    `3. Warm rebuild in-process (after 3 untimed): median ${ms(median(times))} (min ${ms(Math.min(...times))}, max ${ms(Math.max(...times))}) over ${warmRuns} runs; goal <= 50 ms`,
  );
  console.log(`  MJML's own compile of the same MJML, in-process, paired: median ${ms(median(mjmlTimes))}; ratio ${warmRatio.toFixed(2)}x\n`);
  summary.push({
    figure: 'warm rebuild',
    ours: ms(median(times)),
    anchor: `${ms(median(mjmlTimes))} (mjml2html alone, in-process)`,
    ratio: warmRatio,
    goal: '<= 50 ms',
  });

  const b = built.bytes;
  console.log('4. Output sizes');
  console.log(
    `  email.html  ${b.html} bytes  (${((b.html / GMAIL_CLIP_BYTES) * 100).toFixed(0)}% of Gmail's ${GMAIL_CLIP_BYTES}-byte clipping limit; target <= 90000)`,
  );
  console.log(`  email.txt   ${b.text} bytes`);
  console.log(`  email.eml   ${b.eml} bytes`);
  console.log(
    `  (bare mjml CLI output of the same MJML, unminified, no inlining: ${Buffer.byteLength(execFileSync(node, [mjmlCli, mjmlFile, '-s'], { encoding: 'utf8' }))} bytes)\n`,
  );

  const preview = await previewBenchmark(root);
  if (preview !== undefined)
    summary.push({ figure: 'preview save to both frames', ours: ms(preview), anchor: '200 ms (the goal)', ratio: preview / 200, goal: '< 200 ms' });

  if (process.env.BENCH_SEND !== '0') {
    const message = await prepareMessage(built, built.config, { root });
    const send = await sendBenchmarks(root, message.size);
    if (send) {
      summary.push({
        figure: 'send rate, durable ledger',
        ours: `${send.ours.toFixed(0)} msg/s`,
        anchor: `${send.theirs.toFixed(0)} msg/s (smtp-source -d)`,
        ratio: send.ratio,
        goal: '>= 0.9x',
      });
      summary.push({
        figure: `peak RSS, ${send.big.recipients} recipients (the real CLI, median of 3)`,
        ours: `${send.big.rssMb.toFixed(0)} MiB`,
        anchor: `${send.big.anchorMb.toFixed(1)} MiB (smtp-source)`,
        ratio: send.big.rssMb / send.big.anchorMb,
        goal: '<= 120 MiB',
      });
    }
    // 6b. DKIM on against off, through test/smtp-sink.ts (test/bench/dkim-bench.ts).
    await dkimBenchmark();
    // 6c. Personal unsubscribe links against the shared one (the same file).
    await unsubscribeBenchmark();
  }

  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  console.log(`Summary (issue 17's table), node ${process.version}, load average ${load} (1, 5, 15 min)`);
  console.log('| figure | ours | anchor | ratio | goal |\n| --- | --- | --- | --- | --- |');
  for (const r of summary) console.log(`| ${r.figure} | ${r.ours} | ${r.anchor} | ${r.ratio.toFixed(2)}x | ${r.goal} |`);
}

await main();

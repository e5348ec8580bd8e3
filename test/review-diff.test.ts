/**
 * "What changed" in repeat test sends (src/review/, src/send/diff-issue.ts): July is
 * test-sent to a real SMTP server on 127.0.0.1 (test/smtp-sink.ts), two sections are
 * edited, and the second test copy, `build-issue diff` and the send plan are read back
 * (mailparser). Addresses are example.org only.
 */
import { gunzipSync } from 'node:zlib';
import { readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareVersions } from '../src/review/compare-versions.js';
import { changeHunks, diffWords } from '../src/review/diff-words.js';
import { changesHtml, changesText, londonTime, londonWhen } from '../src/review/format-changes.js';
import { snapshotOfText } from '../src/review/version-snapshot.js';
import { makeProject, replaceOnce, runCli } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';

const sinks: SmtpSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

const EDITORS = ['editor-one@example.org', 'editor-two@example.org'];
const VESS = 'Violence & Exploitation Support Service (VESS)';

async function project(): Promise<string> {
  const dir = await makeProject();
  const file = path.join(dir, 'newsletter.config.yaml');
  const config = (await readFile(file, 'utf8')).replace('editors:\n  - editor@example.org', `editors:\n${EDITORS.map((e) => `  - ${e}`).join('\n')}`);
  await writeFile(file, `${config}\nsend:\n  rate: 1000\n  connections: 2\n`);
  await mkdir(path.join(dir, 'lists'));
  await writeFile(path.join(dir, 'lists', 'list.csv'), 'email\nreader1@example.org\nreader2@example.org\n');
  return dir;
}

/** Edit two sections of July: a few words of VESS, and of GET IN TOUCH. */
async function editTwoSections(dir: string): Promise<void> {
  const file = path.join(dir, 'issues', 'july-2025.yaml');
  let text = await readFile(file, 'utf8');
  text = replaceOnce(text, 'paired with a dedicated caseworker', 'paired with an experienced caseworker');
  text = replaceOnce(text, 'so we can keep improving future editions.', 'so we can keep improving every edition.');
  await writeFile(file, text);
}

const testSends = async (dir: string) =>
  (await readFile(path.join(dir, 'sends/july-2025/test-sends.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { at: string; hash: string; to: string[] });

describe('a repeat test send says what changed', () => {
  it('names exactly the changed sections, marks the words, and diff and the send plan agree', async () => {
    const sink = await startSink();
    sinks.push(sink);
    const dir = await project();
    const env = { SMTP_URL: sink.url };

    // Nothing to compare with before the first test send.
    const none = await runCli(['diff', 'july-2025'], dir, env);
    expect(none.code).toBe(1);
    expect(none.err).toContain('no test send of july-2025 yet: run build-issue test-send july-2025 first');

    // 1. The first test send: no panel.
    const first = await runCli(['test-send', 'july-2025'], dir, env);
    expect(first.code, first.err).toBe(0);
    expect(sink.messages).toHaveLength(2);
    const firstCopy = await sink.parse(0);
    expect(firstCopy.text).not.toContain('since the test send of');
    expect(firstCopy.html).not.toContain('test-changes');
    // What it said is kept, without recipients: one version file, named by the build's hash.
    const [one] = await testSends(dir);
    const versions = await readdir(path.join(dir, 'sends/july-2025/versions'));
    expect(versions).toEqual([`${one!.hash}.json.gz`]);
    const kept = gunzipSync(await readFile(path.join(dir, 'sends/july-2025/versions', versions[0]!))).toString('utf8');
    expect(kept).toContain('Dear colleagues,');
    expect(kept).not.toContain('example.org');

    // 2. Two sections edited; diff says what changed since the first test send.
    await editTwoSections(dir);
    const diff = await runCli(['diff', 'july-2025'], dir, env);
    expect(diff.code, diff.err).toBe(0);
    const since = `since the test send of ${londonTime(one!.at)}`;
    expect(diff.out.split('\n').slice(0, 2)).toEqual([`Changed ${since}:`, `  changed: "${VESS}", "GET IN TOUCH"`]);
    expect(diff.out).not.toMatch(/added:|removed:/);
    expect(diff.out).toContain('[-a dedicated-] [+an experienced+] caseworker');
    expect(diff.out).toContain('improving [-future editions.-] [+every edition.+]');

    const json = JSON.parse((await runCli(['diff', 'july-2025', '--json'], dir, env)).out) as {
      changed: { heading: string; words: { op: string; text?: string }[] }[];
      added: unknown[];
      removed: unknown[];
    };
    expect(json.changed.map((c) => c.heading)).toEqual([VESS, 'GET IN TOUCH']);
    expect(json.changed[0]!.words.filter((w) => w.op !== 'same' && w.op !== 'gap')).toEqual([
      { op: 'del', text: 'a dedicated' },
      { op: 'ins', text: 'an experienced' },
    ]);
    expect([json.added, json.removed]).toEqual([[], []]);

    // 3. The second test send: each copy starts with the same summary and the marked words.
    const second = await runCli(['test-send', 'july-2025'], dir, env);
    expect(second.code, second.err).toBe(0);
    expect(sink.messages).toHaveLength(4);
    for (const i of [2, 3]) {
      const copy = await sink.parse(i);
      expect(copy.subject).toMatch(/^\[TEST\] /);
      // The text part starts with exactly what diff printed.
      expect(copy.text!.replace(/\r\n/g, '\n').startsWith(diff.out)).toBe(true);
      const html = copy.html as string;
      // At the top of the body, after the hidden preheader, before the email.
      expect(html.indexOf('test-changes')).toBeGreaterThan(html.indexOf('<body'));
      expect(html.indexOf('test-changes')).toBeLessThan(html.indexOf('LONDON ADOLESCENT SAFEGUARDING'));
      expect(html).toMatch(/<del style="[^"]*line-through[^"]*">a dedicated<\/del> <ins style="[^"]*background-color:#[0-9a-f]{6}[^"]*">an experienced<\/ins>/);
      expect(html).toMatch(/<del [^>]*>future editions\.<\/del> <ins [^>]*>every edition\.<\/ins>/);
      expect(html).toContain('changed: &#34;Violence &#38; Exploitation Support Service (VESS)&#34;, &#34;GET IN TOUCH&#34;');
      expect(html).not.toMatch(/added:|removed:/);
    }

    // Since the second test send, nothing has changed.
    const [, two] = await testSends(dir);
    const again = await runCli(['diff', 'july-2025'], dir, env);
    expect(again.out).toBe(`No changes since the test send of ${londonTime(two!.at)}.\n`);

    // 4. The send to the list: its plan names the test send it matches; its copies have no panel.
    const send = await runCli(['send', 'july-2025', '--list', 'lists/list.csv', '--yes'], dir, env);
    expect(send.code, send.err).toBe(0);
    expect(send.err).toContain(`identical to the version test-sent on ${londonTime(two!.at)} to ${EDITORS.join(', ')}`);
    expect(sink.messages).toHaveLength(6);
    for (const i of [4, 5]) {
      const copy = await sink.parse(i);
      expect(copy.subject).not.toMatch(/TEST/);
      expect(copy.text).not.toContain('since the test send of');
      expect(copy.html).not.toContain('test-changes');
    }
  });

  it('diff --against compares with another issue', async () => {
    const dir = await project();
    await writeFile(path.join(dir, 'issues', 'june-2025.yaml'), await readFile(path.join(dir, 'issues', 'july-2025.yaml'), 'utf8'));
    await editTwoSections(dir);
    const r = await runCli(['diff', 'july-2025', '--against', 'june-2025'], dir);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n').slice(0, 2)).toEqual(['Changed from june-2025:', `  changed: "${VESS}", "GET IN TOUCH"`]);
    const missing = await runCli(['diff', 'july-2025', '--against', 'may-2025'], dir);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('may-2025');
  });
});

describe('the comparison', () => {
  it('marks inserted and deleted words, with a little context', () => {
    const ops = diffWords(
      'one two three four five six seven eight nine ten eleven twelve thirteen',
      'one two three four five six SEVEN eight nine ten eleven twelve thirteen',
    );
    expect(ops.filter((o) => o.op !== 'same')).toEqual([
      { op: 'del', words: ['seven'] },
      { op: 'ins', words: ['SEVEN'] },
    ]);
    const hunks = changeHunks(ops, 2);
    expect(hunks).toEqual([null, { op: 'same', words: ['five', 'six'] }, ops[1], ops[2], { op: 'same', words: ['eight', 'nine'] }, null]);
  });

  it('re-wrapped text is unchanged; an added and a removed section are named', () => {
    const a = snapshotOfText('a b\nc');
    expect(compareVersions(a, snapshotOfText('a  b c')).changed).toEqual([]);
    const before = { ...a, sections: [{ kind: 'notice', key: 'id:x', heading: 'X', hash: '1', text: 'x' }] };
    const after = { ...a, hash: 'other', sections: [{ kind: 'article', key: 'id:y', heading: 'Y', hash: '2', text: 'y' }] };
    const diff = compareVersions(before, after);
    expect(diff.added.map((s) => s.heading)).toEqual(['Y']);
    expect(diff.removed.map((s) => s.heading)).toEqual(['X']);
    expect(changesText(diff, { label: 'since then' })).toBe('Changed since then:\n  added: "Y"\n  removed: "X"\n');
  });

  it('escapes what it quotes in the panel', () => {
    const before = snapshotOfText('<b>old</b>');
    const html = changesHtml(compareVersions(before, snapshotOfText('<script>x</script>')), { label: 'since then' });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;x&#60;/script&#62;');
  });

  it('London time: BST in summer, GMT in winter', () => {
    expect(londonTime('2025-07-14T08:30:00.000Z')).toBe('Mon 14 Jul 2025, 09:30 (London time)');
    expect(londonTime('2025-12-01T08:30:00.000Z')).toBe('Mon 1 Dec 2025, 08:30 (London time)');
  });

  it("London time says what Node's own time-zone data says, every 7 hours from 2024 to 2031, and either side of each change", () => {
    const f = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London',
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    const byIntl = (ms: number) => {
      const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, x.value]));
      return `${p.weekday} ${p.day} ${p.month} ${p.year}, ${p.hour}:${p.minute} (London time)`;
    };
    const instants: number[] = [];
    for (let ms = Date.UTC(2024, 0, 1); ms < Date.UTC(2031, 0, 1); ms += 7 * 3_600_000 + 60_000) instants.push(ms);
    // 00:59 and 01:00 UTC on the last Sundays of March and October, when the clocks change.
    for (const [y, m, d] of [
      [2025, 2, 30],
      [2025, 9, 26],
      [2030, 2, 31],
      [2030, 9, 27],
    ] as const)
      instants.push(Date.UTC(y, m, d, 0, 59), Date.UTC(y, m, d, 1, 0));
    const wrong = instants.filter((ms) => londonTime(new Date(ms).toISOString()) !== byIntl(ms));
    expect(wrong.map((ms) => new Date(ms).toISOString())).toEqual([]);
    expect(instants.length).toBeGreaterThan(8000);
    // Today and tomorrow by London's calendar: 23:30 UTC on 1 July is already 2 July in London.
    expect(londonWhen('2025-07-01T23:30:00.000Z', Date.UTC(2025, 6, 2, 8))).toBe('00:30 today');
    expect(londonWhen('2025-12-02T23:30:00.000Z', Date.UTC(2025, 11, 1, 23, 0))).toBe('23:30 tomorrow');
    expect(londonWhen('2025-12-04T10:00:00.000Z', Date.UTC(2025, 11, 1, 23, 0))).toBe('Thu 4 Dec 2025, 10:00 (London time)');
  });
});

describe('diff --help', () => {
  it('shows its options, examples and exit codes, on short lines', async () => {
    const { code, out } = await runCli(['diff', '--help'], process.cwd());
    expect(code).toBe(0);
    expect(out).toContain('Usage: build-issue diff [options] <issue>');
    for (const o of ['--against <other>', '--json', 'build-issue diff july-2025 --against june-2025']) expect(out).toContain(o);
    expect(out).toMatch(/Exit codes: 0 ok, 1 failed, 2 used wrongly/);
    for (const line of out.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect((await runCli(['--help'], process.cwd())).out).toMatch(/^ {2}diff \[options\] <issue> +\S/m);
  });
});

describe("the preview's Changes tab", () => {
  it('/changes.html compares the last build with the last test send', async () => {
    const { buildIssue } = await import('../src/build-issue.js');
    const { startPreview } = await import('../src/preview/server.js');
    const { recordTestSend } = await import('../src/review/test-send-store.js');
    const { snapshotVersion } = await import('../src/review/version-snapshot.js');
    const dir = await project();
    const preview = await startPreview({ root: dir, issue: 'july-2025', build: { write: false } });
    try {
      const get = async () => (await fetch(`${preview.url}changes.html`)).text();
      expect(await get()).toContain('No test send of july-2025 yet');
      const before = await buildIssue('july-2025', { root: dir, write: false, check: false });
      recordTestSend(
        path.join(dir, 'sends/july-2025'),
        { at: '2025-07-14T08:30:00.000Z', hash: before.hash, subject: 's', to: EDITORS },
        snapshotVersion(before),
      );
      await editTwoSections(dir);
      await preview.rebuild();
      const html = await get();
      expect(html).toContain('Changed since the test send of Mon 14 Jul 2025, 09:30 (London time):');
      expect(html).toContain('changed: &#34;Violence &#38; Exploitation Support Service (VESS)&#34;, &#34;GET IN TOUCH&#34;');
      expect(html).toMatch(/<ins [^>]*>an experienced<\/ins>/);
    } finally {
      await preview.close();
    }
  });
});

/**
 * Hostile and accidental input (issue 10): links judged as a browser reads them,
 * control characters refused at their line, invisible characters warned of, bounded
 * work for huge or tricky files, folded headers, and usage mistakes that are usage
 * errors. Each case used to get through, or to fail as an "unexpected failure".
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { buildIssue, toPlainText } from '../src/index.js';
import { julyYaml, lineOf, makeProject, rejection, replaceOnce, ROOT, runCli, writeIssue } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';

const ISSUE = 'issues/july-2025.yaml';
const TILE_HREF = 'href: "https://liia.london/practice-spotlight/racial-equity"';

/** A project whose July issue has `edit` applied, with a previous good build in dist/. */
async function projectWith(edit: (yaml: string) => string): Promise<{ project: string; text: string; before: string }> {
  const project = await makeProject();
  await buildIssue('july-2025', { root: project });
  const before = await readFile(path.join(project, 'dist', 'july-2025', 'email.html'), 'utf8');
  const text = edit(await julyYaml());
  await writeIssue(project, 'july-2025', text);
  return { project, text, before };
}

/** The problem lines of a CLI error. */
const problemLines = (err: string) => err.split('\n').filter((l) => l.startsWith(`  ${ISSUE}:`));

describe('links are judged as a browser reads them', () => {
  // Each of these is javascript: to Chromium (WHATWG URL parsing strips or removes the extra characters).
  const disguises = [
    '\\u0001javascript:alert(1)',
    ' javascript:alert(1)',
    'java\\tscript:alert(1)',
    'java\\nscript:alert(1)',
    'JaVaScRiPt:alert(1)',
    '\\u0000javascript:alert(1)',
    'javascript:alert(1)\\u0020',
    '\\u001fvbscript:msgbox(1)',
  ];
  for (const href of disguises) {
    it(`refuses a tile href of "${href}" at its line, with --allow-errors too, and writes nothing`, async () => {
      const { project, text, before } = await projectWith((y) => replaceOnce(y, TILE_HREF, `href: "${href}"`));
      const r = await runCli(['july-2025', '--allow-errors'], project);
      expect(r.code).toBe(1);
      const line = lineOf(text, href);
      expect(problemLines(r.err).some((l) => l.startsWith(`  ${ISSUE}:${line}:`) && / sections\[\d+\]\.tiles\[0\]\.href /.test(l))).toBe(true);
      expect(r.err).not.toContain('unexpected failure');
      expect(await readFile(path.join(project, 'dist', 'july-2025', 'email.html'), 'utf8')).toBe(before);
    });
  }

  it('refuses a Markdown link whose target hides the scheme behind an entity for a tab', async () => {
    const { project, text } = await projectWith((y) => replaceOnce(y, '(https://liia.london/practice-spotlight/background)', '(java&#x09;script:alert(1))'));
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.code).toBe('EISSUE_INVALID');
    expect(err.problems.map((p) => p.where)).toContain(
      `${ISSUE}:${lineOf(text, 'java&#x09;script')}:${text.split('\n')[lineOf(text, 'java&#x09;script') - 1]!.indexOf('java&#x09;script') + 1}`,
    );
  });

  it('refuses a script address a template writes (the last look at the built email)', async () => {
    const project = await makeProject();
    const file = path.join(project, 'templates', 'sections', 'footer.mjml.hbs');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(
        '<p class="small">{{postalAddress}}</p>',
        '<p class="small"><a href="&#1;java&#x0A;script:alert(1)">{{postalAddress}}</a></p>',
      ),
    );
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.code).toBe('EISSUE_INVALID');
    expect(err.problems[0]!.message).toContain('"javascript:"');
    expect(await readdir(project)).not.toContain('dist');
  });
});

describe('clean text in, clean text out', () => {
  it('refuses NUL, C0 and C1 control characters in any issue field, each at its line and field', async () => {
    const { project, text } = await projectWith((y) =>
      replaceOnce(
        replaceOnce(
          replaceOnce(y, 'label: "Racial equity"', 'label: "Racial\\0equity"'),
          'heading: "LONDON CHILDREN\'S SERVICES PRACTICE SPOTLIGHT"',
          'heading: "LONDON\u0085CHILDREN\'S SERVICES PRACTICE SPOTLIGHT"',
        ),
        'preheader: "Child First',
        'preheader: "\u001b[31mChild First',
      ),
    );
    const r = await runCli(['july-2025'], project);
    expect(r.code).toBe(1);
    const lines = problemLines(r.err);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      new RegExp(`^  ${ISSUE}:${lineOf(text, 'preheader:')}:\\d+ preheader holds the invisible control character U\\+001B, which is not text`),
    );
    expect(lines[1]).toMatch(new RegExp(`^  ${ISSUE}:${lineOf(text, 'LONDON\u0085CHILDREN')}:\\d+ sections\\[\\d+\\]\\.heading .*U\\+0085`));
    expect(lines[2]).toMatch(new RegExp(`^  ${ISSUE}:${lineOf(text, 'Racial\\0equity')}:\\d+ sections\\[\\d+\\]\\.tiles\\[0\\]\\.label .*U\\+0000`));
    // The terminal never receives the escape character itself.
    expect(r.err).not.toContain('\u001b');
  });

  it('refuses a control character in the config, at its line', async () => {
    const project = await makeProject();
    const file = path.join(project, 'newsletter.config.yaml');
    const config = (await readFile(file, 'utf8')).replace('59½ Southwark Street', '59½ Southwark\u0007 Street');
    await writeFile(file, config);
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.code).toBe('ECONFIG');
    expect(err.problems[0]!.where).toMatch(new RegExp(`newsletter.config.yaml:${lineOf(config, 'Southwark\u0007')}:`));
    expect(err.problems[0]!.path).toBe('postalAddress');
  });

  it('refuses the noncharacter U+FFFE and a lone surrogate, which XML (the feed) cannot hold', async () => {
    const { project, text } = await projectWith((y) =>
      replaceOnce(replaceOnce(y, 'label: "Racial equity"', 'label: "Racial\\uFFFEequity"'), 'subject: "July 2025:', 'subject: "\\uD800July 2025:'),
    );
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.problems.map((p) => [p.where?.split(':')[1], p.message.match(/U\+[0-9A-F]{4}/)?.[0]])).toEqual([
      [String(lineOf(text, 'subject:')), 'U+D800'],
      [String(lineOf(text, 'Racial\\uFFFE')), 'U+FFFE'],
    ]);
  });

  it('refuses a font stack that could end a CSS rule or a tag, at its line in the config', async () => {
    const project = await makeProject();
    const file = path.join(project, 'newsletter.config.yaml');
    const config = (await readFile(file, 'utf8')).replace(/fontFamily: (.*)/, 'fontFamily: </x>$1');
    await writeFile(file, config);
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.code).toBe('ECONFIG');
    expect(err.problems.map((p) => [p.where, p.path])).toEqual([[`newsletter.config.yaml:${lineOf(config, 'fontFamily:')}:15`, 'brand.fontFamily']]);
  });

  it('refuses a line break in the sender name (a header) and quotes a many-line value on one line', async () => {
    const project = await makeProject();
    const file = path.join(project, 'newsletter.config.yaml');
    const config = (await readFile(file, 'utf8')).replace(/^( {2}name: )(.*)$/m, '$1"$2\\r\\nX-Injected: 1"');
    await writeFile(file, config);
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.code).toBe('ECONFIG');
    expect(err.problems.map((p) => [p.path, p.message.startsWith('must be on one line')])).toEqual([['sender.name', true]]);

    await writeFile(file, await readFile(path.join(ROOT, 'newsletter.config.yaml')));
    await writeIssue(project, 'july-2025', replaceOnce(await julyYaml(), '  - kind: tiles', `  - kind: "${'- item\\n'.repeat(80)}"`));
    const r = await runCli(['july-2025'], project);
    expect(r.code).toBe(1);
    expect(r.err.split('\n').length).toBeLessThan(6);
    expect(r.err).toContain('"- item\\n- item');
  });

  it('warns of bidi overrides and zero-width characters in the subject, preheader and sender name, at their lines, but not of an emoji', async () => {
    const { project, text } = await projectWith((y) =>
      replaceOnce(
        replaceOnce(y, 'subject: "July 2025: LASOB', 'subject: "July 2025: \u202eBOSAL\u202c LASOB'),
        'preheader: "Child First',
        'preheader: "👩‍💻 Child\u200bFirst',
      ),
    );
    const config = path.join(project, 'newsletter.config.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace(/^( {2}name: )(.*)$/m, '$1"$2 \\u2067Team\\u2069"'));
    const result = await buildIssue('july-2025', { root: project, write: false });
    const hidden = result.report.findings.filter((f) => f.message.includes('invisible characters'));
    expect(hidden.map((f) => [f.severity, f.where?.line ?? f.where?.path, f.message.match(/U\+[0-9A-F]{4}/g)])).toEqual([
      ['warning', lineOf(text, 'subject:'), ['U+202E', 'U+202C']],
      ['warning', lineOf(text, 'preheader:'), ['U+200B']],
      ['warning', 'sender.name', ['U+2067', 'U+2069']],
    ]);
  });
});

describe('bounded work', () => {
  it('refuses an issue file over 1 MB before reading it as YAML', async () => {
    const { project } = await projectWith((y) => y + `# ${'x'.repeat(98)}\n`.repeat(12_000));
    const r = await runCli(['july-2025', '--json'], project);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as { ok: boolean; error: { code: string; message: string } };
    expect(json.error.code).toBe('EISSUE_INVALID');
    expect(json.error.message).toMatch(/1\.2 MB, over the 1 MB/);
  });

  it('refuses more than 200 sections, at the sections line', async () => {
    const { project, text } = await projectWith(
      (y) => `${y.split('\nsections:\n')[0]}\nsections:\n${'  - kind: notice\n    heading: x\n    body: y\n'.repeat(201)}`,
    );
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.problems).toEqual([expect.objectContaining({ where: `${ISSUE}:${lineOf(text, '  - kind: notice')}:3`, path: 'sections' })]);
  });

  it('lists the first 50 problems and counts the rest', async () => {
    const { project } = await projectWith((y) => `${y.split('\nsections:\n')[0]}\nsections:\n${'  - kind: notice\n    headin: x\n    body: y\n'.repeat(120)}`);
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.message).toContain('120 problems');
    expect(err.problems).toHaveLength(51);
    expect(err.problems[50]!.message).toMatch(/^and 70 more problems/);
  });

  it('reports a YAML alias bomb at its line, in --json too, not as an unexpected failure', async () => {
    const bomb = `${['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdef'[i]}`).join(',')}]`)].join('\n')}\n`;
    const { project } = await projectWith(() => bomb);
    const r = await runCli(['july-2025', '--json'], project);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as { error: { code: string; problems: { where: string; message: string }[] } };
    expect(json.error.code).toBe('EISSUE_INVALID');
    expect(json.error.problems[0]!.where).toBe(`${ISSUE}:2:8`);
    expect(json.error.problems[0]!.message).toMatch(/aliases/);
  });

  it('--json escapes C1 controls and bidi characters quoted from the file, and is still valid JSON', async () => {
    const { project } = await projectWith((y) => y.replace('\nsections:\n', '\n"z\\u0085\\u202e": 1\nsections:\n'));
    const r = await runCli(['july-2025', '--json'], project);
    expect(r.code).toBe(1);
    expect(r.out).not.toMatch(/[\u0080-\u009f\u202e]/);
    const json = JSON.parse(r.out) as { error: { problems: { path: string }[] } };
    expect(json.error.problems.map((p) => p.path)).toContain('z\u0085\u202e');
  });

  it('reports an alias inside its own anchor at its line (it used to overflow the stack)', async () => {
    const { project } = await projectWith(() => 'title: &a [*a]\n');
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.problems).toEqual([expect.objectContaining({ where: `${ISSUE}:1:12` })]);
  });

  it('reports nesting too deep to read at its line', async () => {
    const { project } = await projectWith(() => `title: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`);
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.code).toBe('EISSUE_INVALID');
    expect(err.problems[0]!.where).toMatch(new RegExp(`^${ISSUE}:1:\\d+$`));
    expect(err.problems[0]!.message).toMatch(/nests "\[" or "{" more than 200 deep/);
  });

  it('never cuts the plain-text part short, however long the HTML (html-to-text stops at 16 MB by default)', () => {
    const html = `<html><body>${'<p>Paragraph of the newsletter, long enough to add up.</p>'.repeat(300_000)}<p>THE LAST LINE</p></body></html>`;
    expect(html.length).toBeGreaterThan(16_777_216);
    expect(toPlainText(html).trimEnd().endsWith('THE LAST LINE')).toBe(true);
  }, 120_000);
});

describe('headers folded', () => {
  const sinks: SmtpSink[] = [];
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });

  /** Every header line of a message (up to the blank line), in octets. */
  const headerLines = (raw: Buffer) => raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1').split('\r\n');

  it('keeps every header line of the .eml within 78 octets with a 5,000-character subject of one word, and the subject intact', async () => {
    const subject = 'x'.repeat(5000);
    const { project } = await projectWith((y) => y.replace(/^subject: .*$/m, `subject: "${subject}"`));
    const build = await buildIssue('july-2025', { root: project, date: new Date('2025-07-01T09:00:00Z') });
    const eml = await readFile(build.files.eml);
    expect(Math.max(...headerLines(eml).map((l) => l.length))).toBeLessThanOrEqual(78);
    expect((await simpleParser(eml)).subject).toBe(subject);
    // Every line of the file ends CRLF, as RFC 5322 asks (the quoted-printable text part had bare LFs).
    expect(eml.toString('latin1').match(/(?<!\r)\n/g)).toBeNull();
  });

  it('folds a long recipient name in the To: line of a sent copy', async () => {
    const s = await startSink();
    sinks.push(s);
    const project = await makeProject();
    const name = `Reader ${'N'.repeat(3000)} ${'é'.repeat(1000)}`;
    await writeFile(
      path.join(project, 'newsletter.config.yaml'),
      `${await readFile(path.join(project, 'newsletter.config.yaml'), 'utf8')}\nsend:\n  rate: 1000\n`,
    );
    await mkdir(path.join(project, 'lists'));
    await writeFile(path.join(project, 'lists', 'list.csv'), `email,name\nreader@example.org,${name}\n`);
    const r = await runCli(['july-2025', '--send', '--list', 'lists/list.csv', '--yes', '--skip-test-gate'], project, { SMTP_URL: s.url });
    expect(r.code, r.err).toBe(0);
    expect(s.messages).toHaveLength(1);
    expect(Math.max(...headerLines(s.messages[0]!.raw).map((l) => l.length))).toBeLessThanOrEqual(78);
    const mail = await simpleParser(s.messages[0]!.raw);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : undefined).toEqual([{ address: 'reader@example.org', name }]);
  });
});

describe('usage mistakes are usage errors', () => {
  it('--port 99999 exits 2 naming --port', async () => {
    const project = await makeProject();
    const r = await runCli(['july-2025', '--watch', '--port', '99999'], project);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--port must be a whole number from 1 to 65535, not "99999"/);
    expect(r.err).not.toContain('unexpected failure');
  });
});

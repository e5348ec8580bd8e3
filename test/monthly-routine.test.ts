/**
 * The README's monthly routine, end to end, on an issue made with `new --from july-2025`:
 * start it, write it (checked by issues/schema.json as an editor would), add a local
 * picture and an event, build it, and test-send it. Every authoring feature on the
 * second issue: the new file, editor support, local images, tracked links, the web
 * archive and the calendar invite (in November, so GMT, where July's is BST).
 */
import { createHash } from 'node:crypto';
import { appendFile, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument, parse as parseYaml } from 'yaml';
import { londonToUtc } from '../src/authoring/calendar.js';
import { Ledger } from '../src/send/ledger.js';
import { makeProject, png, runCli, type CliResult } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';

const ARCHIVE = 'https://liia.london/newsletter';
const ASSETS = 'https://liia.london/newsletter/assets';
const SLUG = 'november-2025';

const unfold = (ics: string) => ics.replace(/\r\n[ \t]/g, '');
const eventField = (ics: string, name: string) =>
  new RegExp(`^${name}[;:](.*)$`, 'm').exec(unfold(ics).split('BEGIN:VEVENT')[1] ?? '')?.[1]?.replace(/\r$/, '');

describe('the monthly routine on an issue made with new --from july-2025', () => {
  let project: string;
  let made: CliResult;
  let built: CliResult;
  let photo: Buffer;
  let sink: SmtpSink;
  const dist = (...p: string[]) => path.join(project, 'dist', ...p);

  beforeAll(async () => {
    project = await makeProject();
    await appendFile(path.join(project, 'newsletter.config.yaml'), `\narchiveBaseUrl: ${ARCHIVE}\nassetBaseUrl: ${ASSETS}\n`);
    expect((await runCli(['july-2025'], project)).code).toBe(0);

    // 1. Start it from last month's.
    made = await runCli(['new', SLUG, '--from', 'july-2025'], project);

    // 2-3. Write it: what a comms officer types over the placeholders, with a picture and an event.
    photo = png(1104, 621);
    await writeFile(path.join(project, 'issues', 'assets', SLUG, 'winter-forum.png'), photo);
    const file = path.join(project, 'issues', `${SLUG}.yaml`);
    const doc = parseDocument(await readFile(file, 'utf8'));
    doc.set('subject', 'November 2025: winter forum, Practice Spotlight');
    doc.set('preheader', 'Book your place at the adolescent safeguarding winter forum on 13 November');
    doc.setIn(
      ['sections', 0, 'body'],
      'Welcome to the November issue.\n\nThis month we look ahead to the [winter forum](https://liia.london/events/winter-forum).\n',
    );
    doc.setIn(
      ['sections', 2],
      doc.createNode({
        kind: 'article',
        heading: 'WINTER FORUM',
        contents: 'Winter forum',
        body: 'Practitioners from across London meet to share [what works](https://liia.london/practice-spotlight).\n',
        image: {
          src: `assets/${SLUG}/winter-forum.png`,
          alt: 'Practitioners at last year\u2019s forum – read about the programme',
          href: 'https://liia.london/events/winter-forum',
        },
      }),
    );
    (doc.get('sections') as { items: unknown[] }).items.splice(
      3,
      0,
      doc.createNode({
        kind: 'event',
        date: 'Thursday, 13 November',
        title: 'Adolescent safeguarding winter forum',
        description: 'A morning of practice sharing for London\u2019s adolescent safeguarding leads.\n',
        price: 'Free',
        when: 'Nov 13 - 10:00 GMT',
        start: '2025-11-13T10:00',
        end: '2025-11-13T12:30',
        button: { label: 'Book a place', href: 'https://liia.london/events/winter-forum/book' },
      }),
    );
    // 3b. Check each field kept from July (the signatory, the partners' highlights), then delete its # KEPT comment.
    await writeFile(file, doc.toString().replace(/^ *# KEPT from .*\n/gm, ''));

    // 4. Build it.
    built = await runCli([SLUG], project);
    sink = await startSink();
  }, 60_000);

  afterAll(async () => {
    await sink?.close();
  });

  it('new --from writes the file with the schema line, the recurring sections, and the pictures folder', async () => {
    expect(made.code, made.err).toBe(0);
    expect(made.out).toContain(`Wrote issues/${SLUG}.yaml from issues/july-2025.yaml`);
    expect(made.out).toContain(`pictures: put them in issues/assets/${SLUG}/`);
    const text = await readFile(path.join(project, 'issues', `${SLUG}.yaml`), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./schema.json');
    expect(text).toContain('label: "November 2025 ISSUE"');
  });

  it('issues/schema.json, as the editor reads it, accepts the written issue and underlines a mistake in it', async () => {
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const schema = JSON.parse(await readFile(path.join(project, 'issues', 'schema.json'), 'utf8')) as object;
    const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    const data = parseYaml(await readFile(path.join(project, 'issues', `${SLUG}.yaml`), 'utf8')) as { sections: Record<string, unknown>[] };
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    (data.sections[2]!.image as Record<string, unknown>).src = `assets/${SLUG}/winter-forum.svg`;
    expect(validate(data)).toBe(false);
  });

  it('builds clean: no errors, the picture uploaded-to-be, the links tracked for this issue', async () => {
    expect(built.code, built.err).toBe(0);
    expect(built.out).toMatch(/Checks: 0 errors/);
    const html = await readFile(dist(SLUG, 'email.html'), 'utf8');
    const name = `winter-forum.${createHash('sha256').update(photo).digest('hex').slice(0, 8)}.png`;
    expect(await readdir(dist(SLUG, 'assets'))).toEqual([name]);
    expect(html).toContain(`src="${ASSETS}/${SLUG}/${name}"`);
    expect(built.out).toContain(`(upload to ${ASSETS}/${SLUG}/)`);
    expect(html).toContain('href="https://liia.london/events/winter-forum?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=november-2025"');
    // The sections kept from July carry this campaign, not July's.
    expect(html).not.toContain('utm_campaign=july-2025');
    expect(html.match(/utm_campaign=november-2025/g)!.length).toBeGreaterThan(10);
  });

  it('writes the event as an .ics in GMT (10:00 London is 10:00 UTC in November) and links it', async () => {
    const invites = (await readdir(dist(SLUG))).filter((f) => f.endsWith('.ics'));
    expect(invites).toEqual(['2025-11-13-adolescent-safeguarding-winter-forum.ics']);
    const ics = await readFile(dist(SLUG, invites[0]!), 'utf8');
    expect(eventField(ics, 'DTSTART')).toBe('TZID=Europe/London:20251113T100000');
    expect(eventField(ics, 'DTEND')).toBe('TZID=Europe/London:20251113T123000');
    expect(londonToUtc('2025-11-13T10:00:00').toISOString()).toBe('2025-11-13T10:00:00.000Z');
    expect(unfold(ics)).toMatch(/BEGIN:STANDARD[\s\S]*TZOFFSETTO:\+0000/);
    const html = await readFile(dist(SLUG, 'email.html'), 'utf8');
    expect(html).toContain(`href="${ARCHIVE}/${SLUG}/${invites[0]}"`);
  });

  it('joins the web archive once published: newest first, with its contents, a browser version showing its picture, and a feed entry', async () => {
    // A draft until then: the archive's list leaves it out (its browser version, below, is written all the same).
    expect(await readFile(dist('index.html'), 'utf8')).not.toContain('November 2025 ISSUE');
    // July went to the list last month (its ledger says so); November is marked published as dist/ goes up ahead of its send.
    const ledger = new Ledger(path.join(project, 'sends', 'july-2025', 'ledger.jsonl'));
    const at = '2025-07-01T09:00:00.000Z';
    ledger.append({ t: 'start', at, hash: 'a'.repeat(64), subject: 'July 2025', recipients: 1, pid: 1 });
    ledger.append({ t: 'data', email: 'reader@example.org', at });
    ledger.append({ t: 'sent', email: 'reader@example.org', at, response: '250 2.0.0 Ok: queued' });
    ledger.close();
    await appendFile(path.join(project, 'issues', `${SLUG}.yaml`), '\npublished: true\n');
    await runCli([SLUG], project);
    const index = await readFile(dist('index.html'), 'utf8');
    expect(index.indexOf('November 2025 ISSUE')).toBeGreaterThan(0);
    expect(index.indexOf('July 2025 ISSUE')).toBeGreaterThan(index.indexOf('November 2025 ISSUE'));
    expect(index).toContain('<li>Winter forum</li>');
    const page = await readFile(dist(SLUG, 'index.html'), 'utf8');
    expect(page).toMatch(/src="assets\/winter-forum\.[0-9a-f]{8}\.png"/);
    expect(await readFile(dist(SLUG, 'email.html'), 'utf8')).toContain(`href="${ARCHIVE}/${SLUG}/"`);
    expect(await readFile(dist('feed.xml'), 'utf8')).toContain(`<link href="${ARCHIVE}/${SLUG}/"/>`);
  });

  it('test-sends to the editors with the picture inline', async () => {
    const r = await runCli(['test-send', SLUG, '--to', 'editor@example.org'], project, { SMTP_URL: sink.url });
    expect(r.code, r.err).toBe(0);
    const mail = await sink.parse(0);
    expect(mail.subject).toBe('[TEST] November 2025: winter forum, Practice Spotlight');
    const inline = mail.attachments.find((a) => a.filename?.startsWith('winter-forum.'));
    expect(inline?.content).toEqual(photo);
    // Parsed again keeping cid: links (mailparser turns them into data: addresses by default).
    const kept = await simpleParser(sink.messages[0]!.raw, { keepCidLinks: true });
    expect(String(kept.html)).toContain(`src="cid:${inline!.cid}"`);
  });
});

/** Calendar invites in the build: the July webinar's .ics beside the email, and the "Add to calendar" link when the archive's address is known. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIssue } from '../src/index.js';
import { londonToUtc } from '../src/authoring/calendar.js';
import { makeProject } from './helpers.js';

const unfold = (ics: string) => ics.replace(/\r\n[ \t]/g, '');
/** A property of the VEVENT (not of the VTIMEZONE before it). */
const field = (ics: string, name: string) => new RegExp(`^${name}[;:](.*)$`, 'm').exec(unfold(ics).split('BEGIN:VEVENT')[1] ?? '')?.[1]?.replace(/\r$/, '');

describe('calendar invites in the build', () => {
  it('writes the July webinar as an .ics in dist/july-2025/, 14:00-15:30 London time (13:00-14:30 UTC)', async () => {
    const project = await makeProject();
    const r = await buildIssue('july-2025', { root: project });
    expect(r.invites).toEqual(['2025-07-10-applying-the-child-first-framework.ics']);
    const ics = await readFile(path.join(r.dir, r.invites[0]!), 'utf8');
    expect(field(ics, 'DTSTART')).toBe('TZID=Europe/London:20250710T140000');
    expect(field(ics, 'DTEND')).toBe('TZID=Europe/London:20250710T153000');
    expect(londonToUtc('2025-07-10T14:00:00').toISOString()).toBe('2025-07-10T13:00:00.000Z');
    expect(londonToUtc('2025-07-10T15:30:00').toISOString()).toBe('2025-07-10T14:30:00.000Z');
    expect(field(ics, 'SUMMARY')).toBe('Applying the Child First Framework in youth justice services');
    expect(field(ics, 'DESCRIPTION')).toContain("Overview of Crest Advisory's new research");
    expect(field(ics, 'URL')).toBe('https://liia.london/newsletter/july-2025/child-first-webinar');
    // Without the archive's address there is no link to the invite in the email.
    expect(r.html).not.toContain('Add to calendar');
  });

  it('the DESCRIPTION has no hard wraps: the plain text wraps at 78 columns, the invite does not (paragraphs and list items stay)', async () => {
    const project = await makeProject();
    const r = await buildIssue('july-2025', { root: project });
    const description = field(await readFile(path.join(r.dir, r.invites[0]!), 'utf8'), 'DESCRIPTION')!;
    // The July event's one sentence is longer than 78 characters: the plain-text renderer wraps it, the invite must not.
    expect(description).toBe(
      "Overview of Crest Advisory's new research on how youth justice services are operationalising the Child First Framework in practice.\\n\\nRegister: https://liia.london/newsletter/july-2025/child-first-webinar",
    );

    // Markdown with a source line break inside a paragraph, and a list.
    const file = path.join(project, 'issues', 'july-2025.yaml');
    const yaml = await readFile(file, 'utf8');
    const from = "      Overview of Crest Advisory's new research on how youth justice services are operationalising the Child First Framework in practice.\n";
    expect(yaml).toContain(from);
    await writeFile(
      file,
      yaml.replace(
        from,
        '      Overview of new research on how youth justice services\n      put the Child First Framework into practice.\n\n      - findings from twelve London boroughs, with examples of practice from youth justice services across the capital\n      - time for questions\n',
      ),
    );
    const again = await buildIssue('july-2025', { root: project });
    const lines = field(await readFile(path.join(again.dir, again.invites[0]!), 'utf8'), 'DESCRIPTION')!.split('\\n');
    expect(lines).toEqual([
      'Overview of new research on how youth justice services put the Child First Framework into practice.',
      '',
      ' - findings from twelve London boroughs\\, with examples of practice from youth justice services across the capital',
      ' - time for questions',
      '',
      'Register: https://liia.london/newsletter/july-2025/child-first-webinar',
    ]);
  });

  it('links "Add to calendar" beside the register button when config gives archiveBaseUrl', async () => {
    const project = await makeProject();
    const cfg = path.join(project, 'newsletter.config.yaml');
    await writeFile(cfg, `${await readFile(cfg, 'utf8')}\narchiveBaseUrl: https://liia.london/newsletter\n`);
    const r = await buildIssue('july-2025', { root: project });
    expect(r.html).toMatch(
      /<a [^>]*href="https:\/\/liia\.london\/newsletter\/july-2025\/2025-07-10-applying-the-child-first-framework\.ics"[^>]*>Add to calendar<\/a>/,
    );
    // It stands alone: padded to a finger's height (email.css .tap).
    expect(r.html).toMatch(/<a class="tap" href="https:\/\/liia\.london\/newsletter\/july-2025\/[^"]+\.ics"[^>]*style="display:inline-block;padding:12px 0/);
    expect(r.text).toMatch(
      /^Add to calendar \[(\d+)\] \(\.ics\)\n\n\[\1\]\nhttps:\/\/liia\.london\/newsletter\/july-2025\/2025-07-10-applying-the-child-first-framework\.ics$/m,
    );
    expect(r.report.counts.error).toBe(0);
  });

  it('names each invite from its date and title only: moving sections keeps the name, a same-day twin gets -2', async () => {
    const project = await makeProject();
    const file = path.join(project, 'issues', 'july-2025.yaml');
    const yaml = await readFile(file, 'utf8');
    const event = yaml.slice(yaml.indexOf('  - kind: event\n'), yaml.indexOf('  - kind: partners\n'));
    // The same event twice (an afternoon repeat), and one more on another day, all before the first event's old place.
    const other = event
      .replace('"Applying the Child First Framework in youth justice services"', '"Café & Q&A: what\'s next?"')
      .replace(/2025-07-10T/g, '2025-07-24T');
    await writeFile(file, yaml.replace('  - kind: contents\n', `${event}${other}  - kind: contents\n`));
    const r = await buildIssue('july-2025', { root: project });
    expect(r.invites).toEqual([
      '2025-07-10-applying-the-child-first-framework.ics',
      '2025-07-24-cafe-q-a-what-s-next.ics',
      '2025-07-10-applying-the-child-first-framework-2.ics',
    ]);
    // Each its own event to a calendar: the UIDs differ.
    const uids = await Promise.all(r.invites.map(async (f) => field(await readFile(path.join(r.dir, f), 'utf8'), 'UID')));
    expect(new Set(uids).size).toBe(3);
  });
});

describe('an issue with events and no archiveBaseUrl', () => {
  const ADVICE = /set archiveBaseUrl in newsletter\.config\.yaml to where dist\/ is published, so the email can link "Add to calendar"\.$/;

  it('says so once, as a note with the fix, not a warning: July builds with 0 warnings', async () => {
    const project = await makeProject();
    const r = await buildIssue('july-2025', { root: project });
    const notes = r.report.notes.filter((n) => n.includes('archiveBaseUrl'));
    expect(notes).toEqual([
      expect.stringMatching(
        /^the calendar invite dist\/july-2025\/2025-07-10-applying-the-child-first-framework\.ics is written, but the email cannot link to it: /,
      ),
    ]);
    expect(notes[0]).toMatch(ADVICE);
    expect(r.report.counts).toEqual({ error: 0, warning: 0 });
    expect(JSON.parse(await readFile(path.join(r.dir, 'report.json'), 'utf8')).notes).toContain(notes[0]);
  });

  it('once however many events; not at all with archiveBaseUrl, or without an event that has a start time', async () => {
    const project = await makeProject();
    const file = path.join(project, 'issues', 'july-2025.yaml');
    const yaml = await readFile(file, 'utf8');
    const event = yaml.slice(yaml.indexOf('  - kind: event\n'), yaml.indexOf('  - kind: partners\n'));
    await writeFile(file, yaml.replace(event, event.repeat(3)));
    const three = await buildIssue('july-2025', { root: project });
    expect(three.invites).toHaveLength(3);
    const notes = three.report.notes.filter((n) => n.includes('archiveBaseUrl'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^the 3 calendar invites in dist\/july-2025\/ are written, but the email cannot link to them: /);
    expect(notes[0]).toMatch(ADVICE);

    // Without start times there is no invite to link.
    await writeFile(file, yaml.replace(/\n {4}(start|end): "[^"]*"/g, ''));
    const none = await buildIssue('july-2025', { root: project });
    expect(none.invites).toEqual([]);
    expect(none.report.notes.filter((n) => n.includes('archiveBaseUrl'))).toEqual([]);

    await writeFile(file, yaml);
    const cfg = path.join(project, 'newsletter.config.yaml');
    await writeFile(cfg, `${await readFile(cfg, 'utf8')}\narchiveBaseUrl: https://liia.london/newsletter\n`);
    const linked = await buildIssue('july-2025', { root: project });
    expect(linked.html).toContain('Add to calendar');
    expect(linked.report.notes.filter((n) => n.includes('archiveBaseUrl'))).toEqual([]);
  });
});

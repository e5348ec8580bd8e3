/**
 * The .ics for an event section: RFC 5545 structure, London times (BST/GMT and the DST
 * change days), CRLF and 75-octet folding that never splits a UTF-8 character, and TEXT
 * escaping that round-trips. The file is read back with a small parser written here, not
 * with the code under test.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { eventIcs, icsFileName, londonToUtc, unfoldText, type IcsInput } from '../src/authoring/calendar.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NOW = new Date('2025-06-20T09:15:30.250Z');
const REGISTER = 'https://liia.london/newsletter/july-2025/child-first-webinar';

// ---------------------------------------------------------------------------
// A small iCalendar reader

interface Prop {
  name: string;
  params: Record<string, string>;
  value: string;
}

interface Component {
  name: string;
  props: Prop[];
  children: Component[];
}

/** Unfold (CRLF followed by a space or tab) and split into content lines. */
function unfold(ics: string): string[] {
  return ics
    .replace(/\r\n[ \t]/g, '')
    .split('\r\n')
    .filter((line, i, all) => !(i === all.length - 1 && line === ''));
}

/** `NAME;P1=v1;P2="v;2":value`: parameter values may be quoted (and then hold ; : ,). */
function parseLine(line: string): Prop {
  const nameMatch = /^[A-Za-z0-9-]+/.exec(line);
  if (!nameMatch) throw new Error(`no property name: ${line}`);
  const name = nameMatch[0].toUpperCase();
  let i = name.length;
  const params: Record<string, string> = {};
  while (line[i] === ';') {
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`bad parameter: ${line}`);
    const pname = line.slice(i + 1, eq).toUpperCase();
    let j = eq + 1;
    let pvalue: string;
    if (line[j] === '"') {
      const close = line.indexOf('"', j + 1);
      if (close < 0) throw new Error(`unclosed quote: ${line}`);
      pvalue = line.slice(j + 1, close);
      j = close + 1;
    } else {
      const stop = line.slice(j).search(/[;:]/);
      if (stop < 0) throw new Error(`no value: ${line}`);
      pvalue = line.slice(j, j + stop);
      j += stop;
    }
    // RFC 6868 caret encoding: ^n newline, ^' double quote, ^^ caret.
    params[pname] = pvalue.replace(/\^([n'^])/g, (_, c: string) => (c === 'n' ? '\n' : c === "'" ? '"' : '^'));
    i = j;
  }
  if (line[i] !== ':') throw new Error(`expected ':' in: ${line}`);
  return { name, params, value: line.slice(i + 1) };
}

/** Parse into nested components; throws on a BEGIN/END mismatch or text outside VCALENDAR. */
function parseIcs(ics: string): Component {
  const stack: Component[] = [];
  let root: Component | undefined;
  for (const line of unfold(ics)) {
    const prop = parseLine(line);
    if (prop.name === 'BEGIN') {
      const c: Component = { name: prop.value, props: [], children: [] };
      if (stack.length) stack[stack.length - 1]!.children.push(c);
      else if (root) throw new Error('a second top-level component');
      else root = c;
      stack.push(c);
    } else if (prop.name === 'END') {
      const c = stack.pop();
      if (!c || c.name !== prop.value) throw new Error(`END:${prop.value} does not close ${c?.name}`);
    } else {
      if (!stack.length) throw new Error(`property outside a component: ${line}`);
      stack[stack.length - 1]!.props.push(prop);
    }
  }
  if (!root || stack.length) throw new Error('unterminated calendar');
  return root;
}

/** The one property `name` of `c` (fails if missing or repeated). */
function prop(c: Component, name: string): Prop {
  const found = c.props.filter((p) => p.name === name);
  expect(found, `${c.name} has exactly one ${name}`).toHaveLength(1);
  return found[0]!;
}

const value = (c: Component, name: string) => prop(c, name).value;
const has = (c: Component, name: string) => c.props.some((p) => p.name === name);

/** Undo TEXT escaping: \\ \; \, \n \N. */
function unescapeText(v: string): string {
  return v.replace(/\\([\\;,nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

function only(c: Component, name: string): Component {
  const found = c.children.filter((k) => k.name === name);
  expect(found, `${c.name} has exactly one ${name}`).toHaveLength(1);
  return found[0]!;
}

const vevent = (ics: string) => only(parseIcs(ics), 'VEVENT');

/** The July issue's event section, from the real issue file. */
async function julyEvent(): Promise<{ title: string; description: string; start: string; end: string; button: { href: string } }> {
  const issue = YAML.parse(await readFile(path.join(ROOT, 'issues', 'july-2025.yaml'), 'utf8')) as {
    sections: Array<Record<string, unknown>>;
  };
  const events = issue.sections.filter((s) => s.kind === 'event');
  expect(events).toHaveLength(1);
  return events[0] as never;
}

function base(overrides: Partial<IcsInput> = {}): IcsInput {
  return {
    title: 'Applying the Child First Framework in youth justice services',
    description: 'Overview of new research.',
    start: '2025-07-10T14:00:00',
    end: '2025-07-10T15:30:00',
    url: REGISTER,
    uid: 'july-2025-child-first-webinar@liia.london',
    now: NOW,
    ...overrides,
  };
}

/** London's UTC offset in minutes at an instant, straight from Intl (independent of the code under test). */
function intlLondonOffsetMinutes(at: Date): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', timeZoneName: 'shortOffset' }).formatToParts(at);
  const name = parts.find((p) => p.type === 'timeZoneName')!.value; // "GMT" or "GMT+1"
  const m = /^GMT(?:([+-])(\d{1,2})(?::(\d{2}))?)?$/.exec(name);
  if (!m) throw new Error(`unexpected zone name ${name}`);
  if (!m[1]) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

// ---------------------------------------------------------------------------

describe('eventIcs: structure', () => {
  it('is one VCALENDAR with PRODID, VERSION 2.0, GREGORIAN, PUBLISH, a VTIMEZONE and one VEVENT', () => {
    const ics = eventIcs(base());
    const lines = unfold(ics);
    expect(lines[0]).toBe('BEGIN:VCALENDAR');
    expect(lines.at(-1)).toBe('END:VCALENDAR');
    const cal = parseIcs(ics);
    expect(cal.name).toBe('VCALENDAR');
    expect(value(cal, 'PRODID')).toMatch(/^-\/\/.+\/\/.+\/\/[A-Z]{2}$/);
    expect(value(cal, 'VERSION')).toBe('2.0');
    expect(value(cal, 'CALSCALE')).toBe('GREGORIAN');
    expect(value(cal, 'METHOD')).toBe('PUBLISH');
    expect(cal.children.map((c) => c.name)).toEqual(['VTIMEZONE', 'VEVENT']);
  });

  it('has a Europe/London VTIMEZONE with STANDARD (GMT) and DAYLIGHT (BST) rules', () => {
    const tz = only(parseIcs(eventIcs(base())), 'VTIMEZONE');
    expect(value(tz, 'TZID')).toBe('Europe/London');
    const std = only(tz, 'STANDARD');
    const dst = only(tz, 'DAYLIGHT');
    expect([value(std, 'TZNAME'), value(std, 'TZOFFSETFROM'), value(std, 'TZOFFSETTO')]).toEqual(['GMT', '+0100', '+0000']);
    expect([value(dst, 'TZNAME'), value(dst, 'TZOFFSETFROM'), value(dst, 'TZOFFSETTO')]).toEqual(['BST', '+0000', '+0100']);
    expect(value(std, 'RRULE')).toBe('FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU');
    expect(value(dst, 'RRULE')).toBe('FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU');
    expect(value(std, 'DTSTART')).toMatch(/^\d{4}10\d{2}T020000$/);
    expect(value(dst, 'DTSTART')).toMatch(/^\d{4}03\d{2}T010000$/);
  });

  it("the VTIMEZONE rules match the Intl zone data: the offset changes exactly at each rule's instant, 2020-2035", () => {
    const tz = only(parseIcs(eventIcs(base())), 'VTIMEZONE');
    for (const kind of ['STANDARD', 'DAYLIGHT']) {
      const rule = only(tz, kind);
      const dtstart = value(rule, 'DTSTART');
      const month = Number(/BYMONTH=(\d+)/.exec(value(rule, 'RRULE'))![1]);
      expect(/BYDAY=-1SU/.test(value(rule, 'RRULE'))).toBe(true);
      const from = value(rule, 'TZOFFSETFROM');
      const to = value(rule, 'TZOFFSETTO');
      const minutes = (o: string) => (o[0] === '-' ? -1 : 1) * (Number(o.slice(1, 3)) * 60 + Number(o.slice(3, 5)));
      const hour = Number(dtstart.slice(9, 11));
      const minute = Number(dtstart.slice(11, 13));
      // The rule's first DTSTART is itself a last Sunday of its month.
      const first = new Date(Date.UTC(Number(dtstart.slice(0, 4)), Number(dtstart.slice(4, 6)) - 1, Number(dtstart.slice(6, 8))));
      expect(first.getUTCDay()).toBe(0);
      expect(new Date(first.getTime() + 7 * 86_400_000).getUTCMonth()).not.toBe(first.getUTCMonth());
      for (let year = 2020; year <= 2035; year++) {
        const lastDay = new Date(Date.UTC(year, month, 0));
        const sunday = lastDay.getUTCDate() - lastDay.getUTCDay();
        // Local time in the offset before the change -> UTC.
        const change = new Date(Date.UTC(year, month - 1, sunday, hour, minute) - minutes(from) * 60_000);
        expect(intlLondonOffsetMinutes(new Date(change.getTime() - 1000)), `${kind} ${year} before`).toBe(minutes(from));
        expect(intlLondonOffsetMinutes(change), `${kind} ${year} after`).toBe(minutes(to));
      }
    }
  });

  it('the VEVENT has UID, DTSTAMP in UTC, SUMMARY, DESCRIPTION, URL; no LOCATION or ORGANIZER unless given', () => {
    const ev = vevent(eventIcs(base()));
    expect(value(ev, 'UID')).toBe('july-2025-child-first-webinar@liia.london');
    expect(value(ev, 'DTSTAMP')).toBe('20250620T091530Z');
    expect(unescapeText(value(ev, 'SUMMARY'))).toBe('Applying the Child First Framework in youth justice services');
    expect(value(ev, 'URL')).toBe(REGISTER);
    expect(has(ev, 'LOCATION')).toBe(false);
    expect(has(ev, 'ORGANIZER')).toBe(false);
  });

  it('DTSTAMP defaults to now', () => {
    const before = Date.now();
    const stamp = value(vevent(eventIcs(base({ now: undefined }))), 'DTSTAMP');
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp)!;
    const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
    expect(t).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  it('LOCATION and ORGANIZER;CN=...:mailto: when given (CN quoted when it holds , ; or :, quotes caret-encoded)', () => {
    const ics = eventIcs(base({ location: 'Online; Zoom, link on registration', organizer: { name: 'LIIA, London', email: 'events@liia.london' } }));
    expect(unfold(ics)).toContain('ORGANIZER;CN="LIIA, London":mailto:events@liia.london');
    const ev = vevent(ics);
    expect(unescapeText(value(ev, 'LOCATION'))).toBe('Online; Zoom, link on registration');
    expect(value(ev, 'LOCATION')).toBe('Online\\; Zoom\\, link on registration');
    const org = prop(ev, 'ORGANIZER');
    expect(org.params).toEqual({ CN: 'LIIA, London' });
    expect(org.value).toBe('mailto:events@liia.london');
    const tricky = prop(vevent(eventIcs(base({ organizer: { name: 'LIIA: "Events"; London', email: 'events@liia.london' } }))), 'ORGANIZER');
    expect(tricky.params).toEqual({ CN: 'LIIA: "Events"; London' });
    expect(tricky.value).toBe('mailto:events@liia.london');
    expect(unfold(eventIcs(base({ organizer: { name: 'LIIA', email: 'events@liia.london' } })))).toContain('ORGANIZER;CN=LIIA:mailto:events@liia.london');
  });

  it('the DESCRIPTION ends with the register URL, once', () => {
    const ev = vevent(eventIcs(base()));
    expect(unescapeText(value(ev, 'DESCRIPTION'))).toBe(`Overview of new research.\n\nRegister: ${REGISTER}`);
    const already = vevent(eventIcs(base({ description: `Register at ${REGISTER} today.` })));
    expect(unescapeText(value(already, 'DESCRIPTION'))).toBe(`Register at ${REGISTER} today.`);
    const noUrl = vevent(eventIcs(base({ url: undefined })));
    expect(unescapeText(value(noUrl, 'DESCRIPTION'))).toBe('Overview of new research.');
    expect(has(noUrl, 'URL')).toBe(false);
  });
});

describe('eventIcs and londonToUtc: times', () => {
  it('the July webinar (from issues/july-2025.yaml) is 14:00-15:30 London = 13:00-14:30 UTC', async () => {
    const e = await julyEvent();
    expect([e.start, e.end]).toEqual(['2025-07-10T14:00:00', '2025-07-10T15:30:00']);
    const ev = vevent(
      eventIcs({ title: e.title, description: e.description, start: e.start, end: e.end, url: e.button.href, uid: 'july-2025-event@liia.london', now: NOW }),
    );
    expect(prop(ev, 'DTSTART').params).toEqual({ TZID: 'Europe/London' });
    expect(value(ev, 'DTSTART')).toBe('20250710T140000');
    expect(prop(ev, 'DTEND').params).toEqual({ TZID: 'Europe/London' });
    expect(value(ev, 'DTEND')).toBe('20250710T153000');
    expect(unfold(eventIcs(base()))).toContain('DTSTART;TZID=Europe/London:20250710T140000');
    expect(londonToUtc(e.start).toISOString()).toBe('2025-07-10T13:00:00.000Z');
    expect(londonToUtc(e.end).toISOString()).toBe('2025-07-10T14:30:00.000Z');
  });

  it('a January event is GMT: UTC equals the London time; with no end it lasts one hour', () => {
    expect(londonToUtc('2026-01-15T18:30:00').toISOString()).toBe('2026-01-15T18:30:00.000Z');
    const ev = vevent(eventIcs(base({ start: '2026-01-15T18:30:00', end: undefined })));
    expect(value(ev, 'DTSTART')).toBe('20260115T183000');
    expect(value(ev, 'DTEND')).toBe('20260115T193000');
  });

  it('seconds are optional, as the schema allows (2025-07-10T14:00)', () => {
    expect(londonToUtc('2025-07-10T14:00').toISOString()).toBe('2025-07-10T13:00:00.000Z');
    expect(value(vevent(eventIcs(base({ start: '2025-07-10T14:00', end: '2025-07-10T15:30' }))), 'DTEND')).toBe('20250710T153000');
  });

  it.each([
    ['2025-03-30T00:30:00', '2025-03-30T00:30:00.000Z', 'before the spring change (GMT)'],
    ['2025-03-30T02:30:00', '2025-03-30T01:30:00.000Z', 'after the spring change (BST)'],
    ['2025-03-30T01:30:00', '2025-03-30T01:30:00.000Z', 'in the spring gap: moved forward to 02:30 BST'],
    ['2025-10-26T00:30:00', '2025-10-25T23:30:00.000Z', 'before the autumn change (BST)'],
    ['2025-10-26T01:30:00', '2025-10-26T00:30:00.000Z', 'the repeated hour: first occurrence (BST)'],
    ['2025-10-26T02:30:00', '2025-10-26T02:30:00.000Z', 'after the autumn change (GMT)'],
    ['2024-03-31T02:00:00', '2024-03-31T01:00:00.000Z', '2024 spring change, first BST minute'],
    ['2024-10-27T00:59:59', '2024-10-26T23:59:59.000Z', '2024 autumn, last BST second before the repeat'],
  ])('londonToUtc(%s) = %s (%s)', (local, utc) => {
    expect(londonToUtc(local).toISOString()).toBe(utc);
  });

  it('a start in the spring gap is written as the real London time; an end in the repeated hour stays after the start', () => {
    const gap = vevent(eventIcs(base({ start: '2025-03-30T01:30:00', end: undefined })));
    expect(value(gap, 'DTSTART')).toBe('20250330T023000');
    expect(value(gap, 'DTEND')).toBe('20250330T033000');
    // 01:30 BST + 1 hour = 01:30 GMT, which a TZID time would read as 01:30 BST: written in UTC.
    const repeat = vevent(eventIcs(base({ start: '2025-10-26T01:30:00', end: undefined })));
    expect(value(repeat, 'DTSTART')).toBe('20251026T013000');
    expect(prop(repeat, 'DTEND').params).toEqual({});
    expect(value(repeat, 'DTEND')).toBe('20251026T013000Z');
  });

  it('rejects what is not a valid London date-time, and an end not after the start', () => {
    for (const bad of ['2025-07-10', '2025-07-10T14:00:00Z', '2025-07-10T14:00:00+01:00', '2025-02-30T10:00', '2025-07-10T24:00', '10/07/2025 14:00']) {
      expect(() => londonToUtc(bad), bad).toThrow(RangeError);
    }
    expect(() => eventIcs(base({ end: '2025-07-10T13:00:00' }))).toThrow(/before or when it starts/);
    expect(() => eventIcs(base({ end: '2025-07-10T14:00:00' }))).toThrow(RangeError);
    expect(() => eventIcs(base({ uid: '  ' }))).toThrow(RangeError);
    expect(() => eventIcs(base({ url: 'https://x.example/a\r\nX-EVIL:1' }))).toThrow(RangeError);
    expect(() => eventIcs(base({ organizer: { name: 'A', email: 'a@b\r\nX:1' } }))).toThrow(RangeError);
  });
});

describe('eventIcs: lines, folding and escaping', () => {
  const LONG =
    'Join us 🎉 for a session on Child First; practice, research, and next steps — with colleagues from Crest Advisory, ' +
    'YJB; London boroughs, and partners 👩‍👩‍👧‍👦🇬🇧. Path: C:\\data\\notes; "quoted", semicolons; commas, ' +
    'accents: café, naïve, Zürich, 日本語テキスト.\n\nSecond paragraph, with a comma.\r\n\r\nThird; line\\n (a literal backslash-n). ' +
    '😀'.repeat(30);

  function physicalLines(ics: string): Buffer[] {
    const bytes = Buffer.from(ics, 'utf8');
    const lines: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0x0d) {
        expect(bytes[i + 1], `CR at byte ${i} is followed by LF`).toBe(0x0a);
        lines.push(bytes.subarray(start, i));
        start = i + 2;
        i++;
      } else {
        expect(bytes[i], `bare LF at byte ${i}`).not.toBe(0x0a);
      }
    }
    expect(start, 'the file ends with CRLF').toBe(bytes.length);
    return lines;
  }

  it('every line ends with CRLF, is at most 75 octets, and is whole UTF-8 (no character split by folding)', () => {
    const inputs = [
      base({
        description: LONG,
        title: LONG.slice(0, 200),
        location: LONG.slice(20, 160),
        organizer: { name: 'Ünïcode Ørganiser 🎉', email: 'e@liia.london' },
      }),
      // Multi-byte characters at every alignment against the 75-octet boundary.
      ...[0, 1, 2, 3, 4, 5].map((k) => base({ description: 'a'.repeat(k) + '€😀é'.repeat(40) })),
    ];
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let folded = 0;
    for (const input of inputs) {
      const ics = eventIcs(input);
      for (const line of physicalLines(ics)) {
        expect(line.length).toBeLessThanOrEqual(75);
        expect(() => decoder.decode(line)).not.toThrow();
        if (line[0] === 0x20) folded++;
      }
      // And the folding loses nothing.
      expect(unescapeText(value(vevent(ics), 'DESCRIPTION'))).toBe(`${input.description.replace(/\r\n/g, '\n')}\n\nRegister: ${REGISTER}`);
    }
    expect(folded).toBeGreaterThan(20);
  });

  it('folds long lines as full as it can (a continuation only where the next character would not fit)', () => {
    const ics = eventIcs(base({ description: 'x'.repeat(500) }));
    const lines = physicalLines(ics).map((b) => b.toString('utf8'));
    const i = lines.findIndex((l) => l.startsWith('DESCRIPTION:'));
    expect(lines[i]).toHaveLength(75);
    expect(lines[i + 1]).toMatch(/^ x{74}$/);
  });

  it('a long description with emoji, commas, semicolons, backslashes and newlines round-trips unchanged', () => {
    const ev = vevent(eventIcs(base({ description: LONG })));
    const raw = value(ev, 'DESCRIPTION');
    expect(raw).not.toMatch(/(^|[^\\])(\\\\)*[;,]/); // every ; and , is escaped
    expect(raw).toContain('C:\\\\data\\\\notes\\;');
    expect(raw).toContain('Third\\; line\\\\n');
    // CRLF in the input is one newline, like LF.
    expect(unescapeText(raw)).toBe(`${LONG.replace(/\r\n/g, '\n')}\n\nRegister: ${REGISTER}`);
  });

  it('a title with a newline is escaped as \\n, not written as a line break', () => {
    const ics = eventIcs(base({ title: 'Child First,\nin practice; part 2' }));
    const summary = unfold(ics).filter((l) => l.startsWith('SUMMARY'));
    expect(summary).toEqual(['SUMMARY:Child First\\,\\nin practice\\; part 2']);
    expect(unescapeText(value(vevent(ics), 'SUMMARY'))).toBe('Child First,\nin practice; part 2');
    // Nothing after the SUMMARY line looks like a stray property.
    expect(unfold(ics).every((l) => /^[A-Z-]+[;:]/.test(l))).toBe(true);
  });

  it('control characters other than tab are dropped from TEXT', () => {
    const ev = vevent(eventIcs(base({ title: 'A\u0007B\tC\u0000D' })));
    expect(value(ev, 'SUMMARY')).toBe('AB\tCD');
  });
});

describe('eventIcs: the description is unfolded (calendars show every line break)', () => {
  it('joins soft wraps within a paragraph with a space; keeps paragraph breaks, list items and heading underlines as line breaks', () => {
    const wrapped = [
      "Overview of Crest Advisory's new research on how youth justice services are",
      'operationalising the Child First Framework in practice.',
      '',
      '',
      'What to expect',
      '--------------',
      'Three short talks and',
      'a discussion:',
      ' - the research, with findings from',
      '   twelve London boroughs',
      ' - practice examples',
      '    - nested, wrapped',
      '      here',
      '1. numbered item',
      '',
      '> a quotation that was',
      '> wrapped across lines',
    ].join('\n');
    const description = unescapeText(value(vevent(eventIcs(base({ description: wrapped }))), 'DESCRIPTION'));
    expect(description).toBe(
      [
        "Overview of Crest Advisory's new research on how youth justice services are operationalising the Child First Framework in practice.",
        '',
        'What to expect',
        '--------------',
        'Three short talks and a discussion:',
        ' - the research, with findings from twelve London boroughs',
        ' - practice examples',
        '    - nested, wrapped here',
        '1. numbered item',
        '',
        '> a quotation that was wrapped across lines',
        '',
        `Register: ${REGISTER}`,
      ].join('\n'),
    );
  });

  it('the unfolded description is still folded at 75 octets (RFC 5545 line folding, a different thing)', () => {
    const ics = eventIcs(base({ description: `${'word '.repeat(30)}\n${'more '.repeat(30)}` }));
    const lines = ics.split('\r\n');
    const i = lines.findIndex((l) => l.startsWith('DESCRIPTION:'));
    expect(Buffer.byteLength(lines[i]!)).toBe(75);
    expect(lines[i + 1]).toMatch(/^ /);
    expect(unescapeText(value(vevent(ics), 'DESCRIPTION'))).toBe(`${'word '.repeat(30)}${'more '.repeat(30).trimEnd()}\n\nRegister: ${REGISTER}`);
  });

  it('CRLF and CR wraps are soft wraps too; runs of blank lines are one paragraph break', () => {
    expect(unfoldText('a\r\nb\rc\n\n\n\n d\ne')).toBe('a b c\n\n d e');
  });
});

describe('icsFileName', () => {
  it.each([
    ['child-first-webinar', 'child-first-webinar.ics'],
    ['Child First: webinar / July?', 'Child-First-webinar-July.ics'],
    ['café_2025.07', 'cafe_2025.07.ics'],
    ['../../etc/passwd', 'etc-passwd.ics'],
    ['.hidden', 'hidden.ics'],
    ['con', 'con-event.ics'],
    ['x'.repeat(300), `${'x'.repeat(100)}.ics`],
  ])('%s -> %s', (id, name) => {
    expect(icsFileName(id)).toBe(name);
  });

  it('only safe characters, and refuses an id with none', () => {
    expect(icsFileName('a b\u0000c\\d"e<f>|g*h')).toMatch(/^[A-Za-z0-9._-]+\.ics$/);
    expect(() => icsFileName('🎉 / ..')).toThrow(RangeError);
  });
});

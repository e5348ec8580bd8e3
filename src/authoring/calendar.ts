/**
 * An iCalendar (RFC 5545) file for an event section, so a reader can add the event to
 * Outlook, Google Calendar or Apple Calendar from the "Add to calendar" link.
 *
 * Times in an issue file are London wall-clock times ("2025-07-10T14:00:00" means 14:00 in
 * London, BST in summer, GMT in winter). The file keeps them as London times
 * (`DTSTART;TZID=Europe/London:20250710T140000`) with a VTIMEZONE describing the UK rules,
 * so calendars show the right time whatever the reader's own time zone.
 *
 * No dependencies: London's offsets follow the UK rule (BST from 01:00 UTC on the last
 * Sunday of March to 01:00 UTC on the last Sunday of October), checked against Node's
 * time-zone data by the tests. That conversion lives in src/issue/london-time.ts, so the
 * issue schema checks an event's times by the same rule before a build gets here.
 */
import { parseAddress } from '../issue/email-address.js';
import { londonToUtc, londonWallClock, type WallClock } from '../issue/london-time.js';

export { londonToUtc } from '../issue/london-time.js';

export interface IcsInput {
  title: string;
  /**
   * Plain text (no Markdown, no HTML). A single line break inside a paragraph is taken as a
   * soft wrap (from the plain-text renderer's 78 columns, or the YAML source) and becomes a
   * space; blank lines, list items (`- `, `* `, `1. `) and heading underlines stay line breaks.
   * See `unfoldText`.
   */
  description: string;
  /** Local ISO date-time in Europe/London, e.g. "2025-07-10T14:00:00" (seconds optional). */
  start: string;
  /** Local ISO date-time in Europe/London; default start + 1 hour. */
  end?: string;
  /** The register page: the URL property, and appended to the description. */
  url?: string;
  /** Stable across rebuilds, e.g. `${slug}-${eventId}@${domain}`, so a re-import updates the event. */
  uid: string;
  location?: string;
  organizer?: { name: string; email: string };
  /** DTSTAMP; defaults to the current time (set it in tests). */
  now?: Date;
}

const TZID = 'Europe/London';
const PRODID = '-//LIIA//liia-newsletter//EN';
const CRLF = '\r\n';
const MAX_LINE_OCTETS = 75;
const HOUR_MS = 3_600_000;

/**
 * The UK rules since 1996 (EU summer time): BST from the last Sunday of March at 01:00 GMT,
 * GMT from the last Sunday of October at 02:00 BST (both 01:00 UTC). Each DTSTART is the
 * local time in the offset in force before the change (TZOFFSETFROM), as RFC 5545 requires;
 * 1996-03-31 and 1996-10-27 are the last Sundays of those months.
 */
const VTIMEZONE_LONDON = [
  'BEGIN:VTIMEZONE',
  `TZID:${TZID}`,
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:+0000',
  'TZOFFSETTO:+0100',
  'TZNAME:BST',
  'DTSTART:19960331T010000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0000',
  'TZNAME:GMT',
  'DTSTART:19961027T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
];

// ---------------------------------------------------------------------------
// iCalendar text

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `20250710T140000` for a wall-clock time (seconds truncated: iCalendar has no fractions). */
function formatWall(w: WallClock): string {
  return `${pad(w.year, 4)}${pad(w.month)}${pad(w.day)}T${pad(w.hour)}${pad(w.minute)}${pad(w.second)}`;
}

/** `20250710T130000Z`. */
function formatUtc(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(
    d.getUTCMinutes(),
  )}${pad(d.getUTCSeconds())}Z`;
}

/**
 * A DATE-TIME property for an instant: `;TZID=Europe/London:<local>` when that London
 * time reads back as the same instant, else UTC (only the second 01:xx on the October
 * change day, which a TZID time cannot express: it would be read as the first).
 */
function dateTimeProperty(name: string, utcMs: number): string {
  const local = formatWall(londonWallClock(utcMs));
  const whole = utcMs - (((utcMs % 1000) + 1000) % 1000);
  const iso = `${local.slice(0, 4)}-${local.slice(4, 6)}-${local.slice(6, 8)}T${local.slice(9, 11)}:${local.slice(11, 13)}:${local.slice(13, 15)}`;
  return londonToUtc(iso).getTime() === whole ? `${name};TZID=${TZID}:${local}` : `${name}:${formatUtc(new Date(whole))}`;
}

/**
 * Escape a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma, and line breaks as
 * `\n` (CRLF, CR and LF alike). Other control characters are not allowed in TEXT and are
 * dropped (tab is kept).
 */
function escapeText(value: string): string {
  return (
    value
      .replace(/\r\n|\r|\n/g, '\n')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
      .replace(/[\\;,\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))
  );
}

/**
 * A parameter value (RFC 5545 3.2, with RFC 6868 caret encoding for `^`, `"` and
 * newlines), quoted when it holds `;`, `:` or `,`.
 */
function paramValue(value: string): string {
  const encoded = value
    .replace(/\^/g, '^^')
    .replace(/\r\n|\r|\n/g, '^n')
    .replace(/"/g, "^'")
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '');
  return /[;:,]/.test(encoded) ? `"${encoded}"` : encoded;
}

/** A URI value: no escaping in iCalendar, so refuse anything that could break the line. */
function uriValue(what: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(value) || !URL.canParse(value)) {
    throw new RangeError(`${what} is not an absolute URL without spaces: ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Fold a content line at 75 octets (RFC 5545 3.1): CRLF then a space, the space counting
 * towards the next line's 75. Splits only between code points, so a multi-byte UTF-8
 * character (an emoji, an accented letter) is never cut in two.
 */
function foldLine(line: string): string {
  const out: string[] = [];
  let current = '';
  let octets = 0;
  for (const ch of line) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (octets + size > MAX_LINE_OCTETS) {
      out.push(current);
      current = ' ';
      octets = 1;
    }
    current += ch;
    octets += size;
  }
  out.push(current);
  return out.join(CRLF);
}

const LIST_ITEM = /^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+\S/;
const UNDERLINE = /^[ \t]*(?:={3,}|-{3,})[ \t]*$/;
const QUOTE = /^[ \t]*(?:>[ \t]?)+/;

/**
 * `text` with its soft wraps undone, for a calendar's DESCRIPTION: calendars show every line
 * break, so a paragraph wrapped at 78 columns by the plain-text renderer (or across source
 * lines in the YAML) would show ragged. Within a paragraph, a line joins the previous one with
 * a space, except a list item (`- `, `* `, `1. `, kept with its indent), a heading underline
 * (`===`, `---`) and the line after one. Paragraphs (one or more blank lines) are separated by
 * one blank line. Quoted lines (`> `) join without repeating the `>`. Not to be confused with
 * RFC 5545 line folding at 75 octets (foldLine), which calendars undo when they read the file.
 */
export function unfoldText(text: string): string {
  return text
    .replace(/\r\n|\r/g, '\n')
    .split(/\n(?:[ \t]*\n)+/)
    .map((paragraph) => {
      const out: string[] = [];
      let previous = '';
      for (const raw of paragraph.split('\n')) {
        const line = raw.trimEnd();
        if (out.length === 0 || LIST_ITEM.test(line) || UNDERLINE.test(line) || UNDERLINE.test(previous)) out.push(line);
        else {
          const quote = QUOTE.exec(previous)?.[0] !== undefined && QUOTE.exec(line)?.[0] !== undefined;
          const rest = (quote ? line.replace(QUOTE, '') : line).trim();
          if (rest) out[out.length - 1] = `${out[out.length - 1]!.trimEnd()} ${rest}`;
        }
        previous = line;
      }
      return out.join('\n');
    })
    .join('\n\n');
}

/**
 * The .ics text of one event: VCALENDAR (PRODID, VERSION 2.0, GREGORIAN, METHOD:PUBLISH),
 * the Europe/London VTIMEZONE, and one VEVENT. CRLF line endings, folded at 75 octets.
 *
 * Start and end are London times (see `londonToUtc`); DTSTART/DTEND carry the London time
 * as it really is (a time in the spring gap is written as the moved-forward time). With no
 * end, the event lasts one hour. Throws a RangeError when the start or end is not a valid
 * date-time, the end is not after the start, the UID is empty, or the URL or organizer
 * email could break the file.
 */
export function eventIcs(input: IcsInput): string {
  const uid = input.uid.trim();
  if (!uid) throw new RangeError('An event UID must not be empty');

  const startMs = londonToUtc(input.start).getTime();
  const endMs = input.end === undefined ? startMs + HOUR_MS : londonToUtc(input.end).getTime();
  if (endMs <= startMs) {
    throw new RangeError(`The event ends (${input.end}) before or when it starts (${input.start})`);
  }

  const url = input.url === undefined ? undefined : uriValue('The event URL', input.url.trim());
  const description = unfoldText(input.description).replace(/\s+$/, '');
  const fullDescription =
    url === undefined || description.includes(url) ? description : description ? `${description}\n\nRegister: ${url}` : `Register: ${url}`;

  const lines = [
    'BEGIN:VCALENDAR',
    `PRODID:${PRODID}`,
    'VERSION:2.0',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    ...VTIMEZONE_LONDON,
    'BEGIN:VEVENT',
    `UID:${escapeText(uid)}`,
    `DTSTAMP:${formatUtc(input.now ?? new Date())}`,
    dateTimeProperty('DTSTART', startMs),
    dateTimeProperty('DTEND', endMs),
    `SUMMARY:${escapeText(input.title)}`,
    `DESCRIPTION:${escapeText(fullDescription)}`,
  ];
  if (url !== undefined) lines.push(`URL:${url}`);
  if (input.location?.trim()) lines.push(`LOCATION:${escapeText(input.location)}`);
  if (input.organizer) {
    // The one address rule (src/issue/email-address.ts); a mailto: URI is ASCII, so the wire form (punycode domain).
    const address = parseAddress(input.organizer.email);
    if (!address.ok) {
      throw new RangeError(`Not an email address for the organizer: ${JSON.stringify(input.organizer.email)}: ${address.reason}`);
    }
    const name = input.organizer.name.trim();
    lines.push(`ORGANIZER${name ? `;CN=${paramValue(name)}` : ''}:mailto:${address.wire}`);
  }
  lines.push('END:VEVENT', 'END:VCALENDAR');
  return lines.map(foldLine).join(CRLF) + CRLF;
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)$/i;

/**
 * `${eventId}.ics` with only `A-Z a-z 0-9 . _ -`: accents are dropped ("café" -> "cafe"),
 * other runs of characters become one `-`, leading/trailing dots and dashes go (no hidden
 * files, no `..`), the stem is at most 100 characters, and Windows device names get a
 * `-event` suffix. Throws a RangeError when nothing usable is left.
 */
export function icsFileName(eventId: string): string {
  let stem = eventId
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, 100)
    .replace(/[.-]+$/, '');
  if (!stem) throw new RangeError(`No usable file name in event id ${JSON.stringify(eventId)}`);
  if (WINDOWS_RESERVED.test(stem)) stem += '-event';
  return `${stem}.ics`;
}

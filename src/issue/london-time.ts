/**
 * London wall-clock time <-> UTC, by the UK rule (BST from 01:00 UTC on the last Sunday of
 * March to 01:00 UTC on the last Sunday of October). Here in issue/, not in authoring/, so
 * the issue schema can check an event's start and end with the same rule the calendar
 * invite (src/authoring/calendar.ts) is made with: what the schema accepts, the invite can
 * be made from.
 *
 * No dependencies; test/calendar.test.ts checks the rule against Node's time-zone data.
 */

const DAY_MS = 24 * 3_600_000;

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/** Milliseconds since the epoch of a wall-clock time read as if it were UTC (years 0-99 too). */
function wallAsUtcMs(w: WallClock): number {
  const d = new Date(Date.UTC(2000, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond));
  d.setUTCFullYear(w.year, w.month - 1, w.day);
  return d.getTime();
}

/**
 * The UTC instant BST starts or ends in `year`: 01:00 UTC on the last Sunday of
 * March or October (the UK's rule since 1996, the same as calendar.ts's VTIMEZONE).
 * Computed, not read from Intl: building an Intl.DateTimeFormat for Europe/London
 * costs about 12 ms on the first call, a noticeable part of a cold build.
 * test/calendar.test.ts compares this with Node's own time-zone data, 2020-2035.
 */
function lastSundayAt1Utc(year: number, month: 2 | 9): number {
  const lastDay = new Date(Date.UTC(year, month + 1, 0));
  lastDay.setUTCDate(lastDay.getUTCDate() - lastDay.getUTCDay());
  lastDay.setUTCHours(1);
  return lastDay.getTime();
}

/** London's offset from UTC (ms, +3600000 in BST) at a UTC instant. */
function londonOffsetMs(utcMs: number): number {
  const year = new Date(utcMs).getUTCFullYear();
  return utcMs >= lastSundayAt1Utc(year, 2) && utcMs < lastSundayAt1Utc(year, 9) ? 3_600_000 : 0;
}

/** London wall-clock time at a UTC instant. */
export function londonWallClock(utcMs: number): WallClock {
  const d = new Date(utcMs + londonOffsetMs(utcMs));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
  };
}

const LOCAL_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

function parseLocalIso(local: string): WallClock {
  const m = LOCAL_ISO.exec(local);
  if (!m) {
    throw new RangeError(`Not a local ISO date-time: ${JSON.stringify(local)} (expected e.g. 2025-07-10T14:00:00, London time, no Z or offset)`);
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const millisecond = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const w: WallClock = { year, month, day, hour, minute, second, millisecond };
  // Reject 2025-02-30, 24:00, 14:60 and the like rather than let Date roll them over.
  const back = new Date(wallAsUtcMs(w));
  if (hour > 23 || minute > 59 || second > 59 || back.getUTCFullYear() !== year || back.getUTCMonth() + 1 !== month || back.getUTCDate() !== day) {
    throw new RangeError(`Not a valid date-time: ${JSON.stringify(local)}`);
  }
  return w;
}

/**
 * The UTC instant of a London wall-clock time ("2025-07-10T14:00:00" -> 13:00Z in BST,
 * "2025-01-15T14:00:00" -> 14:00Z in GMT), by the UK rule (see londonOffsetMs).
 *
 * - A time that does not exist (the spring-forward gap, 01:00-01:59 on the last Sunday of
 *   March) is moved forward by the gap, as RFC 5545 says a calendar must: 2025-03-30T01:30
 *   is read with the offset before the change (GMT), i.e. 01:30Z, which is 02:30 BST.
 * - A time that happens twice (01:00-01:59 on the last Sunday of October) is the first
 *   occurrence, in BST: 2025-10-26T01:30 -> 00:30Z (RFC 5545 makes the same choice).
 *
 * Throws a RangeError for anything that is not a valid local ISO date-time
 * (YYYY-MM-DDTHH:MM, optionally :SS and fractional seconds; no Z or offset).
 */
export function londonToUtc(local: string): Date {
  const wallMs = wallAsUtcMs(parseLocalIso(local));
  // The offsets in force a day either side: UK changes are months apart, so these are the
  // only candidates (both the same on an ordinary day).
  const before = londonOffsetMs(wallMs - DAY_MS);
  const after = londonOffsetMs(wallMs + DAY_MS);
  const valid = [...new Set([before, after])]
    .map((offset) => wallMs - offset)
    .filter((utcMs) => utcMs + londonOffsetMs(utcMs) === wallMs)
    .sort((a, b) => a - b);
  // Ambiguous: the earliest instant is the first occurrence. None valid: the gap, so use
  // the offset from before the change, which lands the same distance after it.
  return new Date(valid[0] ?? wallMs - before);
}

/**
 * Every word of the July 2025 seed comes out in the built email, verbatim, in
 * both the HTML and the plain text. The seed is the editors' text as they sent
 * it (test/fixtures/july-2025-newsletter.txt, a copy: a clone has no ../shared/).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIssue, type BuildResult } from '../src/index.js';
import { ROOT, normalise, visibleText } from './helpers.js';

/** The seed's text units: each line (tab-separated cells apart), Markdown markers removed. */
function seedUnits(seed: string): string[] {
  return seed
    .split('\n')
    .flatMap((line) => line.split('\t'))
    .map((unit) =>
      normalise(
        unit
          .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // [text](#) -> text
          .replace(/\\([()])/g, '$1') // \( -> (
          .replace(/\*+/g, '') // **bold**, ****bold****, *italic*
          .replace(/^\s*-\s+/, ''), // bullet markers
      ),
    )
    .filter((u) => u.length > 0);
}

/** The plain text with link targets (" [n]" markers and their "[n] https://..." lines, or " <https://...>") removed, whitespace collapsed. */
function readableText(text: string): string {
  return normalise(
    text
      .replace(/^\[\d+\][ \n]\S+$/gm, '')
      .replace(/ \[\d+\]/g, '')
      .replace(/\s<(https?:\/\/|mailto:)?[^<>\s]+>/g, '')
      .replace(/^[=-]{3,}$/gm, ''),
  );
}

describe('the July 2025 issue carries every word of the seed', () => {
  let result: BuildResult;
  let units: string[];
  let html: string;
  let text: string;

  beforeAll(async () => {
    result = await buildIssue('july-2025', { root: ROOT, write: false });
    units = seedUnits(await readFile(path.join(ROOT, 'test/fixtures/july-2025-newsletter.txt'), 'utf8'));
    html = visibleText(result.html);
    text = readableText(result.text);
  });

  it('finds the seed units (a sanity check on the fixture parser)', () => {
    expect(units.length).toBeGreaterThan(120);
    expect(units).toContain('1. Racial equity');
    expect(units).toContain(
      'Please visit our website: liia.london for more detailed information on each of the ALDCS priorities, or contact the team directly to discuss anything in greater detail.',
    );
  });

  it('has every paragraph, bullet and heading of the seed in the HTML', () => {
    const missing = units.filter((u) => !html.includes(u));
    expect(missing).toEqual([]);
  });

  it('has every paragraph, bullet and heading of the seed in the plain text', () => {
    const missing = units.filter((u) => !text.includes(u));
    expect(missing).toEqual([]);
  });

  it('keeps the contact addresses exactly as written, as working mailto links', () => {
    for (const address of ['referrals@saferlondon.org.uk', 'veesspresentations@annafreud.org.uk', 'liiateam@londoncouncils.gov.uk']) {
      expect(result.html).toContain(`href="mailto:${address}"`);
      expect(result.text).toContain(address);
    }
  });

  it('keeps the seed order: each heading comes after the one before it', () => {
    const headings = [
      'LONDON ADOLESCENT SAFEGUARDING AND YOUTH JUSTICE NEWSLETTER',
      "THIS MONTH'S UPDATES",
      'UPDATES FROM THE LONDON ADOLESCENT SAFEGUARDING OVERSIGHT BOARD (LASOB)',
      'PRACTICE SPOTLIGHT AT ALDCS 2025',
      "LONDON CHILDREN'S SERVICES PRACTICE SPOTLIGHT",
      'NATIONAL REFERRAL MECHANISM - A CALL FOR CHANGE',
      'DESISTANCE WORK WITH YOUNG PEOPLE',
      'PUBLICATION OF RESEARCH - APPLYING THE CHILD FIRST FRAMEWORK IN YOUTH JUSTICE SERVICES',
      'UPDATES FROM PARTNERS',
      'MEMBERS AREA ACCESS',
      'GET IN TOUCH',
      'THANKS FOR READING!',
      'FOLLOW LIIA',
    ];
    for (const body of [html, text]) {
      const positions = headings.map((h) => body.indexOf(h));
      expect(positions.every((p) => p >= 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    }
  });
});

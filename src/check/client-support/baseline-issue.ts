/**
 * The client-support check's baseline issue: one section of every kind, with every
 * optional part filled in, and the Markdown the schema documents. Built with our own
 * templates and config (check/extra-rules.ts does that, with render/), it shows
 * everything our templates can produce: the features the check takes as known.
 */
import { IssueSchema, SECTION_KINDS, type Issue } from '../../issue/schema.js';

/** Markdown using what the schema documents for editors: paragraphs, bold, italic, links (web and mailto), bullet lists. */
const MD = [
  'A paragraph with **bold** and *italic* words, a [link](https://example.org/) and an [email address](mailto:someone@example.org).',
  '- A bullet point\n- Another point\n  - A nested point',
].join('\n\n');
const IMAGE = { src: 'https://example.org/baseline.png', alt: 'An image', href: 'https://example.org/' };
const BUTTON = { label: 'Read more', href: 'https://example.org/' };

/**
 * One section of every kind, with every optional part filled in: what "our templates
 * use" is everything they can produce. A new section kind fails to compile here until
 * it is given a sample, so the baseline cannot fall behind the templates.
 */
const BASELINE_SECTIONS: { [K in (typeof SECTION_KINDS)[number]]: Record<string, unknown>[] } = {
  letter: [{ greeting: 'Dear colleagues,', body: MD, signature: { name: 'A Name', role: 'A role', image: { ...IMAGE, href: undefined } } }],
  contents: [{ heading: 'Contents' }],
  article: [
    { id: 'article', heading: 'Article', contents: 'Article', subheading: 'Subheading', body: MD, image: IMAGE, buttons: [BUTTON, BUTTON], closing: MD },
    { heading: 'Plain article', body: MD },
  ],
  tiles: [
    { heading: 'Tiles', contents: 'Tiles', intro: MD, tiles: [1, 2, 3, 4].map((n) => ({ label: `Tile ${n}`, href: 'https://example.org/' })), closing: MD },
  ],
  excerpt: [{ image: IMAGE, title: 'A document', body: MD }],
  quote: [{ quotation: MD, attribution: 'A Name', role: 'A role' }],
  // A headed event group: the heading over the first event, the second under it.
  event: [
    {
      id: 'events',
      heading: 'Events',
      contents: 'Events',
      date: 'Thursday, 10 July',
      title: 'An event',
      description: MD,
      price: 'Free',
      when: 'Jul 10 - 14:00 BST',
      start: '2025-07-10T14:00',
      end: '2025-07-10T15:30',
      button: BUTTON,
    },
    { date: 'Friday, 11 July', title: 'Another event', description: MD, price: 'Free', when: 'Jul 11 - 10:00 BST', button: BUTTON },
  ],
  partners: [{ heading: 'Partners', contents: 'Partners', intro: MD, cards: [{ image: IMAGE, body: MD }, { body: MD }] }],
  notice: [{ heading: 'Notice', contents: 'Notice', body: MD }],
  footer: [{ thanks: 'THANKS FOR READING!', follow: 'FOLLOW US' }],
};

/** The baseline issue: a header and every section kind (validated, so schema defaults apply). */
export function baselineIssue(): Issue {
  const order = ['letter', 'contents', ...SECTION_KINDS.filter((k) => k !== 'letter' && k !== 'contents' && k !== 'footer'), 'footer'] as const;
  return IssueSchema.parse({
    title: 'Baseline',
    masthead: 'BASELINE',
    label: 'Baseline ISSUE',
    date: '2025-01-01',
    subject: 'Baseline',
    preheader: 'What our own templates use',
    sections: order.flatMap((kind) => BASELINE_SECTIONS[kind].map((s) => ({ kind, ...s }))),
  });
}

/**
 * Characters that do not belong in a newsletter's text: control characters
 * (refused wherever they are written) and the invisible ones that change how text
 * reads (bidi overrides, zero-width spaces: warned of where a reader must trust
 * what they see: the subject, the preheader, the sender's name, a recipient's name).
 */

/**
 * NUL, the other C0 controls but tab, line feed and carriage return, DEL, the C1
 * controls, the noncharacters U+FFFE and U+FFFF, and halves of a surrogate pair
 * standing alone. They are invisible or not text at all, break XML (the feed) and mail
 * headers, and have no place in a newsletter.
 */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `U+0001` */
export const codePoint = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Bidi embeddings, overrides and isolates, marks, and zero-width characters: they
 * can make "moc.knab" read as "bank.com" (U+202E) or hide a word's real spelling.
 * U+200D (zero-width joiner) is left alone between two pictographs, where it joins
 * an emoji sequence such as 👩‍💻.
 */
// biome-ignore lint/suspicious/noMisleadingCharacterClass: each invisible character is matched on its own, U+200D (the joiner) included: that is the point
const HIDDEN = /[\u061C\u180E\u200B\u200C\u200D\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/gu;
// biome-ignore lint/suspicious/noMisleadingCharacterClass: U+FE0F (emoji presentation) is matched on its own, after a pictograph
const PICTOGRAPH_BEFORE = /[\p{Extended_Pictographic}\u{1F3FB}-\u{1F3FF}\uFE0F]$/u;
const PICTOGRAPH_AFTER = /^\p{Extended_Pictographic}/u;

/** The invisible characters in `text` that change how it reads, as code points (`U+202E`), each once. */
export function hiddenCharacters(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(HIDDEN)) {
    const i = m.index;
    if (m[0] === '\u200D' && PICTOGRAPH_BEFORE.test(text.slice(Math.max(0, i - 2), i)) && PICTOGRAPH_AFTER.test(text.slice(i + 1, i + 3))) continue;
    found.add(codePoint(m[0]));
  }
  return [...found];
}

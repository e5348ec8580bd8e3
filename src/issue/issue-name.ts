/**
 * An issue's name (its slug): `july-2025`. It names the issue file
 * (issues/<slug>.yaml), the output folder (dist/<slug>/) and the send ledger
 * (sends/<slug>/), so it is derived once, from the file name, and checked: a name
 * that could point anywhere else (empty, "..", a capital, a slash) is refused.
 */

/** Lower-case letters, digits and hyphens; starts and ends with a letter or digit; 3 to 60 characters. */
export function isSafeSlug(slug: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{1,58})[a-z0-9]$/.test(slug) && !slug.includes('..');
}

/** The rule, as messages state it. */
export const SLUG_RULE =
  'An issue name is 3 to 60 lower-case letters, digits and hyphens, starting and ending with a letter or digit, such as august-2025. It becomes the file name issues/<name>.yaml and the output folder dist/<name>/.';

/** A name that follows the rule, made from one that does not ("July_2025" -> "july-2025"), for a hint; undefined when nothing fits. */
export function suggestSlug(name: string): string | undefined {
  const s = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return isSafeSlug(s) ? s : undefined;
}

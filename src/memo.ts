/**
 * A pure function of one string, remembered: a warm rebuild (the preview after a save)
 * renders and reads the same Markdown again for every section that did not change.
 * Bounded: past `max` texts it starts again, so a long preview session cannot grow it.
 * What it returns is shared between callers: frozen, or never changed by them.
 */
export function memoByText<T>(fn: (text: string) => T, max = 2000): (text: string) => T {
  const seen = new Map<string, T>();
  return (text) => {
    const hit = seen.get(text);
    if (hit !== undefined || seen.has(text)) return hit as T;
    const value = fn(text);
    if (seen.size >= max) seen.clear();
    seen.set(text, value);
    return value;
  };
}

/**
 * Stage 4: inline our own stylesheet (templates/email.css.hbs) into the compiled
 * HTML, for the clients that ignore <style> (Outlook desktop, some Gmail apps).
 *
 * Scoped on purpose: `applyStyleTags: false` means only the rules we pass are
 * inlined. Run over MJML's <style> blocks too, juice would copy MJML's reset CSS
 * into every cell (+33 KB on the July issue) for no visible change.
 */
import juice from 'juice';

export function inlineCss(html: string, css: string): string {
  return juice(html, {
    extraCss: css,
    applyStyleTags: false,
    removeStyleTags: false,
    insertPreservedExtraCss: false,
    preserveImportant: true,
    applyWidthAttributes: false,
    applyHeightAttributes: false,
  });
}

/**
 * A small, safe HTML minifier for MJML's output.
 *
 * Why not MJML's `minify` (htmlnano + cssnano)? Loading cssnano alone takes about
 * 0.4 s, more than a whole warm build, and htmlnano re-parses the document. MJML's
 * output is regular, so three rules give the same saving:
 *  1. Comments go, except Outlook's conditional comments (`<!--[if mso]>...`,
 *     `<![endif]-->`, `<!--<![endif]-->`), which Outlook needs.
 *  2. Runs of whitespace become one space (what a browser renders anyway), and the
 *     space between two block or table tags goes (it renders as nothing; between
 *     MJML's inline-block columns it would even add a gap).
 *  3. CSS in `<style>` and in style attributes loses comments and the spaces
 *     around punctuation (juice writes `color: #000; margin: 0;`); quoted strings and
 *     the descendant combinator before a pseudo-class (`.card :first-child`) are kept.
 *     MJML's `background:#fff;background-color:#fff` pairs lose the shorthand (the
 *     same colour twice, nothing else in it), and its empty `class=""` goes.
 *  4. `<tbody>` and `</tbody>` without attributes go (outside Outlook's conditional
 *     comments): HTML's parser puts the element back around the rows, so every
 *     browser-based client builds the same document; Word's HTML never needed it.
 * Whitespace inside `<pre>` and `<textarea>` is kept (our templates have none).
 */

const BLOCK = new Set('html head body title meta link style table thead tbody tfoot tr td th div p ul ol li h1 h2 h3 h4 h5 h6 center br hr img'.split(' '));

const CONDITIONAL = /^<!--(\[if |<!\[endif\]|\s*\[endif\])/;

export function minifyCss(css: string): string {
  // Quoted strings (font names, content) are kept exactly; only the CSS between them is squeezed.
  return css
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/)
    .map((part, i) => (i % 2 ? part : squeezeCss(part)))
    .join('')
    .trim();
}

/**
 * Spaces out: runs become one, and none is left around { } ; , > or after a colon. A space
 * before a colon stays: in a selector it is a descendant combinator (".card :first-child"
 * is not ".card:first-child").
 */
function squeezeCss(css: string): string {
  return css
    .replace(/\s+/g, ' ')
    .replace(/\s*([{};,>])\s*/g, '$1')
    .replace(/:\s+/g, ':')
    .replace(/\s+!important/g, '!important')
    .replace(/;}/g, '}');
}

function tagName(tag: string): string {
  return /^<\/?([a-zA-Z0-9]+)/.exec(tag)?.[1]?.toLowerCase() ?? '';
}

export function minifyHtml(html: string): string {
  // Split into protected chunks (comments, style, pre/textarea) and the rest.
  const out: string[] = [];
  // Collapsed text; no double space where a dropped comment stood between two spaces.
  const pushText = (text: string) => {
    const t = collapse(text).replace(/<\/?tbody>/gi, '');
    out.push(out.length && out[out.length - 1]!.endsWith(' ') && t.startsWith(' ') ? t.slice(1) : t);
  };
  const re = /<!--[\s\S]*?-->|<style\b[^>]*>[\s\S]*?<\/style>|<(pre|textarea)\b[\s\S]*?<\/\1>/gi;
  let last = 0;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    pushText(html.slice(last, m.index));
    const chunk = m[0];
    if (chunk.startsWith('<!--')) {
      // A conditional comment's body is HTML too: collapse it, keep the markers.
      if (CONDITIONAL.test(chunk)) out.push(collapse(chunk));
    } else if (/^<style/i.test(chunk)) {
      const open = /^<style\b[^>]*>/i.exec(chunk)![0];
      out.push(`${open + minifyCss(chunk.slice(open.length, -'</style>'.length))}</style>`);
    } else out.push(chunk);
    last = m.index + chunk.length;
  }
  pushText(html.slice(last));
  return dropSpacesBetweenBlocks(out.join('')).trim();
}

function collapse(text: string): string {
  return (
    text
      .replace(/\s+/g, ' ')
      .replace(/ style="([^"]*)"/g, (_, css: string) => ` style="${dropRepeatedBackground(minifyCss(css)).replace(/;$/, '')}"`)
      // Inside tags only: in text, `class=""` or `" >` would be words.
      .replace(/<[a-zA-Z][^<>]*>/g, (tag) => tag.replace(/ class=""/g, '').replace(/(["\w])\s+>$/, '$1>'))
  );
}

/** `background:#abc123;background-color:#abc123` -> `background-color:#abc123`: a shorthand with only the colour says it twice. */
function dropRepeatedBackground(css: string): string {
  return css.replace(/(^|;)background:(#[0-9a-f]{3,8});background-color:\2(?=;|$)/gi, '$1background-color:$2');
}

/** Remove a space between two tags when both are block or table tags (or comments). */
function dropSpacesBetweenBlocks(html: string): string {
  return html.replace(/(<[^<>]+>|<!--[\s\S]*?-->) (?=(<!--|<[^<>]+>))/g, (whole, left: string, right: string) => {
    const leftBlock = left.startsWith('<!--') || BLOCK.has(tagName(left)) || left.startsWith('<!');
    const rightBlock = right.startsWith('<!') || BLOCK.has(tagName(right));
    return leftBlock && rightBlock ? left : whole;
  });
}

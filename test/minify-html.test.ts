import { describe, expect, it } from 'vitest';
import { minifyCss, minifyHtml } from '../src/render/minify-html.js';

describe('minifyHtml', () => {
  it("keeps Outlook's conditional comments and drops the others", () => {
    const html = `<div>
      <!-- a note -->
      <!--[if mso | IE]><table role="presentation"><tr><td><![endif]-->
      <!--[if !mso]><!--><p>not Outlook</p><!--<![endif]-->
      <p>text</p>
      <!--[if mso | IE]></td></tr></table><![endif]-->
    </div>`;
    expect(minifyHtml(html)).toBe(
      '<div><!--[if mso | IE]><table role="presentation"><tr><td><![endif]--><!--[if !mso]><!--><p>not Outlook</p><!--<![endif]--><p>text</p><!--[if mso | IE]></td></tr></table><![endif]--></div>',
    );
  });

  it('keeps the space between inline elements and words, which a reader sees', () => {
    expect(minifyHtml('<p>Read <strong>this</strong>\n   <a href="x">now</a> ,  please</p>')).toBe(
      '<p>Read <strong>this</strong> <a href="x">now</a> , please</p>',
    );
  });

  it('drops the space between block and table tags', () => {
    expect(minifyHtml('<table>\n <tr>\n  <td> <p>a</p> </td>\n </tr>\n</table>')).toBe('<table><tr><td><p>a</p></td></tr></table>');
  });

  it('minifies CSS in style blocks and attributes, keeping !important and media queries', () => {
    expect(
      minifyHtml(
        '<style type="text/css">\n  /* c */\n  @media (max-width: 480px) {\n    .a td { display: block !important; }\n  }\n</style><td style="color: #000; margin: 0 0 12px;">x</td>',
      ),
    ).toBe('<style type="text/css">@media (max-width:480px){.a td{display:block!important}}</style><td style="color:#000;margin:0 0 12px">x</td>');
  });

  it('leaves <pre> alone', () => {
    expect(minifyHtml('<pre>a\n   b</pre>')).toBe('<pre>a\n   b</pre>');
  });

  it('minifyCss keeps a descendant combinator before a pseudo-class, and quoted strings exactly', () => {
    expect(minifyCss('.card :first-child { margin: 0; }')).toBe('.card :first-child{margin:0}');
    expect(minifyCss('font-family: "Segoe  UI", Arial;  content: \'a ;  b\';')).toBe('font-family:"Segoe  UI",Arial;content:\'a ;  b\';');
  });

  it('minifyCss keeps spaces inside values', () => {
    expect(minifyCss('font-family: Arial, Helvetica, sans-serif; padding: 0 24px;')).toBe('font-family:Arial,Helvetica,sans-serif;padding:0 24px;');
  });
});

describe('minifyHtml: MJML leftovers (issue 13, to keep July under 70,000 bytes)', () => {
  it('drops a background shorthand that repeats background-color, and nothing else', () => {
    expect(minifyHtml('<div style="background:#ffffff;background-color:#ffffff;margin:0">x</div>')).toBe(
      '<div style="background-color:#ffffff;margin:0">x</div>',
    );
    // A different colour, or an image in the shorthand: kept.
    expect(minifyHtml('<div style="background:#000000;background-color:#ffffff">x</div>')).toBe(
      '<div style="background:#000000;background-color:#ffffff">x</div>',
    );
    expect(minifyHtml('<div style="background:url(a.png) #fff;background-color:#fff">x</div>')).toBe(
      '<div style="background:url(a.png) #fff;background-color:#fff">x</div>',
    );
  });

  it('drops empty class attributes and tbody tags in markup, never in text or in Outlook-only HTML', () => {
    expect(minifyHtml('<table class=""><tbody><tr><td class="" >a</td></tr></tbody></table>')).toBe('<table><tr><td>a</td></tr></table>');
    expect(minifyHtml('<p>Write class="" and "x" > y; &lt;tbody&gt;</p>')).toBe('<p>Write class="" and "x" > y; &lt;tbody&gt;</p>');
    expect(minifyHtml('<!--[if mso]><table><tbody><tr><td>a</td></tr></tbody></table><![endif]-->')).toBe(
      '<!--[if mso]><table><tbody><tr><td>a</td></tr></tbody></table><![endif]-->',
    );
  });

  it('a document without tbody tags parses to the same DOM (parse5, the HTML standard parser)', async () => {
    const { parse, serialize } = await import('parse5');
    const html =
      '<!doctype html><html><body><table role="presentation"><tbody><tr><td>a</td></tr></tbody></table><div><table><tbody><tr><td>b</td></tr></tbody></table></div></body></html>';
    const minified = minifyHtml(html);
    expect(minified).not.toContain('tbody');
    expect(serialize(parse(minified))).toBe(serialize(parse(html)));
  });
});

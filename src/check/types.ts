/**
 * Pre-send checks: shared types. A rule looks at the built email (and the issue it
 * came from) and returns findings; `where` points at the YAML when the problem comes
 * from the issue file, otherwise at an excerpt of the HTML.
 */
import type { Config } from '../config.js';
import type { Issue } from '../issue/schema.js';
import type { LoadedIssue } from '../issue/load-issue.js';
import type { Assets } from '../issue/load-assets.js';
import type { Where } from '../issue/inventory.js';

export type Severity = 'error' | 'warning';

export type { Where } from '../issue/inventory.js';

export interface Finding {
  /** The rule's id, as used in config to turn it off or re-level it. */
  rule: string;
  severity: Severity;
  /** What is wrong and how to fix it. */
  message: string;
  where?: Where;
}

/** Everything a rule may look at. */
export interface CheckContext {
  issue: Issue;
  config: Config;
  /** The issue file as shown to the user (relative path). */
  issueFile: string;
  /** The issue's name (dist/<slug>/); the campaign parameter's value. */
  slug?: string;
  /** The final email HTML, as written to email.html. */
  html: string;
  /** The plain-text part, as written to email.txt. */
  text: string;
  /** The complete message, as written to email.eml. */
  eml: Buffer;
  /** The YAML position of a field of the issue, by path; undefined when it is not in the file. */
  locate: LoadedIssue['locate'];
  /** The position of `needle` inside the field at `path` (for a link inside Markdown); undefined if it is not written there. */
  locateIn: LoadedIssue['locateIn'];
  /** The issue's local images (issues/assets/), by src as written; absent or empty when it has none. */
  assets?: Assets;
}

export interface Rule {
  /** Stable id, kebab-case: "size", "links", "contrast"... */
  id: string;
  /** One line: what the rule protects against. */
  description: string;
  run(ctx: CheckContext): Finding[] | Promise<Finding[]>;
}

/**
 * One error class for everything the library reports to a user, with a `code`
 * from one table (like nodemailer's lib/errors.js). Tests assert on `code`.
 */

export const ErrorCodes = {
  /** The issue file does not exist. */
  EISSUE_NOT_FOUND: 'EISSUE_NOT_FOUND',
  /** The issue file is not valid YAML, or does not match the schema. */
  EISSUE_INVALID: 'EISSUE_INVALID',
  /** The config file is missing or invalid. */
  ECONFIG: 'ECONFIG',
  /** A template is missing, does not compile, or refers to a missing field. */
  ETEMPLATE: 'ETEMPLATE',
  /** MJML rejected the rendered document. */
  EMJML: 'EMJML',
  /** Writing the output failed. */
  EWRITE: 'EWRITE',
  /** The command line was used wrongly. */
  EUSAGE: 'EUSAGE',
  /** The circulation list (or suppression file) cannot be read or has no email column. */
  ELIST: 'ELIST',
  /** SMTP_URL is missing, malformed, or unsafe (plain text to a remote server). */
  ESMTP_CONFIG: 'ESMTP_CONFIG',
  /** The OAuth2 sign-in token was refused, or the token endpoint could not be reached. */
  EOAUTH2: 'EOAUTH2',
  /** A send was refused before it started (check errors, untested build, another send running). */
  ESEND_REFUSED: 'ESEND_REFUSED',
  /** A send stopped or ended with recipients failed or unsent. */
  ESEND: 'ESEND',
  /** No Chromium to take screenshots with (or it would not start). */
  EBROWSER: 'EBROWSER',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** One problem, located: where is `file:line:col` when known. */
export interface Problem {
  /** `file:line:col`, or a file name alone. */
  where?: string;
  /** Field path such as `sections[4].image.alt`, when the problem is a field. */
  path?: string;
  /** What is wrong and how to fix it. */
  message: string;
}

export class NewsletterError extends Error {
  readonly code: ErrorCode;
  /** Every problem found; the build reports all of them at once. */
  readonly problems: Problem[];
  /** What to do about it, when that is not already in each problem. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: { problems?: Problem[]; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NewsletterError';
    this.code = code;
    this.problems = options.problems ?? [];
    this.hint = options.hint;
  }
}

/** One line per problem: `where path message`. */
export function formatProblem(p: Problem): string {
  return [p.where, p.path, p.message].filter(Boolean).join(' ');
}

/**
 * `text` with control characters (but newlines) shown as `\u001b`: a message that
 * quotes a hostile value must not send escape sequences to the user's terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Ids of the check rules: what config may turn off or re-level and an issue may accept.
 * Here, in the bottom layer, because the issue schema (accept:) and the config schema
 * (checks:) both validate against them; the rules themselves live in check/.
 */
export const CHECK_RULE_IDS = [
  'size',
  'links',
  'link-text',
  'tracking',
  'images',
  'document',
  'readability',
  'outlook',
  'forbidden',
  'message',
  'accessibility',
  'client-support',
  'spam',
  'links-online',
  'render',
  'kept',
  'lists',
  'a11y',
  'tap-targets',
] as const;

export type CheckRuleId = (typeof CHECK_RULE_IDS)[number];

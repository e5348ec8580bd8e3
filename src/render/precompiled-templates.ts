/**
 * Template specs precompiled at bundle time, keyed by templateKey(source): scripts/bundle.mjs
 * replaces this module in lib/build-issue.cjs with one holding every templates/**\/*.hbs of
 * the project as shipped, so a cold build of unedited templates skips Handlebars' parser
 * and compiler (and their code). An edited template has another key and is compiled as
 * before. Run from source (the tests under tsx), the map is empty.
 * (TemplateSpecification is a global type of Handlebars' typings, as HandlebarsTemplateDelegate.)
 */
export const PRECOMPILED: ReadonlyMap<string, TemplateSpecification> = new Map();

'use strict';
// Stands in for lodash/fp in lib/build-issue.cjs (see scripts/bundle.mjs). lodash/fp loads
// lodash.min.js (a second 70 kB copy of lodash), makes two more lodash instances and converts
// all ~300 methods when first required; mjml 5 (mjml-hero, mjml-section, mjml-parser-xml)
// uses five of them. These are those five with lodash/fp's behaviour, built on the `lodash`
// the bundle already holds:
// - auto-curried to fp's arity (2 for filter, join, map): called with fewer arguments, they
//   return a function waiting for the rest; arguments past the arity are ignored (fp caps them);
// - data last: fp.filter(predicate, collection) is _.filter(collection, predicate);
// - filter's and map's iteratee is called with the value only (fp caps iteratees to one argument);
// - flow is lodash's flow, uncapped and uncurried (fp's skipFixed), so flow(f, g) and
//   flow([f, g]) both work; identity is lodash's identity, unchanged.
// Not carried over: fp placeholders (fp.__), .convert() and the other methods. scripts/bundle.mjs
// fails the build if a bundled module uses a member this file does not export.
/** @typedef {(...args: any[]) => any} AnyFunction */
/** @type {{ filter: AnyFunction, flow: AnyFunction, identity: AnyFunction, join: AnyFunction, map: AnyFunction }} */
// @ts-ignore: lodash ships no types, and @types/lodash is not worth adding for five calls
const _ = require('lodash');

/**
 * fp's auto-curry for two-argument methods (lodash's curry(fn, 2), then capped at two arguments).
 * @param {(a: any, b: any) => any} fn
 * @returns {AnyFunction}
 */
function curry2(fn) {
  /** @type {AnyFunction} */
  const curried = (...args) => {
    if (args.length >= 2) return fn(args[0], args[1]);
    if (args.length === 0) return curried;
    const first = args[0];
    /** @type {AnyFunction} */
    const partial = (...rest) => (rest.length === 0 ? partial : fn(first, rest[0]));
    return partial;
  };
  return curried;
}

/** fp caps the iteratee of filter and map to one argument: the value, without index or collection. */
/** @param {unknown} iteratee */
const capToOne = (iteratee) => (typeof iteratee === 'function' ? (/** @type {unknown} */ value) => iteratee(value) : iteratee);

module.exports = {
  filter: curry2((predicate, collection) => _.filter(collection, capToOne(predicate))),
  flow: (/** @type {unknown[]} */ ...funcs) => _.flow(...funcs),
  identity: _.identity,
  join: curry2((separator, array) => _.join(array, separator)),
  map: curry2((iteratee, collection) => _.map(collection, capToOne(iteratee))),
};

/**
 * The version of `@realtime-fx/core`, generated from its package.json by scripts/version.mjs (do not edit:
 * `npm run build` rewrites it).
 *
 * @since 0.2.0
 */

/**
 * The package's version, as in its package.json.
 *
 * @since 0.2.0
 * @category constants
 */
export const version = "0.1.0"

/**
 * Bundling alias for `whatwg-url` in the Lambda functions. client-node's node-fetch 2 imports
 * it only as a fallback for runtimes without a global URL (`Url.URL || whatwgUrl.URL`), yet
 * it drags 290 KB of Unicode tables (tr46) into every bundle. Node.js has URL built in.
 */
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;

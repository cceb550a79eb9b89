// Ink's ./wrap-text.js in the dashboard bundle: see ink-text-caches.mjs.
export { wrapText as default } from './ink-text-caches.mjs'

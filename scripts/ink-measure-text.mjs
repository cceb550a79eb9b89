// Ink's ./measure-text.js in the dashboard bundle: see ink-text-caches.mjs.
export { measureText as default } from './ink-text-caches.mjs'

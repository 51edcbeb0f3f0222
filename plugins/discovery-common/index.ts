// Helpers shared by the discovery-* plugins. Not a plugin itself: it taps nothing.
export * from './entries.ts';
export * from './kv.ts';
export * from './retry.ts';
export { waitForAbort, backendLogger, noOptions } from './backend.ts';

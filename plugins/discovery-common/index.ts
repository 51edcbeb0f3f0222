// Helpers shared by the discovery-* plugins. Not a plugin itself: it taps nothing.
export * from './entries.ts';
export * from './kv.ts';
export * from './retry.ts';
export { waitForAbort, backendLogger, noOptions, timingOptions, withTiming, timedDiscoveryPlugin, TimingOptions, type Timing } from './backend.ts';

// Small local plugins standing in for the built-ins in config tests, so the loader is tested
// without depending on the real scheduler and discovery plugins. Not used outside tests.
import { Type } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../core/plugin.ts';
import type { AnyFactory, Registry } from './resolve-plugins.ts';

/** A filter that keeps every node (the tests look at names and order, not at filtering). */
export function testFilter(name: string): SwarmPlugin {
  return { name, apply(core) { core.hooks.filter.tap(name, (c) => c); } };
}

export function testStrategy(name: string): SwarmPlugin {
  return {
    name,
    apply(core) { core.hooks.rank.tap(name, () => ({ name, module: 'test:none', options: {} })); },
  };
}

const StrictOptions = Type.Object({ level: Type.Integer({ minimum: 0, default: 1 }) }, { additionalProperties: false });

const factories: Record<string, AnyFactory> = {
  spread: () => testStrategy('strategy-spread'),
  binpack: () => testStrategy('strategy-binpack'),
  random: () => testStrategy('strategy-random'),
  health: () => testFilter('filter-health'),
  port: () => testFilter('filter-port'),
  containerslots: () => testFilter('filter-containerslots'),
  dependency: () => testFilter('filter-dependency'),
  affinity: () => testFilter('filter-affinity'),
  constraint: () => testFilter('filter-constraint'),
  whitelist: () => testFilter('filter-whitelist'),
  nodes: () => ({ name: 'discovery-nodes', apply() {} }),
  zookeeper: () => ({ name: 'discovery-zookeeper', apply() {} }),
  // Validates its options like a real plugin does (parseOptions names the plugin).
  strict: (options?: unknown) => {
    const opts = parseOptions('filter-strict', StrictOptions, options);
    return { name: 'filter-strict', apply(core) { core.hooks.filter.tap('filter-strict', (c) => c); }, level: opts.level } as SwarmPlugin;
  },
  boom: () => { throw new Error('kaboom'); },
  // A preset: one factory, several plugins.
  basics: () => [testFilter('filter-health'), testFilter('filter-port')],
};

export const testRegistry: Registry = Object.freeze(
  Object.fromEntries(Object.entries(factories).map(([k, f]) => [k, async () => f])),
);

/** Kinds of the test built-ins that are discovery backends (the others are found by instantiating). */
export const testKinds: Readonly<Record<string, string>> = Object.freeze({ nodes: 'discovery', zookeeper: 'discovery' });

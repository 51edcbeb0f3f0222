// Public surface of the core: what plugins and the config may import.
export { createCore, type Core, type CoreOptions, type ClusterAccess } from './core.ts';
export { createHooks, Stage, type Hooks } from './hooks.ts';
export { Candidates, type FilterConditions, type Exhaustion } from './pipeline/candidates.ts';
export { SwarmError, ConfigError, isSwarmError, type SwarmErrorCode } from './errors.ts';
export { parseOptions, parseDuration, type SwarmPlugin, type PluginFactory } from './plugin.ts';
export { parseDiscoveryUrl } from './discovery-url.ts';
export type * from './types.ts';
// The legacy expression grammar (constraint/affinity/whitelist), for third-party filters.
export { parseExpr, parseExprs, matchExpr, compileValue, exprString, ExprError, filterByExprs, type ExprFilterRule } from './expr.ts';

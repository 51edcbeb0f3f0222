/**
 * One error type for everything swarm throws on purpose. Codes are stable
 * (`SWARM_ERR_<AREA>_<WHAT>`) and carry the HTTP status the API answers with.
 */
export const ERROR_STATUS = {
  SWARM_ERR_NO_SUITABLE_NODE: 500,
  SWARM_ERR_BAD_REQUEST: 400,
  SWARM_ERR_NOT_FOUND: 404,
  SWARM_ERR_CONFLICT: 409,
  SWARM_ERR_NOT_IMPLEMENTED: 501,
  SWARM_ERR_ENGINE: 500,
  SWARM_ERR_UNHEALTHY_NODE: 500,
  SWARM_ERR_CONFIG: 1,
  SWARM_ERR_PLUGIN_LOAD: 1,
  SWARM_ERR_PLUGIN_FAILED: 500,
  SWARM_ERR_DISCOVERY: 500,
  SWARM_ERR_DISCOVERY_UNKNOWN_SCHEME: 1,
  SWARM_ERR_NO_PRIMARY: 500,
  SWARM_ERR_INTERNAL: 500,
} as const;

export type SwarmErrorCode = keyof typeof ERROR_STATUS;

export class SwarmError extends Error {
  readonly code: SwarmErrorCode;
  readonly statusCode: number;
  constructor(code: SwarmErrorCode, message: string, options?: { cause?: unknown; statusCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwarmError';
    this.code = code;
    this.statusCode = options?.statusCode ?? ERROR_STATUS[code];
  }
}

export function isSwarmError(err: unknown, code?: SwarmErrorCode): err is SwarmError {
  return err instanceof SwarmError && (code === undefined || err.code === code);
}

/** Thrown for bad configuration; always names the plugin and/or the config file. */
export class ConfigError extends SwarmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SWARM_ERR_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

import type { AdoptRequest, AdoptResponse, AgentConfig } from '@sandboxd/protocol';
import { ErrorCode, SandboxdError, sameIdentity } from '@sandboxd/protocol';
import type { Logger } from '../../logger.js';

/** The identity an adopt hands to the agent's other services (the code interpreter). */
export type AdoptedIdentity = Omit<AdoptRequest, 'generation'>;

/**
 * A service that must follow an identity change before the adopt answers. `restored`: the adopt
 * names a hostname, which the daemon sends only to an agent restored from an image (the runtime
 * has set that hostname already).
 */
export type AdoptHook = (identity: AdoptedIdentity, how: { restored: boolean }) => Promise<void>;

export interface AdopterOptions {
  /**
   * The agent's config, shared by reference with envd and the code interpreter: an adopt
   * rewrites it in place (its `envVars` object too, which the process spawner holds).
   */
  config: AgentConfig;
  hooks: AdoptHook[];
  logger: Logger;
}

export interface Adopter {
  /** Applies `request` (one at a time, in call order); CONFLICT for a stale or clashing generation. */
  adopt(request: AdoptRequest): Promise<AdoptResponse>;
  readonly generation: number;
}

const identityOf = (config: AgentConfig): AdoptedIdentity => ({
  sandboxId: config.sandboxId,
  templateId: config.templateId,
  accessToken: config.accessToken,
  envVars: { ...config.envVars },
  defaultUser: config.defaultUser,
});

/** Makes the running agent become another sandbox: see `Adopt` in @sandboxd/protocol. */
export function createAdopter(options: AdopterOptions): Adopter {
  const { config, hooks, logger } = options;
  let generation = 0;
  let tail: Promise<unknown> = Promise.resolve();

  const apply = async (request: AdoptRequest): Promise<AdoptResponse> => {
    const { generation: wanted, loopbackSecret: _secret, hostname: _hostname, ...identity } = request;
    if (wanted === generation && sameIdentity(identity, identityOf(config))) {
      return { generation, sandboxId: config.sandboxId, applied: false };
    }
    if (wanted <= generation) {
      throw new SandboxdError(ErrorCode.CONFLICT, `adopt generation ${wanted} is not newer than the agent's ${generation}`, {
        details: { generation },
      });
    }
    generation = wanted;
    if (request.loopbackSecret !== undefined) config.loopbackSecret = request.loopbackSecret;
    config.sandboxId = identity.sandboxId;
    config.templateId = identity.templateId;
    config.accessToken = identity.accessToken;
    config.defaultUser = identity.defaultUser;
    for (const key of Object.keys(config.envVars)) delete config.envVars[key];
    Object.assign(config.envVars, identity.envVars);
    const how = { restored: request.hostname !== undefined };
    await Promise.all(hooks.map((hook) => hook(identityOf(config), how)));
    logger.info('adopted identity', { generation, sandboxId: identity.sandboxId, secure: identity.accessToken !== null, restored: how.restored });
    return { generation, sandboxId: config.sandboxId, applied: true };
  };

  return {
    adopt(request) {
      const result = tail.catch(() => undefined).then(() => apply(request));
      tail = result;
      return result;
    },
    get generation() {
      return generation;
    },
  };
}

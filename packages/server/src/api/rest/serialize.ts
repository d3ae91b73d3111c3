import { ENVD_VERSION } from '@sandboxd/protocol';
import { CLIENT_ID } from '../../sandboxes/ids.js';
import type { SandboxRecord } from '../../sandboxes/sandbox-record.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** `components.schemas.Sandbox`: the create / connect response. */
export function toSandbox(r: SandboxRecord, domain: string, withToken: boolean) {
  return {
    sandboxID: r.sandboxId,
    templateID: r.templateId,
    alias: r.templateAlias,
    clientID: CLIENT_ID,
    envdVersion: ENVD_VERSION,
    domain,
    ...(withToken && r.accessToken !== null ? { envdAccessToken: r.accessToken } : {}),
    trafficAccessToken: r.ingress?.trafficAccessToken ?? null,
  };
}

/** `components.schemas.ListedSandbox`. */
export function toListedSandbox(r: SandboxRecord) {
  return {
    sandboxID: r.sandboxId,
    templateID: r.templateId,
    alias: r.templateAlias,
    clientID: CLIENT_ID,
    startedAt: iso(r.startedAt),
    endAt: iso(r.endAt),
    envdVersion: ENVD_VERSION,
    cpuCount: r.limits.cpuCount,
    memoryMB: r.limits.memoryMB,
    diskSizeMB: r.limits.diskSizeMB,
    state: r.state === 'paused' ? ('paused' as const) : ('running' as const),
    metadata: r.metadata,
  };
}

/** `components.schemas.SandboxDetail`. */
export function toSandboxDetail(r: SandboxRecord, domain: string, withToken = true) {
  return {
    ...toListedSandbox(r),
    domain,
    ...(withToken && r.accessToken !== null ? { envdAccessToken: r.accessToken } : {}),
    allowInternetAccess: r.egress.allowInternetAccess,
    network: {
      allowOut: r.egress.allowOut,
      denyOut: r.egress.denyOut,
      allowPublicTraffic: (r.ingress?.trafficAccessToken ?? null) === null,
      ...(r.ingress?.maskRequestHost ? { maskRequestHost: r.ingress.maskRequestHost } : {}),
    },
    lifecycle: { autoResume: r.lifecycle?.autoResume ?? false, onTimeout: r.lifecycle?.onTimeout ?? ('kill' as const) },
  };
}

/** Egress policy of one sandbox (the always-denied ranges apply regardless). */
export interface EgressPolicy {
  /** false: no traffic leaves the sandbox except replies to connections made into it. */
  allowInternetAccess: boolean;
  /** CIDRs or IPs allowed even when internet access is off. */
  allowOut: string[];
  /** CIDRs or IPs denied even when internet access is on. */
  denyOut: string[];
}

/** Resource limits of one sandbox: a template's defaults, a sandbox record's, a runtime spec's. */
export interface SandboxLimits {
  memoryMB: number;
  cpuCount: number;
  pidsLimit: number;
  /** Size of the writable layer over the read-only template root filesystem. */
  diskSizeMB: number;
}

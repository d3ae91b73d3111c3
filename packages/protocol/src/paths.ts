/** PATH of processes the sandbox starts when the agent's own environment has none. */
export const SANDBOX_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

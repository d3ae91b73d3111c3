// The e2e suite's fixtures, from packages/testing (where the running-stack fixture lives).
export { E2E_POOL_SIZE, pinnedNode, stackPoolSize, startStack, withTimeout } from '@sandboxd/testing';
export type { Stack, StackOptions } from '@sandboxd/testing';

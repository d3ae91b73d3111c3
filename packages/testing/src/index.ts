// Test helpers shared by every package's tests and the end-to-end suite (devDependency only).
export { withTimeout } from './with-timeout.js';
export { E2E_POOL_SIZE, pinnedNode, stackPoolSize, startStack } from './daemon-stack.js';
export type { Stack, StackOptions } from './daemon-stack.js';

// Test helpers shared by every package's tests and the end-to-end suite (devDependency only).
export { withTimeout } from './with-timeout.js';

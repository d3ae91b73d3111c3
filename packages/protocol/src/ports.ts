/** Port of the envd-compatible agent API inside every sandbox (process, filesystem, /files). */
export const ENVD_PORT = 49983;
/** Port of the code-interpreter API inside every sandbox (/execute, /contexts). */
export const CODE_INTERPRETER_PORT = 49999;
/**
 * envd version the agent reports. The official SDKs gate features on it; 0.6.4 is the highest
 * gate in e2b@2.51.0 and every feature up to it is implemented.
 */
export const ENVD_VERSION = '0.6.4';

export { DEFAULT_SUDO_SOCKET, SECURE_PATH, socketAddress, startSudoBroker } from './broker.js';
export type { SudoBroker, SudoBrokerOptions } from './broker.js';
export type { SudoRequest } from '@sandboxd/protocol';

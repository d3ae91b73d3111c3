import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';

/** The sandboxd checkout this daemon runs from; its built agent is mounted into every sandbox. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const DAEMON_ENTRY = join(REPO_ROOT, 'packages/server/dist/main.js');

/** Files of a daemon installation inside SANDBOXD_HOME. */
export function homeFiles(config: Config) {
  return {
    pidFile: join(config.home, 'daemon.pid'),
    logFile: join(config.home, 'daemon.log'),
    /**
     * The REST URL the daemon is listening on (`http://host:port`, one line), written once it
     * listens: with `SANDBOXD_PORT=0` the kernel picks the port, and this is where it is read.
     */
    urlFile: join(config.home, 'daemon.url'),
    /** Plaintext copy (0600) of the key created at first start, so `start` can print it again. */
    apiKeyFile: join(config.home, 'api-key'),
    /** SANDBOXD_TEMPLATES_DIR, else `<home>/templates`. */
    templatesDir: process.env['SANDBOXD_TEMPLATES_DIR'] || join(config.home, 'templates'),
    /** Templates built through the build API, their layers and uploads: SANDBOXD_BUILT_TEMPLATES_DIR, else `<templatesDir>/built`. */
    builtTemplatesDir:
      process.env['SANDBOXD_BUILT_TEMPLATES_DIR'] || join(process.env['SANDBOXD_TEMPLATES_DIR'] || join(config.home, 'templates'), 'built'),
  };
}

// Preloaded into the unit lane (scripts/run-tests.mjs unit): a unit test runs in-process, so starting
// a real process fails it at once, naming the rule. Tests that need real processes, root, gVisor,
// network namespaces or real kernels are `*.integration.test.ts` (the integration lane).
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  childProcess[name] = () => {
    throw new Error(
      `child_process.${name}() in a unit test: the unit lane is in-process only; name the file *.integration.test.ts (AGENTS.md, "Tests")`,
    );
  };
}
syncBuiltinESMExports();

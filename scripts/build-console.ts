// Builds the operator console (console/ → console/dist) with Vite. `npm ci` runs it as `prepare`,
// so a new user has nothing else to run. An install without dev dependencies has no Vite: it
// says so and goes on, and the server answers /console with a page that says how to build it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
let vite: string;
try {
  const manifest = createRequire(path.join(root, 'package.json')).resolve('vite/package.json');
  vite = path.join(path.dirname(manifest), 'bin/vite.js');
} catch {
  console.warn('mandate: Vite is not installed (dev dependencies omitted), so the console is not built; run `npm run build:console` after a full `npm ci`');
  process.exit(0);
}
const built = spawnSync(process.execPath, [vite, 'build', 'console', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
process.exit(built.status ?? 1);

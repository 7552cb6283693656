// Writes docs/errors.md from the error catalogue.
import fs from 'node:fs';
import { errorsMarkdown } from '../src/errors/docs.ts';

fs.writeFileSync(new URL('../docs/errors.md', import.meta.url), errorsMarkdown());

// The package's version, read from its package.json (one directory above src/ and dist/).
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const TESTKIT_VERSION = manifest.version;

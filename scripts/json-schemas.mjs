// Writes schemas/*.json (the published JSON Schema of every command's --json output) from the
// valibot schemas in src/commands/support/schemas.ts. Run `npm run schemas` after changing them;
// test/cli/json-schemas.test.ts fails while schemas/ is out of date.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { toJsonSchema } from '@valibot/to-json-schema';
import { jsonSchemaFiles } from '../dist/commands/support/schemas.js';

const dir = new URL('../schemas/', import.meta.url);
mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(new URL(f, dir));
const files = jsonSchemaFiles((s) => toJsonSchema(s, { errorMode: 'throw' }));
for (const [file, schema] of Object.entries(files))
  writeFileSync(new URL(file, dir), JSON.stringify(schema, null, 2) + '\n');
console.log(`wrote ${Object.keys(files).length} schemas to schemas/`);

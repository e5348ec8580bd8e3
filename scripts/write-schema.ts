// Writes issues/schema.json, the JSON Schema of the issue file, from the zod schema
// (src/issue/schema.ts). Editors' YAML extensions read it through the first line of
// each issue file, "# yaml-language-server: $schema=./schema.json", for autocompletion
// and as-you-type errors. test/schema-json.test.ts fails when it is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { issueSchemaJsonText } from '../src/issue/schema.js';

const file = fileURLToPath(new URL('../issues/schema.json', import.meta.url));
writeFileSync(file, issueSchemaJsonText());
console.log(`wrote ${file}`);

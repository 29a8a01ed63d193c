// Validates real output against the JSON Schemas published in docs/schemas/, so the documented
// contract and what the CLI prints cannot drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const SCHEMAS = join(import.meta.dirname, '..', '..', 'docs', 'schemas');

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);

/** Throws with every violation listed when `data` does not match docs/schemas/<name>.schema.json. */
export function assertMatchesSchema(name: string, data: unknown): void {
  const id = `${name}.schema.json`;
  const validate = ajv.getSchema(id) ?? (ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, id), 'utf8')), id), ajv.getSchema(id));
  if (!validate) throw new Error(`no schema ${id}`);
  if (!validate(data)) {
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    throw new Error(`output does not match docs/schemas/${id}:\n  ${errors.join('\n  ')}\n${JSON.stringify(data, null, 2).slice(0, 2000)}`);
  }
}

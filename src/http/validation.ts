import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const common: Options = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false };

/** Bodies are JSON: types must match exactly (1 is not "1"), unknown fields are errors. */
const bodyAjv = addFormats.default(new Ajv({ ...common, coerceTypes: false }));
/** Query strings and path parameters are text: numbers and booleans are coerced from it. */
const textAjv = addFormats.default(new Ajv({ ...common, coerceTypes: 'array' }));

/** Fastify validator compiler: strict for JSON bodies, coercing for URL parts. */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object);

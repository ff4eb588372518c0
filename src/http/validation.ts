import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const common: Options = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false };

/** Bodies are JSON: types must match exactly (1 is not "1"), unknown fields are errors. */
const bodyAjv = addFormats.default(new Ajv({ ...common, coerceTypes: false }));
/** Query strings and path parameters are text: numbers and booleans are coerced from it. */
const textAjv = addFormats.default(new Ajv({ ...common, coerceTypes: 'array' }));

/**
 * Fastify validator compiler: strict for JSON bodies, coercing for URL parts. Each schema is
 * compiled on the route's first request, not at start-up: a server has a hundred routes and most
 * processes serve a few of them.
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  let compiled: ValidateFunction | undefined;
  const validate = (data: unknown) => {
    compiled ??= ajv.compile(schema as object);
    const ok = compiled(data);
    validate.errors = compiled.errors;
    return ok;
  };
  validate.errors = null as ValidateFunction['errors'];
  return validate;
};

/**
 * Fastify's own response serializer (fast-json-stringify), compiled on a route's first response
 * instead of at start-up (see validatorCompiler).
 */
type SerializerFactory = ReturnType<typeof SerializerSelector>;
type Serializer = ReturnType<ReturnType<SerializerFactory>>;

export function lazySerializerFactory(): SerializerFactory {
  const build = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    return (route) => {
      let serialize: Serializer | undefined;
      return (doc: unknown) => (serialize ??= compile(route))(doc);
    };
  };
}

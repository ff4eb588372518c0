import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import { policyArn } from '../../core/policy/arn.js';
import { requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody } from './schemas.js';

const VersionBody = Type.Object({
  versionId: Type.String(),
  document: Type.String(),
  isDefault: Type.Boolean(),
  createdAt: Type.String(),
});
const Named = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) });
const errors = { 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

const versionJSON = (v: { versionId: string; document: string; isDefault: boolean; createdAt: number }) => ({
  versionId: v.versionId,
  document: v.document,
  isDefault: v.isDefault,
  createdAt: new Date(v.createdAt).toISOString(),
});

/**
 * The versions of a managed policy over the JSON API (the console edits a policy by adding a
 * version): the same use cases as IAM's ListPolicyVersions, CreatePolicyVersion and
 * SetDefaultPolicyVersion, at most five versions, the default never deleted.
 */
export function registerPolicyVersionRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const common = (request: FastifyRequest, name: string) => {
    const c = (request as FastifyRequest & { caller: Caller | null }).caller!;
    return {
      actor: c.actor,
      ctx: requestContext(request),
      accountId: c.account.id,
      policyArn: policyArn(c.account.id, name),
    };
  };

  r.get(
    '/v1/policies/:name/versions',
    {
      config: { action: ACTIONS.ListPolicyVersions, auth: 'session' },
      schema: {
        summary: 'Versions of a managed policy, newest first, with the default marked',
        tags: ['policies'],
        params: Named,
        response: { 200: Type.Object({ versions: Type.Array(VersionBody) }), ...errors },
      },
    },
    async (request) => ({
      versions: (await app.listPolicyVersions(common(request, request.params.name))).map(versionJSON),
    }),
  );

  r.post(
    '/v1/policies/:name/versions',
    {
      config: { action: ACTIONS.CreatePolicyVersion, auth: 'session' },
      schema: {
        summary: 'Add a version of a managed policy (at most five), by default the one in force',
        tags: ['policies'],
        params: Named,
        body: Type.Object(
          {
            document: Type.String({ minLength: 1, maxLength: 131_072 }),
            setAsDefault: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ version: VersionBody }), ...errors },
      },
    },
    async (request, reply) => {
      const version = await app.createPolicyVersion({
        ...common(request, request.params.name),
        document: request.body.document,
        setAsDefault: request.body.setAsDefault ?? true,
      });
      return reply.status(201).send({ version: versionJSON(version) });
    },
  );

  r.post(
    '/v1/policies/:name/versions/:versionId/default',
    {
      config: { action: ACTIONS.SetDefaultPolicyVersion, auth: 'session' },
      schema: {
        summary: 'Make a version the one every holder of the policy is evaluated with',
        tags: ['policies'],
        params: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 128 }),
          versionId: Type.String({ pattern: '^v[1-9][0-9]{0,8}$' }),
        }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await app.setDefaultPolicyVersion({
        ...common(request, request.params.name),
        versionId: request.params.versionId,
      });
      return reply.status(204).send(null);
    },
  );
}

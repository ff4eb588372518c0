import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import type { StoredPolicy } from '../../core/ports.js';
import { policyArn } from '../../core/policy/arn.js';
import type { LintFinding } from '../../core/policy/lint.js';
import { requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody } from './schemas.js';

const Finding = Type.Object({
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
  code: Type.String(),
  statement: Type.Union([Type.Integer(), Type.Null()]),
  sid: Type.Union([Type.String(), Type.Null()]),
  message: Type.String(),
});
const LintBody = Type.Object({
  findings: Type.Array(Finding),
  errors: Type.Integer(),
  warnings: Type.Integer(),
});
const PolicyBody = Type.Object({
  name: Type.String(),
  arn: Type.String(),
  scope: Type.String(),
  description: Type.String(),
  document: Type.String(),
  attachmentCount: Type.Optional(Type.Integer()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const SavedBody = Type.Object({ policy: PolicyBody, warnings: Type.Array(Finding) });
const DocumentInput = Type.Object(
  { document: Type.String({ maxLength: 131_072 }) },
  { additionalProperties: false },
);
const Named = Type.Object({ name: Type.String({ maxLength: 128 }) });
const UserNamed = Type.Object({ id: Type.String({ maxLength: 256 }), name: Type.String({ maxLength: 128 }) });
const UserParams = Type.Object({ id: Type.String({ maxLength: 256 }) });
const GroupMember = Type.Object({
  name: Type.String({ maxLength: 128 }),
  userId: Type.String({ maxLength: 256 }),
});
const GroupPolicy = Type.Object({
  name: Type.String({ maxLength: 128 }),
  policyName: Type.String({ maxLength: 128 }),
});
const ArnInput = Type.Object(
  { policyArn: Type.String({ maxLength: 2048 }) },
  { additionalProperties: false },
);

function policyJSON(policy: StoredPolicy, attachmentCount?: number) {
  const arn =
    policy.scope === 'managed' ? policyArn(policy.accountId, policy.name) : `${policy.scope}:${policy.name}`;
  return {
    name: policy.name,
    arn,
    scope: policy.scope,
    description: policy.description,
    document: policy.document,
    ...(attachmentCount === undefined ? {} : { attachmentCount }),
    createdAt: new Date(policy.createdAt).toISOString(),
    updatedAt: new Date(policy.updatedAt).toISOString(),
  };
}

const savedJSON = (saved: { policy: StoredPolicy; warnings: LintFinding[] }) => ({
  policy: policyJSON(saved.policy),
  warnings: saved.warnings,
});

/** Customer policies, groups, account-wide policies and account settings (identity administration). */
export function registerPolicyRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const common = (request: FastifyRequest) => {
    const c = (request as FastifyRequest & { caller: Caller | null }).caller!;
    return { actor: c.actor, ctx: requestContext(request), accountId: c.account.id };
  };
  const errors = { 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

  r.post(
    '/v1/policies/lint',
    {
      config: { action: ACTIONS.LintPolicy, auth: 'session' },
      schema: {
        summary: 'Lint a policy document (MFA pitfalls, NotAction allows, wildcards); changes nothing',
        tags: ['policies'],
        body: DocumentInput,
        response: { 200: LintBody, ...errors },
      },
    },
    async (request) => app.lintPolicyDocument({ ...common(request), document: request.body.document }),
  );

  r.get(
    '/v1/policies',
    {
      config: { action: ACTIONS.ListPolicies, auth: 'session' },
      schema: {
        summary: 'List the managed policies of my account',
        tags: ['policies'],
        response: { 200: Type.Object({ policies: Type.Array(PolicyBody) }), ...errors },
      },
    },
    async (request) => {
      const list = await app.listManagedPolicies(common(request));
      return { policies: list.map((v) => policyJSON(v.policy, v.attachmentCount)) };
    },
  );

  r.post(
    '/v1/policies',
    {
      config: { action: ACTIONS.CreatePolicy, auth: 'session' },
      schema: {
        summary: 'Create a managed policy (linted: errors refuse it, warnings come back)',
        tags: ['policies'],
        body: Type.Object(
          {
            name: Type.String({ maxLength: 128 }),
            document: Type.String({ maxLength: 131_072 }),
            description: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: SavedBody, ...errors },
      },
    },
    async (request, reply) => {
      const saved = await app.createManagedPolicy({ ...common(request), ...request.body });
      return reply.code(201).send(savedJSON(saved));
    },
  );

  r.get(
    '/v1/policies/:name',
    {
      config: { action: ACTIONS.GetPolicy, auth: 'session' },
      schema: {
        summary: 'A managed policy',
        tags: ['policies'],
        params: Named,
        response: { 200: PolicyBody, ...errors },
      },
    },
    async (request) => {
      const v = await app.getManagedPolicy({ ...common(request), ref: request.params.name });
      return policyJSON(v.policy, v.attachmentCount);
    },
  );

  r.delete(
    '/v1/policies/:name',
    {
      config: { action: ACTIONS.DeletePolicy, auth: 'session' },
      schema: {
        summary: 'Delete a managed policy attached nowhere',
        tags: ['policies'],
        params: Named,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await app.deleteManagedPolicy({ ...common(request), ref: request.params.name });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/users/:id/policies',
    {
      config: { action: ACTIONS.ListUserPolicies, auth: 'session' },
      schema: {
        summary: "A user's inline policies",
        tags: ['policies'],
        params: UserParams,
        response: { 200: Type.Object({ policies: Type.Array(PolicyBody) }), ...errors },
      },
    },
    async (request) => {
      const { policies } = await app.listUserPolicies({ ...common(request), userRef: request.params.id });
      return { policies: policies.map((p) => policyJSON(p)) };
    },
  );

  r.put(
    '/v1/users/:id/policies/:name',
    {
      config: { action: ACTIONS.PutUserPolicy, auth: 'session' },
      schema: {
        summary: 'Create or replace an inline policy of a user (linted)',
        tags: ['policies'],
        params: UserNamed,
        body: DocumentInput,
        response: { 200: SavedBody, ...errors },
      },
    },
    async (request) =>
      savedJSON(
        await app.putUserPolicy({
          ...common(request),
          userRef: request.params.id,
          name: request.params.name,
          document: request.body.document,
        }),
      ),
  );

  r.get(
    '/v1/users/:id/policies/:name',
    {
      config: { action: ACTIONS.GetUserPolicy, auth: 'session' },
      schema: {
        summary: 'An inline policy of a user',
        tags: ['policies'],
        params: UserNamed,
        response: { 200: PolicyBody, ...errors },
      },
    },
    async (request) => {
      const { policy } = await app.getUserPolicy({
        ...common(request),
        userRef: request.params.id,
        name: request.params.name,
      });
      return policyJSON(policy);
    },
  );

  r.delete(
    '/v1/users/:id/policies/:name',
    {
      config: { action: ACTIONS.DeleteUserPolicy, auth: 'session' },
      schema: {
        summary: 'Delete an inline policy of a user',
        tags: ['policies'],
        params: UserNamed,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await app.deleteUserPolicy({
        ...common(request),
        userRef: request.params.id,
        name: request.params.name,
      });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/users/:id/attached-policies',
    {
      config: { action: ACTIONS.ListAttachedUserPolicies, auth: 'session' },
      schema: {
        summary: 'Managed policies attached to a user',
        tags: ['policies'],
        params: UserParams,
        response: { 200: Type.Object({ policies: Type.Array(PolicyBody) }), ...errors },
      },
    },
    async (request) => {
      const policies = await app.listAttachedUserPolicies({ ...common(request), userRef: request.params.id });
      return { policies: policies.map((p) => policyJSON(p)) };
    },
  );

  r.post(
    '/v1/users/:id/attached-policies',
    {
      config: { action: ACTIONS.AttachUserPolicy, auth: 'session' },
      schema: {
        summary: 'Attach a managed policy to a user',
        tags: ['policies'],
        params: UserParams,
        body: ArnInput,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await app.attachUserPolicy({
        ...common(request),
        userRef: request.params.id,
        policyArn: request.body.policyArn,
      });
      return reply.status(204).send(null);
    },
  );

  r.delete(
    '/v1/users/:id/attached-policies/:name',
    {
      config: { action: ACTIONS.DetachUserPolicy, auth: 'session' },
      schema: {
        summary: 'Detach a managed policy from a user',
        tags: ['policies'],
        params: UserNamed,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const c = common(request);
      await app.detachUserPolicy({
        ...c,
        userRef: request.params.id,
        policyArn: policyArn(c.accountId, request.params.name),
      });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/groups',
    {
      config: { action: ACTIONS.ListGroups, auth: 'session' },
      schema: {
        summary: 'Groups and their members',
        tags: ['policies'],
        response: {
          200: Type.Object({
            groups: Type.Array(Type.Object({ name: Type.String(), members: Type.Array(Type.String()) })),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const groups = await app.listGroups(common(request));
      return { groups: groups.map((g) => ({ name: g.group.name, members: g.members })) };
    },
  );

  r.post(
    '/v1/groups',
    {
      config: { action: ACTIONS.CreateGroup, auth: 'session' },
      schema: {
        summary: 'Create a group',
        tags: ['policies'],
        body: Type.Object({ name: Type.String({ maxLength: 128 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ name: Type.String() }), ...errors },
      },
    },
    async (request, reply) => {
      const group = await app.createGroup({ ...common(request), name: request.body.name });
      return reply.code(201).send({ name: group.name });
    },
  );

  const membership = (member: boolean) =>
    ({
      config: { action: member ? ACTIONS.AddUserToGroup : ACTIONS.RemoveUserFromGroup, auth: 'session' },
      schema: {
        summary: member ? 'Add a user to a group' : 'Remove a user from a group',
        tags: ['policies'],
        params: GroupMember,
        response: { 204: Type.Null(), ...errors },
      },
    }) as const;
  r.put('/v1/groups/:name/members/:userId', membership(true), async (request, reply) => {
    await app.setGroupMembership({
      ...common(request),
      groupName: request.params.name,
      userRef: request.params.userId,
      member: true,
    });
    return reply.status(204).send(null);
  });
  r.delete('/v1/groups/:name/members/:userId', membership(false), async (request, reply) => {
    await app.setGroupMembership({
      ...common(request),
      groupName: request.params.name,
      userRef: request.params.userId,
      member: false,
    });
    return reply.status(204).send(null);
  });

  r.put(
    '/v1/groups/:name/policies/:policyName',
    {
      config: { action: ACTIONS.PutGroupPolicy, auth: 'session' },
      schema: {
        summary: 'Create or replace an inline policy of a group (linted)',
        tags: ['policies'],
        params: GroupPolicy,
        body: DocumentInput,
        response: { 200: SavedBody, ...errors },
      },
    },
    async (request) =>
      savedJSON(
        await app.putGroupPolicy({
          ...common(request),
          groupName: request.params.name,
          name: request.params.policyName,
          document: request.body.document,
        }),
      ),
  );

  r.post(
    '/v1/groups/:name/attached-policies',
    {
      config: { action: ACTIONS.AttachGroupPolicy, auth: 'session' },
      schema: {
        summary: 'Attach a managed policy to a group',
        tags: ['policies'],
        params: Named,
        body: ArnInput,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await app.attachGroupPolicy({
        ...common(request),
        groupName: request.params.name,
        policyArn: request.body.policyArn,
      });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/groups/:name/attached-policies',
    {
      config: { action: ACTIONS.ListAttachedGroupPolicies, auth: 'session' },
      schema: {
        summary: 'Managed policies attached to a group',
        tags: ['policies'],
        params: Named,
        response: { 200: Type.Object({ policies: Type.Array(PolicyBody) }), ...errors },
      },
    },
    async (request) => {
      const policies = await app.listAttachedGroupPolicies({
        ...common(request),
        groupName: request.params.name,
      });
      return { policies: policies.map((p) => policyJSON(p)) };
    },
  );

  r.delete(
    '/v1/groups/:name/attached-policies/:policyName',
    {
      config: { action: ACTIONS.DetachGroupPolicy, auth: 'session' },
      schema: {
        summary: 'Detach a managed policy from a group',
        tags: ['policies'],
        params: GroupPolicy,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const c = common(request);
      await app.detachGroupPolicy({
        ...c,
        groupName: request.params.name,
        policyArn: policyArn(c.accountId, request.params.policyName),
      });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/groups/:name/policies',
    {
      config: { action: ACTIONS.ListGroupPolicies, auth: 'session' },
      schema: {
        summary: "A group's inline policies",
        tags: ['policies'],
        params: Named,
        response: { 200: Type.Object({ policies: Type.Array(PolicyBody) }), ...errors },
      },
    },
    async (request) => {
      const policies = await app.listGroupPolicies({ ...common(request), groupName: request.params.name });
      return { policies: policies.map((p) => policyJSON(p)) };
    },
  );

  r.get(
    '/v1/groups/:name/policies/:policyName',
    {
      config: { action: ACTIONS.GetGroupPolicy, auth: 'session' },
      schema: {
        summary: 'An inline policy of a group',
        tags: ['policies'],
        params: GroupPolicy,
        response: { 200: PolicyBody, ...errors },
      },
    },
    async (request) =>
      policyJSON(
        await app.getGroupPolicy({
          ...common(request),
          groupName: request.params.name,
          name: request.params.policyName,
        }),
      ),
  );

  r.delete(
    '/v1/groups/:name/policies/:policyName',
    {
      config: { action: ACTIONS.DeleteGroupPolicy, auth: 'session' },
      schema: {
        summary: 'Delete an inline policy of a group',
        tags: ['policies'],
        params: GroupPolicy,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await app.deleteGroupPolicy({
        ...common(request),
        groupName: request.params.name,
        name: request.params.policyName,
      });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/account/policies',
    {
      config: { action: ACTIONS.ListAccountPolicies, auth: 'session' },
      schema: {
        summary: 'Account-wide policies (they cap every identity policy of the account)',
        tags: ['policies'],
        response: { 200: Type.Object({ policies: Type.Array(PolicyBody) }), ...errors },
      },
    },
    async (request) => ({
      policies: (await app.listAccountPolicies(common(request))).map((p) => policyJSON(p)),
    }),
  );

  r.put(
    '/v1/account/policies/:name',
    {
      config: { action: ACTIONS.PutAccountPolicy, auth: 'session' },
      schema: {
        summary: 'Create or replace an account-wide policy (linted; owners only)',
        tags: ['policies'],
        params: Named,
        body: DocumentInput,
        response: { 200: SavedBody, ...errors },
      },
    },
    async (request) =>
      savedJSON(
        await app.putAccountPolicy({
          ...common(request),
          name: request.params.name,
          document: request.body.document,
        }),
      ),
  );

  r.delete(
    '/v1/account/policies/:name',
    {
      config: { action: ACTIONS.DeleteAccountPolicy, auth: 'session' },
      schema: {
        summary: 'Delete an account-wide policy (owners only)',
        tags: ['policies'],
        params: Named,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await app.deleteAccountPolicy({ ...common(request), name: request.params.name });
      return reply.status(204).send(null);
    },
  );

  r.patch(
    '/v1/account/settings',
    {
      config: { action: ACTIONS.UpdateAccountSettings, auth: 'session' },
      schema: {
        summary: 'Tighten account settings (step-up age, initial enrolment window, second approver)',
        tags: ['account'],
        body: Type.Object(
          {
            stepUpMaxAgeSeconds: Type.Optional(Type.Integer()),
            initialEnrolmentWindowSeconds: Type.Optional(Type.Integer()),
            requireSecondApprover: Type.Optional(Type.Boolean()),
            smsOtpAllowed: Type.Optional(
              Type.Boolean({
                description:
                  'allow text-message codes (weak; off by default): true only from the owner with a fresh second factor',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ settings: Type.Record(Type.String(), Type.Unknown()) }),
          ...errors,
        },
      },
    },
    async (request) => ({
      settings: {
        ...(await app.updateAccountSettings({ ...common(request), patch: request.body })),
      } as Record<string, unknown>,
    }),
  );
}

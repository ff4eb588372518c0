import { Type, type Static } from '@sinclair/typebox';
import type { Principal } from '../../core/principals/types.js';
import type { Session } from '../../core/sessions/session.js';

/** The error envelope every failing route answers with. */
export const ErrorBody = Type.Object({
  error: Type.Object(
    { code: Type.String(), message: Type.String(), requestId: Type.String() },
    { additionalProperties: true },
  ),
});

/** A principal as the API shows it (never a hash). */
export const UserBody = Type.Object({
  id: Type.String(),
  accountId: Type.String(),
  username: Type.String(),
  email: Type.String(),
  role: Type.String(),
  status: Type.String(),
  hasPassword: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});

/** A session as the API shows it (never its token). */
export const SessionBody = Type.Object({
  id: Type.String(),
  channel: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  methods: Type.Array(Type.String()),
  mfa: Type.Union([
    Type.Null(),
    Type.Object({
      factorId: Type.String(),
      kind: Type.String(),
      assurance: Type.String(),
      at: Type.String(),
    }),
  ]),
  sourceIp: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

/** `:id` path parameter. */
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

const iso = (ms: number) => new Date(ms).toISOString();

/** Shapes a principal for the API. */
export function userJSON(p: Principal): Static<typeof UserBody> {
  return {
    id: p.id,
    accountId: p.accountId,
    username: p.username,
    email: p.email,
    role: p.role,
    status: p.status,
    hasPassword: p.passwordHash !== null,
    createdAt: iso(p.createdAt),
  };
}

/** Shapes a session for the API. */
export function sessionJSON(s: Session, currentId: string | null): Static<typeof SessionBody> {
  const f = s.auth.factor;
  return {
    id: s.id,
    channel: s.channel,
    createdAt: iso(s.createdAt),
    lastSeenAt: iso(s.lastSeenAt),
    expiresAt: iso(s.expiresAt),
    methods: s.auth.methods,
    mfa: f === null ? null : { factorId: f.factorId, kind: f.kind, assurance: f.assurance, at: iso(f.at) },
    sourceIp: s.sourceIp,
    userAgent: s.userAgent,
    current: s.id === currentId,
  };
}

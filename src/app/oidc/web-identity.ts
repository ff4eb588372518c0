/**
 * STS AssumeRoleWithWebIdentity with Holdfast's own ID tokens: a CI job or a machine that signed
 * in through the OpenID Connect provider (the device grant, or a browser sign-in) trades its ID
 * token for temporary AWS-style credentials of a role, when the role's trust policy names the
 * provider as a `Federated` principal and its conditions accept the token's claims:
 * `HOST:sub`, `HOST:aud`, `HOST:amr`, `HOST:acr` (HOST is the issuer without its scheme, as AWS
 * names OIDC condition keys), and the MFA facts of the token (`aws:MultiFactorAuthAge`,
 * `holdfast:MfaAssurance`, `holdfast:PhishingResistant`) from its `acr` and `auth_time`.
 *
 * The token's signature, issuer, expiry and audience were checked by the face against the
 * provider's own keys; here the audience must be a client of the role's account, and the subject
 * a live user of it: a token of one account never assumes a role of another.
 */

import { HoldfastError } from '../../core/errors.js';
import { ASSURANCE_LEVELS, type AssuranceLevel } from '../../core/factors/assurance-levels.js';
import { ASSURANCE_PROFILES } from '../../core/factors/webauthn/assurance.js';
import { levelOfAcr } from '../../core/oidc/claims.js';
import { accountArn, assumedRoleArn, parseRoleArn, roleArn, userArn } from '../../core/policy/arn.js';
import { buildRequestContext, type ContextValue } from '../../core/policy/context.js';
import { evaluate } from '../../core/policy/evaluate.js';
import { parseTrustPolicy } from '../../core/policy/trust-policy.js';
import { ACTIONS } from '../actions.js';
import { issueTemporary } from '../aws/sts.js';
import type { RequestContext } from '../context.js';
import { writeAudit, type AppDeps } from '../deps.js';
import { runCommand } from '../kernel.js';

/** What the face verified of the ID token. */
export interface VerifiedIdToken {
  /** The issuer (the provider's base URL). */
  issuer: string;
  subject: string;
  audience: string;
  amr: string[];
  acr: string | null;
  /** `auth_time` in seconds, or null. */
  authTime: number | null;
  /** `jti`, or null (for the audit record). */
  tokenId: string | null;
}

/** The answer of AssumeRoleWithWebIdentity. */
export interface WebIdentityRole {
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: number };
  assumedRoleId: string;
  assumedRoleArn: string;
  subject: string;
  audience: string;
  provider: string;
}

const DEFAULT_DURATION_SECONDS = 3600;

/** The issuer as AWS names an OIDC provider: without `https://`. */
export function providerHost(issuer: string): string {
  return issuer.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

/** Trades a verified ID token for a role session (one command, one audit record; refusals audited). */
export async function assumeRoleWithWebIdentity(
  deps: AppDeps,
  input: {
    ctx: RequestContext;
    token: VerifiedIdToken;
    roleArn: string;
    roleSessionName: string;
    durationSeconds?: number;
  },
): Promise<WebIdentityRole> {
  const { token } = input;
  const host = providerHost(token.issuer);
  const parsed = parseRoleArn(input.roleArn);
  return runCommand(deps, null, input.ctx, null, async (uow) => {
    const refuse = async (reason: string, accountId: string | null) => {
      await writeAudit(deps, uow.tx, {
        actor: null,
        ctx: input.ctx,
        fact: {
          accountId,
          action: 'sts.assume_role_with_web_identity',
          target: input.roleArn,
          outcome: 'failure',
          errorCode: 'AUTH_FORBIDDEN',
          details: { reason, provider: host, subject: token.subject, audience: token.audience },
        },
      });
      return uow.failAfterCommit(
        new HoldfastError('AUTH_FORBIDDEN', 'Not authorized to perform sts:AssumeRoleWithWebIdentity'),
      );
    };
    const client = await uow.tx.oidc.findClient(token.audience);
    if (client === null) return refuse('unknown-audience', null);
    const accountId = client.accountId;
    if (parsed === null || parsed.accountId !== accountId)
      return refuse('role-of-another-account', accountId);
    const role = await uow.tx.awsIdentities.findRole(accountId, parsed.name);
    if (role === null || role.path !== parsed.path) return refuse('unknown-role', accountId);
    const principal = await uow.tx.principals.findById(accountId, token.subject);
    if (principal === null || principal.status !== 'active') return refuse('unknown-subject', accountId);

    const duration = input.durationSeconds ?? DEFAULT_DURATION_SECONDS;
    if (!Number.isInteger(duration) || duration < 900 || duration > role.maxSessionDuration) {
      throw new HoldfastError(
        'AWS_DURATION_INVALID',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    }

    // The statements that name this provider as a Federated principal, evaluated like identity
    // policies with the token's claims as condition keys.
    const names = new Set([`Federated:${host}`, `Federated:${accountArn(accountId)}:oidc-provider/${host}`]);
    const statements = parseTrustPolicy(role.trustPolicy).filter((s) => s.others.some((o) => names.has(o)));
    const level = token.acr === null ? null : levelOfAcr(token.acr);
    const assurance =
      level !== null && (ASSURANCE_LEVELS as readonly string[]).includes(level)
        ? (level as AssuranceLevel)
        : null;
    const extraKeys: Record<string, ContextValue> = {
      [`${host}:sub`]: token.subject,
      [`${host}:aud`]: token.audience,
      [`${host}:amr`]: token.amr,
      ...(token.acr === null ? {} : { [`${host}:acr`]: token.acr }),
    };
    const context = buildRequestContext({
      principal: { accountId, userid: principal.id, arn: userArn(accountId, principal.username) },
      action: ACTIONS.AssumeRoleWithWebIdentity,
      resource: roleArn(role),
      nowMs: deps.clock.now(),
      credential: 'session',
      mfa:
        assurance === null || token.authTime === null
          ? null
          : {
              authenticatedAtMs: token.authTime * 1000,
              assurance,
              factorKind: 'oidc',
              phishingResistant: ASSURANCE_PROFILES[assurance].phishingResistant,
            },
      sourceIp: input.ctx.sourceIp ?? undefined,
      extraKeys,
    });
    const decision = evaluate({
      identityPolicies: statements.map((s) => s.compiled),
      accountPolicies: [],
      context,
    });
    if (statements.length === 0 || decision.decision !== 'Allow') return refuse('trust-policy', accountId);

    const credentials = await issueTemporary(deps, uow.tx, {
      accountId,
      principalId: principal.id,
      source: 'assumed-role',
      roleId: role.id,
      roleSessionName: input.roleSessionName,
      mfa:
        assurance === null || token.authTime === null
          ? null
          : { factorId: 'oidc', kind: 'oidc', assurance, at: token.authTime * 1000, serialNumber: host },
      parentKeyId: `oidc:${client.id}`,
      sourceKeyId: null,
      expiresAt: deps.clock.now() + duration * 1000,
      sessionPolicy: null,
    });
    uow.record({
      accountId,
      action: 'sts.assume_role_with_web_identity',
      target: roleArn(role),
      details: {
        accessKeyId: credentials.accessKeyId,
        provider: host,
        subject: token.subject,
        audience: token.audience,
        acr: token.acr,
        amr: token.amr,
        sessionName: input.roleSessionName,
        ...(token.tokenId === null ? {} : { tokenId: token.tokenId }),
      },
    });
    return {
      credentials,
      assumedRoleId: `${role.id}:${input.roleSessionName}`,
      assumedRoleArn: assumedRoleArn(accountId, role.name, input.roleSessionName),
      subject: token.subject,
      audience: token.audience,
      provider: `${accountArn(accountId)}:oidc-provider/${host}`,
    };
  });
}

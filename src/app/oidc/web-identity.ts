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
 *
 * ID tokens of an external provider registered in the role's account (IAM
 * CreateOpenIDConnectProvider, src/app/aws/oidc-providers.ts) are accepted too: the face verified
 * them against that provider's published keys; here the provider must still be registered in the
 * role's account with the token's audience among its client ids, and the trust policy must name
 * it by ARN (`Federated: arn:aws:iam::ACCOUNT:oidc-provider/HOST`), as AWS requires. Such a
 * session has no Holdfast user behind it (source `web-identity`) and carries no MFA facts: an
 * outside provider's `acr` is not one of Holdfast's assurance levels.
 */

import { HoldfastError } from '../../core/errors.js';
import { ASSURANCE_LEVELS, type AssuranceLevel } from '../../core/factors/assurance-levels.js';
import { ASSURANCE_PROFILES } from '../../core/factors/webauthn/assurance.js';
import { levelOfAcr } from '../../core/oidc/claims.js';
import { parseIssuerUrl } from '../../core/oidc/issuer-url.js';
import { assumedRoleArn, oidcProviderArn, parseRoleArn, roleArn, userArn } from '../../core/policy/arn.js';
import type { Principal } from '../../core/principals/types.js';
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
  /** True for a token of an external provider registered in the role's account. */
  external?: boolean;
}

/** An external provider as STS needs it to verify a token (no secret: its public facts). */
export interface WebIdentityProvider {
  url: string;
  hostPath: string;
  clientIds: string[];
}

/**
 * The external provider of the role's account whose URL is the token's issuer, or null. STS
 * asks before it verifies a token, to know whose keys to fetch; the answer is re-checked inside
 * the command that issues the credentials.
 */
export async function findWebIdentityProvider(
  deps: AppDeps,
  input: { roleArn: string; issuer: string },
): Promise<WebIdentityProvider | null> {
  const role = parseRoleArn(input.roleArn);
  const issuer = parseIssuerUrl(input.issuer);
  if (role === null || issuer === null) return null;
  const provider = await deps.store.oidc.findIdentityProvider(role.accountId, issuer.hostPath);
  if (provider === null || provider.url !== issuer.url) return null;
  return { url: provider.url, hostPath: provider.hostPath, clientIds: provider.clientIds };
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
  const external = token.external === true;
  const host = external ? (parseIssuerUrl(token.issuer)?.hostPath ?? '') : providerHost(token.issuer);
  const parsed = parseRoleArn(input.roleArn);
  return runCommand(deps, null, input.ctx, null, async (uow) => {
    const refuseToken = async (reason: string, accountId: string | null, message: string) => {
      await writeAudit(deps, uow.tx, {
        actor: null,
        ctx: input.ctx,
        fact: {
          accountId,
          action: 'sts.assume_role_with_web_identity',
          target: input.roleArn,
          outcome: 'failure',
          errorCode: 'InvalidIdentityToken',
          details: { reason, provider: host, subject: token.subject, audience: token.audience },
        },
      });
      return uow.failAfterCommit(new HoldfastError('OIDC_IDENTITY_TOKEN_INVALID', message));
    };
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
    let accountId: string;
    let principal: Principal | null = null;
    let parentKeyId: string;
    if (external) {
      if (parsed === null) return refuse('unknown-role', null);
      accountId = parsed.accountId;
      // Registered in the role's own account, with this audience: a provider of another account
      // never reaches this one's roles.
      const provider = await uow.tx.oidc.findIdentityProvider(accountId, host);
      if (provider === null || provider.url !== parseIssuerUrl(token.issuer)?.url) {
        return refuseToken(
          'unknown-provider',
          accountId,
          `No OpenIDConnect provider found in your account for ${token.issuer}`,
        );
      }
      if (!provider.clientIds.includes(token.audience)) {
        return refuseToken('unknown-audience', accountId, 'Incorrect token audience');
      }
      parentKeyId = `oidc-provider:${host}`;
    } else {
      const client = await uow.tx.oidc.findClient(token.audience);
      if (client === null) return refuseToken('unknown-audience', null, 'Incorrect token audience');
      accountId = client.accountId;
      if (parsed === null || parsed.accountId !== accountId)
        return refuse('role-of-another-account', accountId);
      principal = await uow.tx.principals.findById(accountId, token.subject);
      if (principal === null || principal.status !== 'active') return refuse('unknown-subject', accountId);
      parentKeyId = `oidc:${client.id}`;
    }
    const role = await uow.tx.awsIdentities.findRole(accountId, parsed.name);
    if (role === null || role.path !== parsed.path) return refuse('unknown-role', accountId);

    const duration = input.durationSeconds ?? DEFAULT_DURATION_SECONDS;
    if (!Number.isInteger(duration) || duration < 900 || duration > role.maxSessionDuration) {
      throw new HoldfastError(
        'AWS_DURATION_INVALID',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    }

    // The statements that name this provider as a Federated principal, evaluated like identity
    // policies with the token's claims as condition keys.
    // An external provider is named by its ARN only, as AWS names it; Holdfast's own by either.
    const providerArn = oidcProviderArn(accountId, host);
    const names = new Set(
      external ? [`Federated:${providerArn}`] : [`Federated:${host}`, `Federated:${providerArn}`],
    );
    const statements = parseTrustPolicy(role.trustPolicy).filter((s) => s.others.some((o) => names.has(o)));
    const level = token.acr === null || external ? null : levelOfAcr(token.acr);
    const assurance =
      level !== null && (ASSURANCE_LEVELS as readonly string[]).includes(level)
        ? (level as AssuranceLevel)
        : null;
    const extraKeys: Record<string, ContextValue> = {
      [`${host}:sub`]: token.subject,
      [`${host}:aud`]: token.audience,
      ...(external && token.amr.length === 0 ? {} : { [`${host}:amr`]: token.amr }),
      ...(token.acr === null ? {} : { [`${host}:acr`]: token.acr }),
    };
    const context = buildRequestContext({
      principal:
        principal === null
          ? { accountId, userid: role.id, arn: assumedRoleArn(accountId, role.name, input.roleSessionName) }
          : { accountId, userid: principal.id, arn: userArn(accountId, principal.username) },
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
      // A session of an external provider has no Holdfast user: the role stands in for it.
      principalId: principal === null ? role.id : principal.id,
      source: principal === null ? 'web-identity' : 'assumed-role',
      roleId: role.id,
      roleSessionName: input.roleSessionName,
      mfa:
        assurance === null || token.authTime === null
          ? null
          : { factorId: 'oidc', kind: 'oidc', assurance, at: token.authTime * 1000, serialNumber: host },
      parentKeyId,
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
      provider: providerArn,
    };
  });
}

/**
 * Challenges of the factor kinds whose code the server sends (text-message codes, the
 * `sms_otp` kind), and the enrolment of such a factor. A code is sent only when the user asks
 * for one named factor's challenge: nothing falls back to SMS by itself (MISSION.md failure 2).
 * The code is then checked like any other code, by the factor's driver in secondFactorStep
 * (sign-in, step-up) or enableFactor (enrolment); admission (G3), enrolment throttling (G4),
 * suspension and audit are the generic ones.
 */
import { HoldfastError } from '../core/errors.js';
import type { Factor } from '../core/factors/factor.js';
import { resolveFactorDriver } from '../core/factors/registry.js';
import { maskPhoneNumber, parsePhoneNumber, SMS_CODE_TTL_MS } from '../core/factors/sms-otp/driver.js';
import type { Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import type { ThrottlePolicy } from '../core/throttle.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { writeAudit, type AppDeps } from './deps.js';
import { otpStateOf } from './factor-secrets.js';
import {
  auditRefusal,
  beginPendingEnrolment,
  countEnrolmentAttempt,
  ENROLMENT_REFUSALS,
  parseFactorName,
  storePendingFactor,
} from './factors.js';
import { waitingSignIn } from './mfa.js';
import { queueMessage } from './recovery-support.js';

/** Texts one principal may be sent in a quarter of an hour (four) before a growing wait. */
export const SMS_CHALLENGE_THROTTLE: ThrottlePolicy = {
  freeFailures: 3,
  baseDelayMs: 60_000,
  maxDelayMs: 15 * 60_000,
  windowMs: 15 * 60_000,
};
/** Texts with a factor code one principal may be sent per day, whoever asks. */
export const SMS_CODES_PER_DAY = 10;
const SMS_CHALLENGE_DAILY: ThrottlePolicy = {
  freeFailures: SMS_CODES_PER_DAY - 1,
  baseDelayMs: 24 * 3_600_000,
  maxDelayMs: 24 * 3_600_000,
  windowMs: 24 * 3_600_000,
};

/** What the caller is told of a sent code: never the code, only a masked number and its end. */
export interface SentChallenge {
  factorId: string;
  sentTo: string;
  expiresAt: number;
}

/** Counts one text to a principal (per quarter hour and per day); the wait when over, else null. */
async function countText(deps: AppDeps, tx: Repositories, principalId: string): Promise<number | null> {
  const now = deps.clock.now();
  for (const [key, policy] of [
    [`sms-otp:p:${principalId}`, SMS_CHALLENGE_THROTTLE],
    [`sms-otp:day:${principalId}`, SMS_CHALLENGE_DAILY],
  ] as const) {
    const hit = await tx.throttle.hit({ key, policy, now });
    if (!hit.allowed) return hit.waitMs;
  }
  return null;
}

function throttled(waitMs: number): HoldfastError {
  return new HoldfastError('AUTH_THROTTLED', 'too many text-message codes; retry later', {
    details: { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) },
  });
}

async function requireSmsAllowed(deps: AppDeps, accountId: string): Promise<void> {
  const account = await deps.store.accounts.findById(accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  if (account.settings.smsOtpAllowed !== true) throw new HoldfastError('SMS_OTP_DISABLED');
}

/** Queues the text carrying one code (the code travels sealed in the outbox); the message id. */
function textCode(
  deps: AppDeps,
  tx: Repositories,
  input: { principal: Principal; phone: string; code: string; purpose: 'enrol' | 'sign_in' | 'step_up' },
): Promise<string> {
  return queueMessage(deps, tx, {
    accountId: input.principal.accountId,
    principalId: input.principal.id,
    channel: 'sms',
    template: 'factor.sms_code',
    recipient: input.phone,
    payload: { purpose: input.purpose },
    secret: input.code,
  });
}

/**
 * Starts enrolling a phone: a pending `sms_otp` factor owned by the creating session, and a text
 * with its first code (confirmed through the generic enable with that one code). Refused with
 * SMS_OTP_DISABLED unless the account allows text-message codes.
 */
export async function createSmsOtpFactor(
  deps: AppDeps,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    phoneNumber: string;
    name?: string;
    enrolmentGrant?: string;
  },
): Promise<{ factor: Factor } & SentChallenge> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.CreateVirtualMFADevice,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const refuse = async (error: HoldfastError): Promise<never> => {
    await auditRefusal(deps, {
      actor: input.actor,
      ctx: input.ctx,
      action: 'factor.create',
      target: principal.id,
      error,
    });
    throw error;
  };
  await requireSmsAllowed(deps, principal.accountId).catch((err: unknown) =>
    err instanceof HoldfastError && err.code === 'SMS_OTP_DISABLED' ? refuse(err) : Promise.reject(err),
  );
  const phone = parsePhoneNumber(input.phoneNumber);
  const name = parseFactorName(input.name ?? `Phone ${maskPhoneNumber(phone)}`);
  await countEnrolmentAttempt(deps, input.actor, input.ctx, 'factor.create');
  // The driver (through the registry) makes the seed and the first live challenge; the code to
  // text is that challenge's.
  const { factor, secret } = beginPendingEnrolment(deps, input.actor, { kind: 'sms_otp', name, phone });
  const challenge = resolveFactorDriver('sms_otp').challenge!({
    state: { secret, params: factor.params, lastCounter: null, driftSteps: 0 },
    now: deps.clock.now(),
  });
  const id = factor.id;
  const waitMs = await deps.store
    .transaction(async (tx) => {
      // The text budget, then admission (G3), the factor limit and the unique name: a refusal
      // rolls the count back with everything else.
      const wait = await countText(deps, tx, principal.id);
      if (wait !== null) return wait;
      await storePendingFactor(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        factor,
        grantToken: input.enrolmentGrant,
      });
      await textCode(deps, tx, { principal, phone, code: challenge.code, purpose: 'enrol' });
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: principal.accountId,
          action: 'factor.create',
          target: id,
          details: { kind: 'sms_otp', name, weak: true },
        },
      });
      return null;
    })
    .catch(async (err: unknown) => {
      if (err instanceof HoldfastError && ENROLMENT_REFUSALS.has(err.code)) return refuse(err);
      throw err;
    });
  if (waitMs !== null) return refuse(throttled(waitMs));
  return {
    factor,
    factorId: id,
    sentTo: maskPhoneNumber(phone),
    expiresAt: challenge.counter * 1000 + SMS_CODE_TTL_MS,
  };
}

/** Texts a new code of one of the principal's enabled factors that the server sends. */
async function issueChallenge(
  deps: AppDeps,
  input: {
    principal: Principal;
    factorId: string;
    actor: Actor | null;
    ctx: RequestContext;
    purpose: 'sign_in' | 'step_up';
  },
): Promise<SentChallenge> {
  const { principal } = input;
  const refuse = async (error: HoldfastError): Promise<never> => {
    await deps.store.transaction((tx) =>
      writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: principal.accountId,
          action: 'factor.challenge',
          target: input.factorId,
          outcome: 'failure',
          errorCode: error.code,
          details: { purpose: input.purpose, security: true },
        },
      }),
    );
    throw error;
  };
  const factor = await deps.store.factors.findById(principal.accountId, input.factorId);
  if (factor === null || factor.principalId !== principal.id || factor.status !== 'enabled') {
    throw new HoldfastError('FACTOR_NOT_FOUND');
  }
  const driver = resolveFactorDriver(factor.kind);
  // Only kinds whose code the server sends have a challenge; the others are never "sent".
  if (driver.challenge === undefined) throw new HoldfastError('FACTOR_KIND_UNSUPPORTED');
  await requireSmsAllowed(deps, principal.accountId).catch((err: unknown) =>
    err instanceof HoldfastError && err.code === 'SMS_OTP_DISABLED' ? refuse(err) : Promise.reject(err),
  );
  const now = deps.clock.now();
  const challenge = driver.challenge({ state: otpStateOf(deps, factor), now });
  const outcome = await deps.store.transaction(async (tx) => {
    const wait = await countText(deps, tx, principal.id);
    if (wait !== null) return { wait };
    // Conditional on the counter read above: of two concurrent challenges one is sent.
    const recorded = await tx.factors.acceptCode({
      id: factor.id,
      lastCounter: challenge.lastCounter,
      driftSteps: factor.driftSteps,
      now,
    });
    if (!recorded) return { wait: 1000 };
    await textCode(deps, tx, {
      principal,
      phone: challenge.phone,
      code: challenge.code,
      purpose: input.purpose,
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: principal.accountId,
        action: 'factor.challenge',
        target: factor.id,
        details: { kind: factor.kind, purpose: input.purpose, security: true },
      },
    });
    return null;
  });
  if (outcome !== null) return refuse(throttled(outcome.wait));
  return {
    factorId: factor.id,
    sentTo: maskPhoneNumber(challenge.phone),
    expiresAt: challenge.counter * 1000 + SMS_CODE_TTL_MS,
  };
}

/**
 * Sign-in, after the password step: texts the code of the factor the user picked. Only a live
 * sign-in flow waiting for its second factor, and only the flow's principal's own factor.
 */
export async function sendSignInChallenge(
  deps: AppDeps,
  input: { ctx: RequestContext; flowId: string; factorId: string },
): Promise<SentChallenge> {
  const { principal } = await waitingSignIn(deps, input.flowId);
  return issueChallenge(deps, {
    principal,
    factorId: input.factorId,
    actor: null,
    ctx: input.ctx,
    purpose: 'sign_in',
  });
}

/** In a session (before a step-up): texts the code of the caller's factor they picked. */
export async function sendFactorChallenge(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; factorId: string },
): Promise<SentChallenge> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.StepUp,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  return issueChallenge(deps, {
    principal,
    factorId: input.factorId,
    actor: input.actor,
    ctx: input.ctx,
    purpose: 'step_up',
  });
}

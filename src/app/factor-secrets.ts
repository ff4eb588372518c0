import type { Factor, OTPState } from '../core/factors/factor.js';
import type { AppDeps } from './deps.js';

/** The context (AAD) a factor's secret is sealed under: a sealed seed cannot move to another factor. */
export function factorSecretContext(factorId: string): string {
  return `factor:${factorId}`;
}

/** The OTP state a driver checks codes against, with the seed decrypted for this call only. */
export function otpStateOf(deps: Pick<AppDeps, 'secretBox'>, factor: Factor): OTPState {
  return {
    secret: deps.secretBox.open(factor.secretSealed, factorSecretContext(factor.id)),
    params: factor.params,
    lastCounter: factor.lastCounter,
    driftSteps: factor.driftSteps,
  };
}

/**
 * What the console knows about each factor kind: a label and how the user proves it. Kinds the
 * server reports that are not listed here are shown by name and are not offered for sign-in.
 * Passkeys and security keys (WebAuthn) prove possession with a browser ceremony, not a typed
 * code; their row carries `proof: 'webauthn'`, which the sign-in and enrolment pages reserve a
 * place for.
 */
export interface FactorKindInfo {
  label: string;
  proof: 'code' | 'webauthn';
  /** How the code field is described. */
  codeHint: string;
  /**
   * The server texts the code, and only when the user asks for it (a "Text me a code" button):
   * nothing is ever sent by itself.
   */
  sentOnRequest?: boolean;
}

const KINDS: Readonly<Record<string, FactorKindInfo>> = {
  totp: { label: 'Authenticator app', proof: 'code', codeHint: 'The 6-digit code the app shows now.' },
  hardware_token: {
    label: 'Hardware token',
    proof: 'code',
    codeHint: 'The code on the token’s display (press its button first if it has one).',
  },
  webauthn: { label: 'Passkey or security key', proof: 'webauthn', codeHint: '' },
  // A restricted authenticator (SIM swap, number porting): shown as weak wherever it appears.
  sms_otp: {
    label: 'Text message (SMS), weak',
    proof: 'code',
    codeHint: 'Press “Text me a code”, then type the 6-digit code sent to your phone (good for 5 minutes).',
    sentOnRequest: true,
  },
};

/** The console's facts for a kind. */
export function factorKind(kind: string): FactorKindInfo {
  return KINDS[kind] ?? { label: kind, proof: 'code', codeHint: 'The code your factor shows.' };
}

/** Whether the console can use a kind for sign-in and step-up today. */
export function usableForCode(kind: string): boolean {
  return factorKind(kind).proof === 'code' && kind in KINDS;
}

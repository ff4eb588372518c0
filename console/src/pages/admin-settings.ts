import { get, patch } from '../api.js';
import { describeAdminError, errorLine, durationWords } from '../admin-words.js';
import { append, busy, field, h, statusLine } from '../dom.js';
import type { PageContext } from '../router.js';
import { adminNav } from './admin-nav.js';

/** GET /v1/account/settings. */
interface AccountSettings {
  stepUpMaxAgeSeconds: number;
  stepUpMaxAgeCapSeconds: number;
  initialEnrolmentWindowSeconds: number;
  initialEnrolmentWindowCapSeconds: number;
  requireSecondApprover: boolean;
  smsOtpAllowed: boolean;
  mayAllowSms: boolean;
  webauthnAttestation: 'none' | 'direct';
  allowedAuthenticatorModels: number;
}

/** GET /v1/recovery/settings (the waits; absent: the 24-hour default). */
interface RecoverySettings {
  recoveryWaitSeconds?: number;
  userResetWaitSeconds?: number;
}

const MINUTE = 60;
const HOUR = 3_600;
const DAY = 86_400;
const STEP_UP_CHOICES = [1, 2, 5, 10, 15].map((m) => m * MINUTE);
const WINDOW_CHOICES = [0, HOUR, 4 * HOUR, DAY, 3 * DAY, 7 * DAY];
const RECOVERY_WAIT_CHOICES = [HOUR, 4 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 7 * DAY];
const USER_RESET_WAIT_CHOICES = [
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  4 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  3 * DAY,
  7 * DAY,
];
const DEFAULT_WAIT = DAY;

/** A select of durations; the current value is always among them and chosen. */
function durations(
  name: string,
  current: number,
  choices: number[],
  words = durationWords,
): HTMLSelectElement {
  const values = [...new Set([...choices, current])].sort((a, b) => a - b);
  return h(
    'select',
    { name },
    ...values.map((v) =>
      h(
        'option',
        { value: String(v), selected: v === current },
        `${words(v)}${v === current ? ' (now)' : ''}`,
      ),
    ),
  );
}

/**
 * Account settings: the values in force, and only the changes the API accepts. Step-up age,
 * enrolment window and the second approver only tighten here (loosening is the host operator's,
 * with the CLI); text-message codes are turned on by the owner alone, with a fresh second factor
 * (the step-up dialog asks for it). The reset waits move within their floors.
 */
export async function render(ctx: PageContext): Promise<void> {
  ctx.main.append(h('h1', {}, 'Account settings'), adminNav('/admin/settings'));
  let settings: AccountSettings;
  let recovery: RecoverySettings;
  try {
    [{ settings }, recovery] = await Promise.all([
      get<{ settings: AccountSettings }>('/v1/account/settings'),
      get<RecoverySettings>('/v1/recovery/settings'),
    ]);
  } catch (err) {
    ctx.main.append(errorLine(err));
    return;
  }
  const reload = () => ctx.navigate('/admin/settings?saved=1');
  append(ctx.main, [
    ctx.query.get('saved') === '1'
      ? h(
          'p',
          { class: 'status info', role: 'status', 'data-testid': 'saved' },
          'Saved. The values below are now in force.',
        )
      : null,
    security(settings, reload),
    passkeys(settings),
    waits(recovery, reload),
  ]);
}

function security(s: AccountSettings, reload: () => void): HTMLElement {
  const status = statusLine();
  const stepUp = durations(
    'stepUpMaxAgeSeconds',
    s.stepUpMaxAgeSeconds,
    STEP_UP_CHOICES.filter((v) => v <= s.stepUpMaxAgeSeconds),
  );
  const window = durations(
    'initialEnrolmentWindowSeconds',
    s.initialEnrolmentWindowSeconds,
    WINDOW_CHOICES.filter((v) => v <= s.initialEnrolmentWindowSeconds),
    (v) => (v === 0 ? 'None: a grant from the start' : durationWords(v)),
  );
  const approver = h('input', {
    type: 'checkbox',
    name: 'requireSecondApprover',
    id: 'require-second-approver',
    checked: s.requireSecondApprover,
    disabled: s.requireSecondApprover,
  });
  const smsAllowed = h('input', {
    type: 'checkbox',
    name: 'smsOtpAllowed',
    id: 'sms-otp-allowed',
    checked: s.smsOtpAllowed,
    // Turning it off is a tightening anyone here may make; turning it on is the owner's.
    disabled: !s.smsOtpAllowed && !s.mayAllowSms,
  });
  const form = h(
    'form',
    { 'data-testid': 'security-settings' },
    h(
      'p',
      { class: 'hint' },
      'These settings can only be made stricter here. Making one looser is for the host operator, with the holdfast command line on the server.',
    ),
    field(
      'Step-up age',
      stepUp,
      `How recently a second factor must have been checked before removing a factor or changing a contact. At most ${durationWords(s.stepUpMaxAgeCapSeconds)}; only shorter values are offered.`,
    ),
    field(
      'First-factor enrolment window',
      window,
      `How long a new person may add their first second factor without an enrolment grant. At most ${durationWords(s.initialEnrolmentWindowCapSeconds)}; only shorter values are offered.`,
    ),
    h(
      'div',
      { class: 'field' },
      h(
        'div',
        { class: 'choice' },
        approver,
        h('label', { for: approver.id }, 'Every help-desk reset needs a second approver'),
      ),
      h(
        'p',
        { class: 'hint' },
        s.requireSecondApprover
          ? 'On. Only the host operator can switch it off.'
          : 'Resets of owners and administrators always need one; this asks it for everyone.',
      ),
    ),
    h(
      'div',
      { class: 'field' },
      h(
        'div',
        { class: 'choice' },
        smsAllowed,
        h('label', { for: smsAllowed.id }, 'Allow codes by text message (SMS)'),
      ),
      h(
        'p',
        { class: 'hint' },
        s.smsOtpAllowed
          ? 'On. Text-message codes are weak (SIM swap, interception): switching them off stops new ones.'
          : s.mayAllowSms
            ? 'Off. Text-message codes are weak (SIM swap, interception). Turning them on asks you for a fresh second-factor check.'
            : 'Off. Only the account owner can turn them on.',
      ),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    const changes: Record<string, number | boolean> = {};
    if (Number(stepUp.value) !== s.stepUpMaxAgeSeconds) changes.stepUpMaxAgeSeconds = Number(stepUp.value);
    if (Number(window.value) !== s.initialEnrolmentWindowSeconds)
      changes.initialEnrolmentWindowSeconds = Number(window.value);
    if (approver.checked !== s.requireSecondApprover) changes.requireSecondApprover = approver.checked;
    if (smsAllowed.checked !== s.smsOtpAllowed) changes.smsOtpAllowed = smsAllowed.checked;
    if (Object.keys(changes).length === 0) {
      status.info('Nothing changed.');
      return;
    }
    void busy(form, async () => {
      try {
        await patch('/v1/account/settings', changes);
        reload();
      } catch (err) {
        status.error(describeAdminError(err));
      }
    });
  });
  return h(
    'section',
    { 'aria-labelledby': 'security-title' },
    h('h2', { id: 'security-title' }, 'Sign-in and enrolment'),
    form,
    status.el,
  );
}

function passkeys(s: AccountSettings): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': 'passkeys-title' },
    h('h2', { id: 'passkeys-title' }, 'Passkeys and security keys'),
    h(
      'dl',
      { class: 'facts', 'data-testid': 'passkey-settings' },
      h('dt', {}, 'Attestation asked at registration'),
      h(
        'dd',
        {},
        s.webauthnAttestation === 'direct'
          ? 'Direct: keys must prove their model'
          : 'None: any key is accepted without proof of its model',
      ),
      h('dt', {}, 'Allowed key models'),
      h(
        'dd',
        {},
        s.allowedAuthenticatorModels === 0
          ? 'Every model'
          : `${s.allowedAuthenticatorModels} allow-listed model${s.allowedAuthenticatorModels === 1 ? '' : 's'}`,
      ),
    ),
    h(
      'p',
      { class: 'hint' },
      'The host operator changes these with holdfast webauthn settings (see docs/webauthn.md).',
    ),
  );
}

function waits(r: RecoverySettings, reload: () => void): HTMLElement {
  const status = statusLine();
  const recoveryNow = r.recoveryWaitSeconds ?? DEFAULT_WAIT;
  const userNow = Math.min(recoveryNow, r.userResetWaitSeconds ?? recoveryNow);
  const recovery = durations('recoveryWaitSeconds', recoveryNow, RECOVERY_WAIT_CHOICES);
  const user = durations(
    'userResetWaitSeconds',
    userNow,
    USER_RESET_WAIT_CHOICES.filter((v) => v <= recoveryNow),
  );
  const form = h(
    'form',
    { 'data-testid': 'reset-waits' },
    field(
      'Wait of self-service recovery and of resets of owners and administrators',
      recovery,
      'At least 1 hour, at most 7 days. During the wait the person and every owner and administrator can cancel.',
    ),
    field(
      'Wait of a help-desk reset of a user',
      user,
      'At least 15 minutes, never longer than the wait above.',
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save waits')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      try {
        await patch('/v1/recovery/settings', {
          recoveryWaitSeconds: Number(recovery.value),
          userResetWaitSeconds: Math.min(Number(user.value), Number(recovery.value)),
        });
        reload();
      } catch (err) {
        status.error(describeAdminError(err));
      }
    });
  });
  return h(
    'section',
    { 'aria-labelledby': 'waits-title' },
    h('h2', { id: 'waits-title' }, 'Reset and recovery waits'),
    form,
    status.el,
  );
}

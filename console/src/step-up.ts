import { get, isApiError, onStepUpRequired, post } from './api.js';
import { busy, field, focusLater, h, statusLine } from './dom.js';
import { factorKind, usableForCode } from './factor-kinds.js';
import { describeError } from './messages.js';
import type { Factor, Session } from './types.js';

let pending: Promise<boolean> | null = null;

/**
 * Opens the step-up dialog: the user picks one of their enabled factors and types its code;
 * POST /v1/session/step-up refreshes the session's MFA. Resolves true on success, false when the
 * user cancels. Calls that arrive while the dialog is open wait for the same answer.
 */
export function requestStepUp(): Promise<boolean> {
  pending ??= openDialog().finally(() => {
    pending = null;
  });
  return pending;
}

async function openDialog(): Promise<boolean> {
  let factors: Factor[];
  let keys: Factor[];
  try {
    const answer = await get<{ factors: Factor[] }>('/v1/factors', { noStepUp: true });
    const enabled = answer.factors.filter((f) => f.status === 'enabled');
    factors = enabled.filter((f) => usableForCode(f.kind));
    keys = enabled.filter((f) => factorKind(f.kind).proof === 'webauthn');
  } catch {
    factors = [];
    keys = [];
  }

  return new Promise<boolean>((resolve) => {
    const status = statusLine();
    const titleId = 'step-up-title';
    const select = h(
      'select',
      { name: 'factorId', required: true },
      ...factors.map((f) => h('option', { value: f.id }, `${f.name} (${factorKind(f.kind).label})`)),
    );
    const code = h('input', {
      name: 'code',
      type: 'text',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      required: true,
      maxlength: 16,
      pattern: '[0-9 ]*',
    });
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    // Text-message factors: the code is sent only when the user presses this button.
    const sendButton = h(
      'button',
      { type: 'button', class: 'secondary', 'data-testid': 'step-up-send-code' },
      'Text me a code',
    );
    const sentOnRequest = () =>
      factorKind(factors.find((f) => f.id === select.value)?.kind ?? '').sentOnRequest === true;
    sendButton.hidden = !sentOnRequest();
    select.addEventListener('change', () => {
      sendButton.hidden = !sentOnRequest();
    });
    // Passkeys and security keys answer with a browser ceremony instead of a code.
    const keyButton = h(
      'button',
      { type: 'button', 'data-testid': 'step-up-webauthn' },
      'Use a passkey or security key',
    );
    const keyStatus = statusLine();
    const keyBlock =
      keys.length === 0
        ? null
        : h('div', { class: 'actions', 'data-slot': 'webauthn' }, keyButton, keyStatus.el);
    const form = h(
      'form',
      { method: 'dialog' },
      field('Factor', select),
      field('Code', code, 'A code your factor shows now (not one you already used).'),
      status.el,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Verify'), sendButton, cancel),
    );
    const dialog = h(
      'dialog',
      { class: 'step-up', 'aria-labelledby': titleId, 'data-testid': 'step-up-dialog' },
      h('h2', { id: titleId }, 'Confirm it is you'),
      h('p', {}, 'This change needs a recent second-factor check. Enter a code from one of your factors.'),
      keyBlock,
      factors.length === 0 && keys.length === 0
        ? h(
            'p',
            { class: 'status error', role: 'alert' },
            'You have no enabled factor that this console can check.',
          )
        : null,
      factors.length === 0 ? null : form,
      factors.length === 0 ? h('div', { class: 'actions' }, cancel) : null,
    );

    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      dialog.close();
      dialog.remove();
      resolve(ok);
    };
    cancel.addEventListener('click', () => finish(false));
    sendButton.addEventListener('click', () => {
      status.clear();
      void busy(form, async () => {
        try {
          const sent = await post<{ sentTo: string }>(
            '/v1/session/step-up/challenge',
            { factorId: select.value },
            { noStepUp: true },
          );
          status.info(`Code sent to ${sent.sentTo}.`);
        } catch (err) {
          status.error(describeError(err));
        }
      }).then(() => focusLater(code));
    });
    keyButton.addEventListener('click', () => {
      keyStatus.clear();
      void (async () => {
        try {
          const { stepUpWithKey } = await import('./webauthn.js');
          await stepUpWithKey();
          finish(true);
        } catch (err) {
          keyStatus.error(describeError(err));
          if (isApiError(err, 'AUTH_SESSION_INVALID', 'AUTH_SESSION_REQUIRED')) finish(false);
        }
      })();
    });
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      status.clear();
      void busy(form, async () => {
        try {
          await post<{ session: Session }>(
            '/v1/session/step-up',
            { factorId: select.value, code: code.value.replace(/\s/g, '') },
            { noStepUp: true },
          );
          finish(true);
        } catch (err) {
          status.error(describeError(err));
          if (isApiError(err, 'AUTH_SESSION_INVALID', 'AUTH_SESSION_REQUIRED')) finish(false);
        }
      }).then(() => {
        if (!settled) focusLater(code);
      });
    });

    document.body.append(dialog);
    dialog.showModal();
    (factors.length === 0 ? (keys.length > 0 ? keyButton : cancel) : code).focus();
  });
}

/** Routes every MFA_STEP_UP_REQUIRED answer through the dialog. */
export function installStepUp(): void {
  onStepUpRequired(requestStepUp);
}

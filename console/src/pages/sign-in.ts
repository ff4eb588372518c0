import { post } from '../api.js';
import { busy, field, focusLater, h, statusLine } from '../dom.js';
import { factorKind, usableForCode } from '../factor-kinds.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import { loadSession } from '../session.js';
import type { OfferedFactor, SignInAnswer } from '../types.js';

/** Where to go after sign-in: only console paths of this origin (never an open redirect). */
function nextPath(query: URLSearchParams): string {
  const next = query.get('next');
  return next !== null && /^\/(?!\/)[A-Za-z0-9/_-]*$/.test(next) ? next : '/security';
}

/** Sign-in: account, user name or e-mail and password; then a second factor when asked. */
export function render(ctx: PageContext): void {
  const status = statusLine();
  const account = h('input', {
    name: 'account',
    type: 'text',
    autocomplete: 'organization',
    required: true,
    maxlength: 63,
  });
  const login = h('input', {
    name: 'login',
    type: 'text',
    autocomplete: 'username',
    required: true,
    maxlength: 254,
  });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    maxlength: 1024,
  });
  const remembered = window.localStorage.getItem('holdfast.account');
  if (remembered) account.value = remembered;
  const form = h(
    'form',
    { 'aria-labelledby': 'sign-in-title' },
    field('Account', account, 'Your 12-digit account id or the account name.'),
    field('User name or e-mail', login),
    field('Password', password),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')),
  );
  // Passwordless: the browser offers the passkeys it holds for this site (account named above).
  const passkeyButton = h(
    'button',
    { type: 'button', class: 'secondary', 'data-testid': 'passkey-sign-in' },
    'Sign in with a passkey',
  );
  const passkeyBlock = h('div', { class: 'actions passkey', 'data-slot': 'webauthn' }, passkeyButton);
  // The ways back in when something is lost: both lead through the existing recovery flows.
  const help = h(
    'nav',
    { class: 'sign-in-help', 'aria-label': 'Trouble signing in' },
    h(
      'ul',
      {},
      h('li', {}, h('a', { href: '/recover/password', 'data-link': true }, 'Forgot password?')),
      h('li', {}, h('a', { href: '/recover/second-factor', 'data-link': true }, 'Lost your second factor?')),
    ),
  );
  const section = h('section', {}, form, passkeyBlock, help, status.el);
  ctx.main.append(h('h1', { id: 'sign-in-title' }, 'Sign in'), section);
  if (ctx.query.get('ended') === 'factor-removed') {
    status.info(
      'The factor was removed. This session had been verified with it, so it ended: sign in again with another factor or a recovery code.',
    );
  }

  const done = async (answer: SignInAnswer & { status: 'signed_in' }) => {
    await loadSession();
    const remaining = answer.recoveryCodesRemaining;
    const next = nextPath(ctx.query);
    ctx.navigate(
      typeof remaining === 'number'
        ? `/security?recoveryUsed=${remaining}`
        : answer.reviewFactors
          ? '/security'
          : next,
    );
  };

  passkeyButton.addEventListener('click', () => {
    status.clear();
    if (account.value.trim() === '') {
      status.error('Enter your account first.');
      focusLater(account);
      return;
    }
    void busy(section, async () => {
      try {
        const { signInWithPasskey } = await import('../webauthn.js');
        const answer = await signInWithPasskey(account.value.trim());
        window.localStorage.setItem('holdfast.account', account.value.trim());
        if (answer.status === 'signed_in') await done(answer);
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      try {
        const answer = await post<SignInAnswer>('/v1/sign-in', {
          account: account.value.trim(),
          login: login.value.trim(),
          password: password.value,
          session: 'cookie',
        });
        window.localStorage.setItem('holdfast.account', account.value.trim());
        password.value = '';
        if (answer.status === 'signed_in') return done(answer);
        passkeyBlock.remove();
        section.replaceChildren(secondFactorForm(answer, done));
        section.querySelector<HTMLElement>('h2')?.focus();
      } catch (err) {
        status.error(describeError(err));
        focusLater(password);
      }
    });
  });
}

function secondFactorForm(
  flow: SignInAnswer & { status: 'second_factor_required' },
  done: (answer: SignInAnswer & { status: 'signed_in' }) => Promise<void>,
): HTMLElement {
  const status = statusLine();
  const usable = flow.factors.filter((f) => usableForCode(f.kind));
  const ceremonies = flow.factors.filter((f) => factorKind(f.kind).proof === 'webauthn');
  const choices: Array<{ value: string; label: string; hint: string; kind: string }> = usable.map(
    (f: OfferedFactor) => ({
      value: f.id,
      label: `${f.name} — ${factorKind(f.kind).label}`,
      hint: factorKind(f.kind).codeHint,
      kind: f.kind,
    }),
  );
  if (flow.recoveryCodes) {
    choices.push({
      value: 'recovery',
      label: 'Recovery code',
      hint: 'One of the recovery codes you saved; each works once.',
      kind: 'recovery',
    });
  }
  const code = h('input', {
    name: 'code',
    type: 'text',
    autocomplete: 'one-time-code',
    required: true,
    maxlength: 32,
    spellcheck: 'false',
  });
  const codeHint = h('p', { class: 'hint', id: 'second-factor-code-hint' });
  code.setAttribute('aria-describedby', codeHint.id);
  const codeLabel = h('label', { for: 'second-factor-code' }, 'Code');
  code.id = 'second-factor-code';
  const radios = choices.map((choice, i) => {
    const input = h('input', {
      type: 'radio',
      name: 'factor',
      value: choice.value,
      id: `factor-choice-${i}`,
      checked: i === 0,
    });
    input.addEventListener('change', () => pick(choice));
    return h('div', { class: 'choice' }, input, h('label', { for: input.id }, choice.label));
  });
  // Text-message factors: the code is sent only when the user presses this button.
  const sendButton = h(
    'button',
    { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'send-code' },
    'Text me a code',
  );
  sendButton.addEventListener('click', () => {
    const chosen = form.querySelector<HTMLInputElement>('input[name="factor"]:checked')?.value;
    if (!chosen || chosen === 'recovery') return;
    status.clear();
    void busy(form, async () => {
      try {
        const sent = await post<{ sentTo: string }>('/v1/sign-in/challenge', {
          flowId: flow.flowId,
          factorId: chosen,
        });
        status.info(`Code sent to ${sent.sentTo}.`);
        focusLater(code);
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
  const pick = (choice: (typeof choices)[number]) => {
    sendButton.hidden = factorKind(choice.kind).sentOnRequest !== true;
    codeHint.textContent = choice.hint;
    codeLabel.textContent = choice.kind === 'recovery' ? 'Recovery code' : 'Code';
    code.inputMode = choice.kind === 'recovery' ? 'text' : 'numeric';
  };
  if (choices[0]) pick(choices[0]);

  const form = h(
    'form',
    {},
    h('fieldset', {}, h('legend', {}, 'Choose how to confirm'), ...radios),
    // Passkeys and security keys (WebAuthn) sign in with a browser ceremony instead of a code;
    // their buttons belong in this slot.
    h('div', { class: 'field', hidden: choices.length === 0 }, codeLabel, code, codeHint, sendButton),
    h('div', { class: 'actions', hidden: choices.length === 0 }, h('button', { type: 'submit' }, 'Continue')),
  );
  // Passkeys and security keys (WebAuthn) answer with a browser ceremony instead of a code: one
  // button, since the browser offers every key of the user it finds.
  const keyButton = h(
    'button',
    { type: 'button', 'data-testid': 'webauthn-second-factor' },
    'Use a passkey or security key',
  );
  const keyBlock = h(
    'div',
    { class: 'ceremonies', 'data-slot': 'webauthn', hidden: ceremonies.length === 0 },
    h('p', { class: 'hint' }, ceremonies.map((f) => f.name).join(', ')),
    h('div', { class: 'actions' }, keyButton),
  );
  keyButton.addEventListener('click', () => {
    status.clear();
    void busy(keyBlock, async () => {
      try {
        const { signInSecondFactor } = await import('../webauthn.js');
        const answer = await signInSecondFactor(flow.flowId);
        if (answer.status === 'signed_in') await done(answer);
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    const chosen = form.querySelector<HTMLInputElement>('input[name="factor"]:checked')?.value;
    if (!chosen) {
      status.error('Choose a factor first.');
      return;
    }
    const value = code.value.trim();
    const body =
      chosen === 'recovery'
        ? { flowId: flow.flowId, recoveryCode: value }
        : { flowId: flow.flowId, factorId: chosen, code: value.replace(/\s/g, '') };
    void busy(form, async () => {
      try {
        const answer = await post<SignInAnswer>('/v1/sign-in/second-factor', body);
        if (answer.status === 'signed_in') await done(answer);
      } catch (err) {
        status.error(describeError(err));
        code.value = '';
        focusLater(code);
      }
    });
  });
  return h(
    'div',
    {},
    h('h2', { tabindex: -1 }, 'Second factor'),
    choices.length === 0 && ceremonies.length === 0
      ? h(
          'p',
          { class: 'status error', role: 'alert' },
          'None of your factors can be used in this console. Ask an administrator.',
        )
      : h('p', {}, 'Your password was accepted. Confirm with one of your factors.'),
    keyBlock,
    choices.length === 0 ? null : form,
    status.el,
  );
}

import { post } from '../api.js';
import { busy, field, h, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';

/**
 * The ways back in from the sign-in page, through the existing recovery flows:
 * - a forgotten password: a reset link by e-mail (POST /v1/password-reset/start); the second
 *   factor is still asked at the next sign-in;
 * - a lost second factor: a recovery code at sign-in if the person kept one; otherwise recovery
 *   by e-mail link plus phone code and a waiting period during which every verified channel and
 *   the administrators are told and can cancel (POST /v1/recovery/start).
 * Both answers are the same whether or not the account and user exist (no enumeration).
 */
export async function render(ctx: PageContext): Promise<void> {
  const lostFactor = ctx.params.what === 'second-factor';
  const account = h('input', { type: 'text', name: 'account', autocomplete: 'organization', required: true });
  const login = h('input', { type: 'text', name: 'login', autocomplete: 'username', required: true });
  const remembered = window.localStorage.getItem('holdfast.account');
  if (remembered) account.value = remembered;
  const status = statusLine();
  const form = h(
    'form',
    { 'aria-labelledby': 'recover-title' },
    field('Account', account, 'Your 12-digit account id or the account name.'),
    field('User name or e-mail', login),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, lostFactor ? 'Start recovery' : 'E-mail me a reset link'),
    ),
  );
  const done = h('div', { 'aria-live': 'polite', 'data-testid': 'recover-result' });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      try {
        await post(lostFactor ? '/v1/recovery/start' : '/v1/password-reset/start', {
          account: account.value.trim(),
          login: login.value.trim(),
        });
        form.hidden = true;
        done.replaceChildren(
          h(
            'p',
            { class: 'status success' },
            lostFactor
              ? 'If this account and user exist and have a verified e-mail address, a recovery e-mail is on its way. Open its link; it asks for the code sent to your phone. A waiting period follows, during which you and your administrators are told and anyone can cancel it. After it you can add a new factor.'
              : 'If this account and user exist, a reset link is on its way to the e-mail address on file. It works once, for one hour. Your second factor is still needed when you sign in.',
          ),
          h('p', {}, h('a', { href: '/sign-in', 'data-link': true }, 'Back to sign-in')),
        );
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
  ctx.main.append(
    h('h1', { id: 'recover-title' }, lostFactor ? 'Lost your second factor?' : 'Forgot your password?'),
    lostFactor
      ? h(
          'div',
          {},
          h(
            'p',
            {},
            'If you kept your recovery codes, you do not need this: sign in with your password and choose “Recovery code”. Then add a new factor and remove the lost one.',
          ),
          h(
            'p',
            {},
            'Without a recovery code, Holdfast recovers your account through your e-mail and your phone, after a waiting period. Your administrators can also reset your second factors for you.',
          ),
        )
      : h('p', {}, 'Enter your account and user name: we e-mail you a link to choose a new password.'),
    form,
    status.el,
    done,
    h('p', {}, h('a', { href: '/sign-in', 'data-link': true }, 'Back to sign-in')),
  );
}

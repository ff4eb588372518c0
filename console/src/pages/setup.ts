import { ApiError, post } from '../api.js';
import { busy, field, h, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';

/** Who the setup link is for, as POST /v1/setup/inspect answers. */
interface SetupFor {
  account: { name: string };
  user: { email: string; username: string };
  expiresAt: string;
}

/** Shortest password the server accepts (its own check decides; this only helps the person). */
const MIN_PASSWORD = 12;

/**
 * The page a one-time setup link opens (`/setup#token=…`). The token travels in the fragment,
 * which browsers never send to a server, and leaves the address bar at once. The page says which
 * account and person the link sets up, then takes the new password.
 */
export async function render(ctx: PageContext): Promise<void> {
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token');
  // The token must not stay in the address bar, the history or a bookmark.
  window.history.replaceState(null, '', window.location.pathname);
  const title = h('h1', {}, 'Set your password');
  const status = statusLine();
  const invalid = (words: string) => {
    ctx.main.append(
      title,
      h('p', { class: 'status error', role: 'alert' }, words),
      h('p', {}, h('a', { href: '/sign-in', 'data-link': true }, 'Go to sign-in')),
    );
  };
  if (token === null || token === '') {
    invalid('This link has no setup token. Ask your administrator for a new link.');
    return;
  }
  let who: SetupFor;
  try {
    who = await post<SetupFor>('/v1/setup/inspect', { token });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'AUTH_SETUP_TOKEN_INVALID') {
      invalid('This setup link is used or expired. Ask your administrator for a new one.');
      return;
    }
    throw err;
  }

  const password = h('input', {
    name: 'password',
    id: 'password',
    type: 'password',
    autocomplete: 'new-password',
    required: true,
    minlength: MIN_PASSWORD,
    maxlength: 256,
  });
  const confirm = h('input', {
    name: 'confirm',
    id: 'confirm',
    type: 'password',
    autocomplete: 'new-password',
    required: true,
    maxlength: 256,
  });
  const username = h('input', {
    name: 'username',
    type: 'text',
    autocomplete: 'username',
    value: who.user.email,
    readonly: true,
    hidden: true,
  });
  const form = h(
    'form',
    { 'aria-labelledby': 'setup-for' },
    username,
    field(
      'New password',
      password,
      `At least ${MIN_PASSWORD} characters (more if your administrator asks for it). A long phrase is easiest to remember.`,
    ),
    field('Repeat it', confirm),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Set password')),
  );
  const next = h(
    'p',
    { hidden: true, 'data-slot': 'next' },
    'Next: ',
    h('a', { href: '/sign-in', 'data-link': true }, 'sign in'),
    ` to account ${who.account.name} as ${who.user.email}, then add a second factor.`,
  );
  ctx.main.append(
    title,
    h(
      'p',
      { id: 'setup-for', 'data-testid': 'setup-for' },
      'For ',
      h('strong', {}, who.user.email),
      who.user.username === who.user.email ? '' : ` (user name ${who.user.username})`,
      ' in the account ',
      h('strong', {}, who.account.name),
      `. This link works once, until ${new Date(who.expiresAt).toLocaleString()}.`,
    ),
    form,
    status.el,
    next,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (password.value !== confirm.value) {
      status.error('The two passwords differ.');
      return;
    }
    void busy(form, async () => {
      try {
        await post('/v1/setup', { token, password: password.value });
        form.hidden = true;
        status.info('Your password is set. You can now sign in.');
        // The sign-in page starts with this account filled in.
        window.localStorage.setItem('holdfast.account', who.account.name);
        next.hidden = false;
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
}

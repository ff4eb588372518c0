/**
 * The page a one-time setup link opens. The token travels in the URL fragment, which browsers
 * never send to servers, so it stays out of access logs; the page's script (served from
 * /assets/setup.js, no inline script under the CSP) reads it and posts it with the password.
 */
export const SETUP_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Set your Holdfast password</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem}:focus{outline:3px solid #1a73e8}
#status{margin-top:1rem}</style>
<script src="/assets/setup.js" defer></script>
</head><body><main>
<h1>Set your password</h1>
<p id="rule">Choose a password of at least 12 characters (more if your administrator asks for it). A long phrase is easiest to remember.</p>
<form id="setup">
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="256" aria-describedby="rule">
<label for="confirm">Repeat it</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
<button type="submit">Set password</button>
</form>
<p id="status" role="status" aria-live="polite"></p>
<p id="next" hidden>Next: <a href="/sign-in">sign in</a> with your account name, your user name or e-mail address and this password, then add a second factor.</p>
<p><a href="/sign-in">Go to sign-in</a></p>
</main></body></html>`;

/** The setup page's script. */
export const SETUP_SCRIPT = `'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('setup');
  const status = document.getElementById('status');
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  history.replaceState(null, '', location.pathname);
  if (!token) { status.textContent = 'This link has no setup token. Ask your administrator for a new link.'; form.hidden = true; return; }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const password = form.password.value;
    if (password !== form.confirm.value) { status.textContent = 'The two passwords differ.'; return; }
    status.textContent = 'Saving…';
    const res = await fetch('/v1/setup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password }) });
    if (res.ok) { form.hidden = true; status.textContent = 'Your password is set. You can now sign in.'; document.getElementById('next').hidden = false; return; }
    const body = await res.json().catch(() => ({}));
    const code = body.error ? body.error.code : 'REQUEST_FAILED';
    const messages = {
      PASSWORD_TOO_SHORT: 'That password is too short.',
      PASSWORD_TOO_COMMON: 'That password is too common or easy to guess; choose another.',
      PASSWORD_TOO_LONG: 'That password is too long.',
      AUTH_SETUP_TOKEN_INVALID: 'This setup link is used or expired. Ask your administrator for a new one.',
    };
    status.textContent = messages[code] || ('The password could not be set (' + code + ').');
  });
});
`;

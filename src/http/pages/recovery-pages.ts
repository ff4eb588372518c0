/**
 * The small server-rendered pages that links in recovery messages open. A GET only shows a page
 * (mail scanners that prefetch links change nothing); the page's button POSTs the token back.
 * No script is needed, so the pages work under the strict CSP with JavaScript off.
 */

/** Escapes text for HTML. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — Holdfast</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font-size:1rem}
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}:focus{outline:3px solid #1a73e8}
.danger{background:#b3261e;color:#fff;border:0;border-radius:4px}</style>
</head><body><main>
<h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`;
}

const hidden = (token: string) => `<input type="hidden" name="token" value="${escapeHtml(token)}">`;

/** The "this was not me — cancel" page. */
export function cancelPage(
  token: string,
  info: { requestKind: string | null; username: string | null } | null,
): string {
  if (info === null) return invalidPage();
  const what = info.requestKind === 'helpdesk' ? 'MFA reset' : 'account recovery';
  return page(
    `Cancel the ${what}`,
    `<p>A pending ${what} of <strong>${escapeHtml(info.username ?? 'this account')}</strong> will remove its second factors when its waiting period ends.</p>
<p>If you did not ask for it, or do not expect it, stop it now. Cancelling never changes anything else.</p>
<form method="post" action="/recovery/cancel">${hidden(token)}
<button type="submit" class="danger" name="confirm" value="yes">This was not me — cancel it</button></form>`,
  );
}

/** The page that asks for the phone code of a self-service recovery. */
export function verifyRecoveryPage(token: string, valid: boolean): string {
  if (!valid) return invalidPage();
  return page(
    'Recover your account',
    `<p>Enter the code we sent to your phone. Together with this link it proves you control both.</p>
<form method="post" action="/recovery/verify">${hidden(token)}
<label for="code">Code from your phone</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="12">
<button type="submit">Continue</button></form>`,
  );
}

/** The page confirming a new e-mail address. */
export function verifyContactPage(token: string, valid: boolean): string {
  if (!valid) return invalidPage();
  return page(
    'Confirm your e-mail address',
    `<p>Confirm that this address receives messages for your Holdfast account.</p>
<form method="post" action="/contacts/verify">${hidden(token)}<button type="submit">Confirm</button></form>`,
  );
}

/** The page that sets a new password from a reset link. */
export function passwordResetPage(token: string, valid: boolean): string {
  if (!valid) return invalidPage();
  return page(
    'Set a new password',
    `<p>Your second factor is still needed to sign in afterwards. Every session ends.</p>
<form method="post" action="/password-reset">${hidden(token)}
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="256">
<button type="submit">Set password</button></form>`,
  );
}

/** A result page. */
export function donePage(title: string, text: string): string {
  return page(title, `<p role="status">${escapeHtml(text)}</p>`);
}

/** The page for an unknown, used or expired link. */
export function invalidPage(): string {
  return page('This link is not valid', '<p>The link is unknown, already used or expired.</p>');
}

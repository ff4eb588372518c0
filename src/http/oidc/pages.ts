/**
 * The provider's own pages (errors, logout, the device grant's code entry): plain HTML with no
 * script, styled inline, so they hold under the server's Content-Security-Policy. The library
 * hands over its forms (with their anti-forgery fields) as HTML; everything else is escaped.
 */

/** HTML-escapes text. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1d2430}
h1{font-size:1.4rem}button,input{font-size:1rem;padding:.5rem .8rem;margin:.3rem .3rem .3rem 0}
.muted{color:#5b6472}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Holdfast</title><style>${STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/** An OAuth/OpenID Connect error shown to the user (RFC 6749 §4.1.2.1 when it cannot go back to the client). */
export function renderErrorPage(error: string, description: string): string {
  return page('Sign-in failed', `<p><code>${escapeHtml(error)}</code></p><p>${escapeHtml(description)}</p>`);
}

/** RP-initiated logout: confirm (OpenID Connect RP-Initiated Logout 1.0 §2). */
export function renderLogoutPage(form: string): string {
  return page(
    'Sign out',
    `${form}<p>Sign out of Holdfast and the application?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
  );
}

/** After RP-initiated logout without a registered place to return to. */
export function renderLoggedOutPage(): string {
  return page('Signed out', '<p>You are signed out. You can close this window.</p>');
}

/** The device grant's code entry (RFC 8628 §3.3). */
export function renderDeviceInput(form: string, problem: string | null): string {
  return page(
    'Connect a device',
    `${problem === null ? '' : `<p role="alert">${escapeHtml(problem)}</p>`}
<p>Enter the code the device shows.</p>${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

/** The device grant's confirmation: the user checks the code and the application (RFC 8628 §5.4). */
export function renderDeviceConfirm(form: string, clientName: string, userCode: string): string {
  return page(
    'Connect a device',
    `<p><strong>${escapeHtml(clientName)}</strong> asks to sign in as you.</p>
<p>Only continue if the device shows the code <code>${escapeHtml(userCode)}</code>.</p>${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Cancel</button>`,
  );
}

/** The device grant succeeded. */
export function renderDeviceSuccess(): string {
  return page('Device connected', '<p>The device is signed in. You can close this window.</p>');
}

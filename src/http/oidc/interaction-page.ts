/**
 * The sign-in page of an OpenID Connect authorization: Holdfast's own sign-in (password, then the
 * user's choice of factor: a code, a recovery code, a passkey or security key), a step-up when
 * the application asks for more than the session has, and the consent screen. The page talks
 * only to the JSON API (/v1) and to its interaction (same origin, so the session cookie, which is
 * SameSite=Strict, goes with it); when the interaction is done it follows the redirect to the
 * application. No inline script: the script is served from /oidc-assets/interaction.js.
 */

/** The page (same for every interaction: the script reads the interaction id from the path). */
export const INTERACTION_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign in · Holdfast</title>
<style>
body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1d2430}
h1{font-size:1.4rem} label{display:block;margin:.6rem 0 .2rem} input{font-size:1rem;padding:.45rem;width:100%;box-sizing:border-box}
button{font-size:1rem;padding:.5rem .9rem;margin:.6rem .4rem 0 0} .muted{color:#5b6472} [role=alert]{color:#a01919}
ul{padding-left:1.2rem}
</style></head>
<body><main id="app"><p class="muted">Loading…</p></main>
<script src="/oidc-assets/interaction.js"></script></body></html>`;

/** The page's script (plain ES2020, no dependencies). */
export const INTERACTION_SCRIPT = String.raw`'use strict';
(function () {
  var uid = location.pathname.split('/')[3];
  var base = '/oidc/interaction/' + encodeURIComponent(uid);
  var app = document.getElementById('app');
  var state = null;

  function csrf() {
    var m = document.cookie.match(/(?:^|; )holdfast_csrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : '';
  }
  async function call(method, path, body) {
    var headers = { 'x-csrf-token': csrf() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    var res = await fetch(path, { method: method, headers: headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body) });
    var text = await res.text();
    var data = text ? JSON.parse(text) : null;
    if (!res.ok) { var e = new Error((data && data.error && data.error.message) || res.statusText);
      e.code = data && data.error && data.error.code; throw e; }
    return data;
  }
  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === 'text') n.textContent = attrs[k]; else n.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { n.appendChild(c); });
    return n;
  }
  function show(title, nodes) {
    app.replaceChildren(el('h1', { text: title }), ...nodes);
    var first = app.querySelector('input'); if (first) first.focus();
  }
  function problem(err) {
    var p = el('p', { role: 'alert', id: 'problem', text: err.message + (err.code ? ' (' + err.code + ')' : '') });
    var old = document.getElementById('problem'); if (old) old.remove();
    app.appendChild(p);
  }
  function form(fields, label, onSubmit, extra) {
    var f = el('form', {}, fields.concat([el('button', { type: 'submit', text: label })], extra || []));
    f.addEventListener('submit', function (ev) { ev.preventDefault();
      onSubmit(new FormData(f)).catch(problem); });
    return f;
  }
  function field(name, label, type, auto) {
    return el('div', {}, [el('label', { for: name, text: label }),
      el('input', { id: name, name: name, type: type, autocomplete: auto || 'off', required: '' })]);
  }

  function b64uToBuf(s) { s = s.replace(/-/g, '+').replace(/_/g, '/'); while (s.length % 4) s += '=';
    var b = atob(s), a = new Uint8Array(b.length); for (var i = 0; i < b.length; i++) a[i] = b.charCodeAt(i); return a.buffer; }
  function bufToB64u(buf) { var b = '', a = new Uint8Array(buf); for (var i = 0; i < a.length; i++) b += String.fromCharCode(a[i]);
    return btoa(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); }
  async function assertion(options) {
    var pk = Object.assign({}, options, { challenge: b64uToBuf(options.challenge),
      allowCredentials: (options.allowCredentials || []).map(function (c) { return Object.assign({}, c, { id: b64uToBuf(c.id) }); }) });
    var cred = await navigator.credentials.get({ publicKey: pk });
    var r = cred.response;
    return { id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type,
      response: { clientDataJSON: bufToB64u(r.clientDataJSON), authenticatorData: bufToB64u(r.authenticatorData),
        signature: bufToB64u(r.signature), userHandle: r.userHandle ? bufToB64u(r.userHandle) : undefined },
      clientExtensionResults: cred.getClientExtensionResults(), authenticatorAttachment: cred.authenticatorAttachment || undefined };
  }

  var LEVELS = ['recovery_code', 'restricted_otp', 'software_otp', 'hardware_otp', 'synced_passkey', 'device_bound_key', 'attested_hardware_key'];
  var LABELS = { recovery_code: 'any second factor', restricted_otp: 'a text-message code or better',
    software_otp: 'an authenticator app or better', hardware_otp: 'a hardware token or better',
    synced_passkey: 'a passkey or security key (phishing resistant)', device_bound_key: 'a device-bound security key',
    attested_hardware_key: 'an attested hardware security key' };

  function signIn() {
    show('Sign in to ' + state.client.name, [
      el('p', { class: 'muted', text: 'with your ' + state.account.name + ' account on Holdfast' }),
      form([field('login', 'E-mail or user name', 'text', 'username'), field('password', 'Password', 'password', 'current-password')],
        'Continue', async function (data) {
          var res = await call('POST', '/v1/sign-in', { account: state.account.id, login: data.get('login'),
            password: data.get('password'), session: 'cookie' });
          if (res.status === 'second_factor_required') return chooseFactor(res);
          return refresh();
        })]);
  }
  function chooseFactor(res) {
    var items = res.factors.map(function (f) {
      var b = el('button', { type: 'button', 'data-factor': f.id, 'data-kind': f.kind, text: f.name + ' (' + f.kind + ')' });
      b.addEventListener('click', function () { (f.kind === 'webauthn' ? webauthnSignIn(res) : codeSignIn(res, f)).catch(problem); });
      return el('li', {}, [b]);
    });
    if (res.recoveryCodes) { var rb = el('button', { type: 'button', 'data-kind': 'recovery', text: 'Use a recovery code' });
      rb.addEventListener('click', function () { recoverySignIn(res); }); items.push(el('li', {}, [rb])); }
    show('Second factor', [el('p', { text: 'Choose how to confirm it is you.' }), el('ul', {}, items)]);
  }
  async function codeSignIn(res, f) {
    show('Second factor', [form([field('code', 'Code from ' + f.name, 'text', 'one-time-code')], 'Verify', async function (data) {
      await call('POST', '/v1/sign-in/second-factor', { flowId: res.flowId, factorId: f.id, code: String(data.get('code')).trim() });
      return refresh();
    })]);
  }
  function recoverySignIn(res) {
    show('Recovery code', [form([field('code', 'Recovery code', 'text')], 'Verify', async function (data) {
      await call('POST', '/v1/sign-in/second-factor', { flowId: res.flowId, recoveryCode: String(data.get('code')).trim() });
      return refresh();
    })]);
  }
  async function webauthnSignIn(res) {
    var c = await call('POST', '/v1/sign-in/second-factor/webauthn/options', { flowId: res.flowId });
    var credential = await assertion(c.options);
    await call('POST', '/v1/sign-in/second-factor/webauthn', { flowId: res.flowId, challengeId: c.challengeId, credential: credential });
    return refresh();
  }

  async function stepUp() {
    var need = LEVELS.indexOf(state.requiredAssurance);
    var mine = await call('GET', '/v1/factors');
    var fit = mine.factors.filter(function (f) { return f.status === 'enabled' && LEVELS.indexOf(f.assurance) >= need; });
    var text = state.currentAssurance !== null && LEVELS.indexOf(state.currentAssurance) >= need
      ? 'Your last second factor is older than ' + state.client.name + ' accepts. Confirm again.'
      : state.client.name + ' requires ' + (LABELS[state.requiredAssurance] || state.requiredAssurance) + '.';
    var items = fit.map(function (f) {
      var b = el('button', { type: 'button', 'data-factor': f.id, 'data-kind': f.kind, text: f.name + ' (' + f.kind + ')' });
      b.addEventListener('click', function () { (f.kind === 'webauthn' ? webauthnStepUp() : codeStepUp(f)).catch(problem); });
      return el('li', {}, [b]);
    });
    show('Confirm it is you', [el('p', { text: text }),
      items.length ? el('ul', {}, items) : el('p', { role: 'alert', text: 'None of your factors is strong enough. Add one in the Holdfast console.' }),
      cancelButton()]);
  }
  function codeStepUp(f) {
    show('Confirm it is you', [form([field('code', 'Code from ' + f.name, 'text', 'one-time-code')], 'Verify', async function (data) {
      await call('POST', '/v1/session/step-up', { factorId: f.id, code: String(data.get('code')).trim() });
      return refresh();
    })]);
    return Promise.resolve();
  }
  async function webauthnStepUp() {
    var c = await call('POST', '/v1/session/step-up/webauthn/options');
    var credential = await assertion(c.options);
    await call('POST', '/v1/session/step-up/webauthn', { challengeId: c.challengeId, credential: credential });
    return refresh();
  }

  function cancelButton() {
    var b = el('button', { type: 'button', id: 'cancel', text: 'Cancel' });
    b.addEventListener('click', function () { call('POST', base + '/abort', {}).then(go, problem); });
    return b;
  }
  function go(res) { location.assign(res.redirectTo); }
  function consent() {
    var allow = el('button', { type: 'button', id: 'allow', text: 'Allow' });
    allow.addEventListener('click', function () { call('POST', base + '/continue', { allow: true }).then(go, problem); });
    show(state.client.name + ' wants to sign you in', [
      el('p', { text: 'Signed in as ' + state.user.email + '. It will see:' }),
      el('ul', {}, state.scopes.map(function (s) { return el('li', { text: s }); })), allow, cancelButton()]);
  }
  function mismatch() {
    var b = el('button', { type: 'button', id: 'switch', text: 'Sign in with another user' });
    b.addEventListener('click', function () { call('POST', '/v1/sign-out').then(refresh, problem); });
    show('Another account', [el('p', { text: state.client.name + ' belongs to the account ' + state.account.name +
      '; you are signed in as ' + state.user.email + ' of another account.' }), b, cancelButton()]);
  }

  async function refresh() {
    state = await call('GET', base + '/state');
    if (state.need === 'sign_in') return signIn();
    if (state.need === 'account_mismatch') return mismatch();
    if (state.need === 'step_up') return stepUp();
    if (state.need === 'consent') return consent();
    go(await call('POST', base + '/continue', { allow: false }));
  }
  refresh().catch(function (err) { show('Sign-in failed', []); problem(err); });
})();
`;

import { get, post, seg } from '../api.js';
import { busy, field, focusLater, h, replaceChildren, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import { recoveryCodesBlock } from '../recovery-codes.js';
import type { PageContext } from '../router.js';
import { currentSession } from '../session.js';
import type { Factor } from '../types.js';

/** POST /v1/factors/totp answer: secret material shown once. */
interface TOTPEnrolment {
  factor: Factor;
  secret: string;
  keyUri: string;
  qrCode: { png: string; svg: string };
}

/** Enrolment: an authenticator app (QR code, key URI, Base32 secret, then a code), then recovery codes. */
export function render(ctx: PageContext): void {
  const app = h('section', { 'aria-labelledby': 'enrol-app-title' });
  const keys = h('section', { 'aria-labelledby': 'enrol-webauthn-title', 'data-slot': 'webauthn' });
  ctx.main.append(
    h('h1', {}, 'Add a factor'),
    h(
      'p',
      {},
      'Keep more than one factor, of different kinds, so losing one device never locks you out. Add the new one before removing an old one.',
    ),
    app,
    h(
      'section',
      { 'aria-labelledby': 'enrol-token-title' },
      h('h2', { id: 'enrol-token-title' }, 'Hardware token'),
      h(
        'p',
        {},
        'Hardware tokens are handed out by an administrator. Once one is assigned to you, enable it on ',
        h('a', { href: '/security', 'data-link': true }, 'My security'),
        ' with two consecutive codes.',
      ),
    ),
    keys,
  );
  startForm(app);
  keyForm(keys);
}

/** Passkeys and security keys (WebAuthn): a browser ceremony, no secret to copy. */
function keyForm(section: HTMLElement): void {
  const status = statusLine();
  const name = h('input', { name: 'keyName', type: 'text', required: true, maxlength: 64, value: 'Passkey' });
  const kinds = [
    {
      value: 'passkey',
      label: 'Passkey',
      hint: 'Signs you in on its own, with your fingerprint, face or device PIN; may sync between your devices.',
    },
    {
      value: 'security_key',
      label: 'Security key',
      hint: 'A USB, NFC or Bluetooth key you touch after your password; the key never leaves it.',
    },
  ];
  const radios = kinds.map((k, i) => {
    const input = h('input', {
      type: 'radio',
      name: 'keyKind',
      value: k.value,
      id: `key-kind-${i}`,
      checked: i === 0,
    });
    input.addEventListener('change', () => {
      if (name.value === 'Passkey' || name.value === 'Security key') name.value = k.label;
    });
    return h(
      'div',
      { class: 'choice' },
      input,
      h('label', { for: input.id }, k.label),
      h('p', { class: 'hint' }, k.hint),
    );
  });
  const grant = h('input', {
    name: 'keyEnrolmentGrant',
    type: 'password',
    autocomplete: 'off',
    maxlength: 256,
  });
  const form = h(
    'form',
    { 'data-testid': 'webauthn-enrol' },
    h('fieldset', {}, h('legend', {}, 'Kind'), ...radios),
    field('Name for this key', name, 'So you can tell your keys apart, e.g. "Laptop" or "Blue key".'),
    h(
      'details',
      {},
      h('summary', {}, 'I have an enrolment grant'),
      field('Enrolment grant', grant, 'Needed when you lost every factor.'),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Register')),
  );
  section.replaceChildren(
    h('h2', { id: 'enrol-webauthn-title' }, 'Passkey or security key'),
    h('p', {}, 'Bound to this site, so a look-alike site cannot use it: the strongest kind of factor.'),
    form,
    status.el,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    const kind = form.querySelector<HTMLInputElement>('input[name="keyKind"]:checked')?.value;
    void busy(form, async () => {
      try {
        const { registerKey } = await import('../webauthn.js');
        const factor = await registerKey({
          kind: kind === 'security_key' ? 'security_key' : 'passkey',
          name: name.value.trim(),
          ...(grant.value.trim() === '' ? {} : { enrolmentGrant: grant.value.trim() }),
        });
        status.info(`“${factor.name}” is registered and ready for sign-in.`);
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
}

function startForm(section: HTMLElement): void {
  const status = statusLine();
  const name = h('input', {
    name: 'name',
    type: 'text',
    required: true,
    maxlength: 64,
    value: 'Authenticator app',
  });
  const grant = h('input', { name: 'enrolmentGrant', type: 'password', autocomplete: 'off', maxlength: 256 });
  const form = h(
    'form',
    {},
    field(
      'Name for this factor',
      name,
      'So you can tell your factors apart, e.g. "Phone" or "Laptop password store".',
    ),
    h(
      'details',
      {},
      h('summary', {}, 'I have an enrolment grant'),
      field(
        'Enrolment grant',
        grant,
        'Needed when you lost every factor: an administrator or a verified link gives you one.',
      ),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Start')),
  );
  section.replaceChildren(
    h('h2', { id: 'enrol-app-title' }, 'Authenticator app'),
    h(
      'p',
      {},
      'Any app or tool that follows RFC 6238 (TOTP) works: phone apps, password managers, oathtool, pass otp.',
    ),
    form,
    status.el,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      try {
        const enrolment = await post<TOTPEnrolment>('/v1/factors/totp', {
          name: name.value.trim(),
          ...(grant.value.trim() === '' ? {} : { enrolmentGrant: grant.value.trim() }),
        });
        showSecret(section, enrolment);
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
}

function showSecret(section: HTMLElement, enrolment: TOTPEnrolment): void {
  const status = statusLine();
  const code = h('input', {
    name: 'code',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    required: true,
    maxlength: 16,
    pattern: '[0-9 ]*',
  });
  const form = h(
    'form',
    {},
    field('Code from the app', code, 'Type the code the app shows now to prove it is set up.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Enable')),
  );
  const expires = enrolment.factor.pendingExpiresAt;
  replaceChildren(
    section,
    h('h2', { id: 'enrol-app-title', tabindex: -1 }, `Set up “${enrolment.factor.name}”`),
    h('p', {}, 'Scan the QR code with your app, or enter the key by hand. It is shown only now.'),
    h('img', {
      class: 'qr',
      src: `data:image/png;base64,${enrolment.qrCode.png}`,
      alt: 'QR code holding the key for your authenticator app',
      width: 200,
      height: 200,
    }),
    h(
      'dl',
      { class: 'secret' },
      h('dt', {}, 'Secret key (Base32)'),
      h('dd', {}, h('code', { id: 'totp-secret', 'data-testid': 'totp-secret' }, enrolment.secret)),
      h('dt', {}, 'Key URI'),
      h('dd', {}, h('code', { id: 'totp-key-uri', class: 'wrap' }, enrolment.keyUri)),
    ),
    expires ? h('p', { class: 'hint' }, `Finish before ${new Date(expires).toLocaleTimeString()}.`) : null,
    form,
    status.el,
  );
  section.querySelector<HTMLElement>('h2')?.focus();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      try {
        await post(`/v1/factors/${seg(enrolment.factor.id)}/enable`, { code: code.value.replace(/\s/g, '') });
        await showEnabled(section, enrolment.factor.name);
      } catch (err) {
        status.error(describeError(err));
        code.value = '';
        focusLater(code);
      }
    });
  });
}

async function showEnabled(section: HTMLElement, name: string): Promise<void> {
  const { remaining } = await get<{ remaining: number }>('/v1/recovery-codes');
  const status = statusLine();
  const create = h('button', { type: 'button' }, 'Create recovery codes');
  const codesSlot = h('div', {});
  replaceChildren(
    section,
    h('h2', { id: 'enrol-app-title', tabindex: -1 }, `“${name}” is enabled`),
    h('p', { class: 'status success', role: 'status' }, 'Your authenticator app is ready for sign-in.'),
    remaining > 0
      ? h(
          'p',
          {},
          `You have ${remaining} recovery codes left. You can make a new set on `,
          h('a', { href: '/security', 'data-link': true }, 'My security'),
          '.',
        )
      : h(
          'div',
          { 'data-slot': 'no-recovery-codes' },
          h(
            'p',
            {},
            'You have no recovery codes. Create a set now: they get you in if you lose your factors.',
          ),
          create,
        ),
    status.el,
    codesSlot,
  );
  section.querySelector<HTMLElement>('h2')?.focus();
  create.addEventListener('click', () => {
    status.clear();
    void busy(section, async () => {
      try {
        const { codes } = await post<{ codes: string[] }>('/v1/recovery-codes');
        // The "no recovery codes" line and its button are stale once the set is shown.
        section.querySelector('[data-slot="no-recovery-codes"]')?.remove();
        const who = currentSession();
        codesSlot.replaceChildren(
          recoveryCodesBlock(codes, who ? `${who.user.email} (${who.account.name})` : 'your account'),
        );
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
}

import { del, get, post } from '../api.js';
import { busy, field, h, replaceChildren, statusLine } from '../dom.js';
import { describeError } from '../messages.js';

/** A contact channel as GET /v1/contacts answers it. */
interface Contact {
  id: string;
  kind: 'email' | 'phone';
  address: string;
  status: 'pending' | 'verified';
  strength: 'ordinary' | 'weak';
  verifiedAt: string | null;
}

interface Contacts {
  contacts: Contact[];
  emailRequired: boolean;
  emailVerified: boolean;
}

const KIND_WORDS = { email: 'E-mail', phone: 'Phone' } as const;

/**
 * My contact channels: where recovery and security notices reach me (never a way to sign in).
 * A change needs a fresh second factor (the step-up dialog asks) and takes effect once the new
 * address proves it receives our messages; the old address is told.
 */
export async function contactSection(section: HTMLElement, message?: string): Promise<void> {
  const status = statusLine();
  if (message !== undefined) status.info(message);
  const reload = (m?: string) => contactSection(section, m);
  const answer = await get<Contacts>('/v1/contacts');
  const list = h(
    'ul',
    { class: 'plain rows', 'data-testid': 'contacts' },
    ...answer.contacts.map((c) => {
      const actions: HTMLElement[] = [];
      if (c.kind === 'phone') {
        const remove = h('button', { type: 'button', class: 'secondary' }, 'Remove phone');
        remove.addEventListener(
          'click',
          () =>
            void busy(remove, async () => {
              try {
                await del('/v1/contacts/phone');
                await reload('The phone number was removed.');
              } catch (err) {
                status.error(describeError(err));
              }
            }),
        );
        actions.push(remove);
      }
      if (c.kind === 'email' && c.status !== 'verified') {
        const resend = h('button', { type: 'button', class: 'secondary' }, 'Send the confirmation again');
        resend.addEventListener(
          'click',
          () =>
            void busy(resend, async () => {
              try {
                await post('/v1/contacts/verify-current');
                status.info(`We sent a confirmation link to ${c.address}.`);
              } catch (err) {
                status.error(describeError(err));
              }
            }),
        );
        actions.push(resend);
      }
      return h(
        'li',
        { 'data-contact': c.kind },
        h('strong', {}, KIND_WORDS[c.kind]),
        ` ${c.address} · `,
        c.status === 'verified' ? 'confirmed' : 'waiting for confirmation',
        c.strength === 'weak' ? ' · weaker channel: a phone number can be taken over (SIM swap)' : '',
        ...actions,
      );
    }),
  );

  const kind = h(
    'select',
    { name: 'kind' },
    h('option', { value: 'email' }, 'E-mail address'),
    h('option', { value: 'phone' }, 'Phone number'),
  );
  const address = h('input', { name: 'address', type: 'text', required: true, minlength: 3, maxlength: 254 });
  const change = h(
    'form',
    { 'aria-label': 'Add or change a contact' },
    field('Kind', kind),
    field('New address', address, 'An e-mail address, or a phone number in international form (+44…).'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save and send a confirmation')),
  );
  change.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(change, async () => {
      try {
        await post('/v1/contacts', { kind: kind.value, address: address.value.trim() });
        address.value = '';
        await reload(
          kind.value === 'phone'
            ? 'We texted a code to the new number: enter it below to confirm it.'
            : 'We sent a confirmation link to the new address; it takes effect once you open it. Your old address was told.',
        );
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });

  const code = h('input', {
    name: 'code',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    maxlength: 12,
  });
  const confirmPhone = h(
    'form',
    { 'aria-label': 'Confirm a phone number' },
    field('Code texted to the new number', code),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Confirm phone')),
  );
  confirmPhone.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(confirmPhone, async () => {
      try {
        await post('/v1/contacts/phone/verify', { code: code.value.trim() });
        await reload('The phone number is confirmed.');
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
  const phonePending = answer.contacts.some((c) => c.kind === 'phone' && c.status !== 'verified');

  replaceChildren(
    section,
    h('h2', { id: 'contacts-title' }, 'Contact channels'),
    h('p', {}, 'Where account recovery and security notices reach you. They are never a way to sign in.'),
    answer.emailRequired && !answer.emailVerified
      ? h('p', { class: 'status warning' }, 'Your role needs a confirmed e-mail address.')
      : null,
    answer.contacts.length === 0 ? h('p', {}, 'No contact channel yet.') : list,
    change,
    phonePending ? confirmPhone : null,
    status.el,
  );
}

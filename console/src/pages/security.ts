import { del, get, patch, post, seg } from '../api.js';
import { append, busy, field, focusLater, formatTime, h, replaceChildren, statusLine } from '../dom.js';
import { factorKind } from '../factor-kinds.js';
import { describeError } from '../messages.js';
import { recoveryCodesBlock } from '../recovery-codes.js';
import { detailsToggle, eventWords } from '../words.js';
import type { PageContext } from '../router.js';
import { currentSession } from '../session.js';
import { accessKeySection } from './my-access-keys.js';
import { contactSection } from './my-contacts.js';
import { consentSection } from './oidc-consents.js';
import type { Factor, Session } from '../types.js';

/**
 * My security: factors (rename, remove, enable assigned tokens), recovery codes, sessions, contact
 * channels, access keys, applications, events, password.
 */
export async function render(ctx: PageContext): Promise<void> {
  const factors = h('section', { 'aria-labelledby': 'factors-title' });
  const recovery = h('section', { 'aria-labelledby': 'recovery-title' });
  const sessions = h('section', { 'aria-labelledby': 'sessions-title' });
  const password = h('section', { 'aria-labelledby': 'password-title' });
  const events = h('section', { 'aria-labelledby': 'events-title' });
  const applications = h('section', { 'aria-labelledby': 'applications-title' });
  const contacts = h('section', { 'aria-labelledby': 'contacts-title' });
  const accessKeys = h('section', { 'aria-labelledby': 'access-keys-title' });
  const used = ctx.query.get('recoveryUsed');
  append(ctx.main, [
    h('h1', {}, 'My security'),
    used !== null && /^\d+$/.test(used)
      ? h(
          'p',
          { class: 'status warning', role: 'status' },
          `You signed in with a recovery code; ${used} left. If you lost a factor, add a new one and remove the lost one.`,
        )
      : null,
    factors,
    recovery,
    sessions,
    contacts,
    accessKeys,
    applications,
    events,
    password,
  ]);
  passwordSection(password);
  await Promise.all([
    factorSection(factors, recovery),
    sessionSection(sessions),
    contactSection(contacts),
    accessKeySection(accessKeys, currentSession()!.user.id),
    consentSection(applications),
    eventSection(events),
  ]);
}

async function factorSection(section: HTMLElement, recovery: HTMLElement, message?: string): Promise<void> {
  const status = statusLine();
  if (message) status.info(message);
  const answer = await get<{ factors: Factor[]; recoveryCodes: { remaining: number } }>('/v1/factors');
  const reload = (message?: string) => factorSection(section, recovery, message);
  const rows = answer.factors.map((f) => factorRow(f, status, reload));
  replaceChildren(
    section,
    h('h2', { id: 'factors-title' }, 'Factors'),
    answer.factors.length === 0
      ? h(
          'p',
          { class: 'status warning' },
          'You have no second factor yet. ',
          h('a', { href: '/enrol', 'data-link': true }, 'Add one now.'),
        )
      : h(
          'table',
          { class: 'data' },
          h('caption', { class: 'visually-hidden' }, 'My factors'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Name', 'Kind', 'Status', 'Assurance', 'Last used', 'Actions'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h('tbody', {}, ...rows),
        ),
    answer.factors.filter((f) => f.status === 'enabled').length === 1
      ? h(
          'p',
          { class: 'status warning' },
          'You have only one factor. Add another so that losing it does not lock you out.',
        )
      : null,
    h('p', {}, h('a', { href: '/enrol', 'data-link': true }, 'Add a factor')),
    status.el,
  );
  recoverySection(recovery, answer.recoveryCodes.remaining);
}

function factorRow(
  f: Factor,
  status: ReturnType<typeof statusLine>,
  reload: (message?: string) => Promise<void>,
): HTMLElement {
  const rename = h(
    'button',
    { type: 'button', class: 'secondary', 'aria-label': `Rename ${f.name}` },
    'Rename',
  );
  const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${f.name}` }, 'Remove');
  const extra = h('div', {});
  const row = h(
    'tr',
    { 'data-factor-id': f.id },
    h(
      'th',
      { scope: 'row' },
      f.name,
      f.adminProvisioned ? h('span', { class: 'badge' }, 'from admin') : null,
    ),
    h('td', {}, factorKind(f.kind).label),
    h('td', {}, f.status),
    h('td', {}, f.assurance),
    h('td', {}, formatTime(f.lastUsedAt)),
    h(
      'td',
      {},
      h(
        'div',
        { class: 'actions inline' },
        rename,
        f.adminProvisioned && f.status === 'enabled' ? null : remove,
      ),
      extra,
    ),
  );

  rename.addEventListener('click', () => {
    const input = h('input', { name: 'name', type: 'text', required: true, maxlength: 64, value: f.name });
    const form = h(
      'form',
      { class: 'inline-form' },
      field(`New name for ${f.name}`, input),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit' }, 'Save'),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              extra.replaceChildren();
              focusLater(rename);
            },
          },
          'Cancel',
        ),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(form, async () => {
        try {
          await patch(`/v1/factors/${seg(f.id)}`, { name: input.value.trim() });
          await reload(`Renamed to “${input.value.trim()}”.`);
        } catch (err) {
          status.error(describeError(err));
        }
      });
    });
    extra.replaceChildren(form);
    input.focus();
    input.select();
  });

  remove.addEventListener('click', () => {
    if (!window.confirm(`Remove “${f.name}”? You will no longer be able to sign in with it.`)) return;
    status.clear();
    void busy(row, async () => {
      try {
        await del(`/v1/factors/${seg(f.id)}`);
        // A session verified with the factor ends with it (unless it stepped up with another one
        // since): then the user signs in again, told why.
        if (!(await fetch('/v1/session', { credentials: 'same-origin' })).ok) {
          window.location.assign('/sign-in?ended=factor-removed');
          return;
        }
        await reload(`Removed “${f.name}”.`);
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });

  if (f.status === 'pending' && f.kind === 'hardware_token') {
    const first = h('input', {
      name: 'code1',
      type: 'text',
      inputmode: 'numeric',
      required: true,
      maxlength: 16,
    });
    const second = h('input', {
      name: 'code2',
      type: 'text',
      inputmode: 'numeric',
      required: true,
      maxlength: 16,
    });
    const form = h(
      'form',
      { class: 'inline-form' },
      field(`First code from ${f.name}`, first),
      field('The next code', second, 'Press the token again (or wait for the next code) for the second one.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Enable token')),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(form, async () => {
        try {
          await post(`/v1/factors/${seg(f.id)}/enable`, { codes: [first.value.trim(), second.value.trim()] });
          await reload(`“${f.name}” is enabled.`);
        } catch (err) {
          status.error(describeError(err));
        }
      });
    });
    extra.append(form);
  }
  return row;
}

function recoverySection(section: HTMLElement, remaining: number): void {
  const status = statusLine();
  const create = h(
    'button',
    { type: 'button' },
    remaining > 0 ? 'Replace with a new set' : 'Create recovery codes',
  );
  const slot = h('div', {});
  replaceChildren(
    section,
    h('h2', { id: 'recovery-title' }, 'Recovery codes'),
    h(
      'p',
      {},
      'Remaining: ',
      h('strong', { id: 'recovery-remaining', 'data-testid': 'recovery-remaining' }, String(remaining)),
    ),
    remaining === 0
      ? h(
          'p',
          { class: 'status warning', 'data-slot': 'no-recovery-codes' },
          'You have no recovery codes. Create a set and keep it safe.',
        )
      : null,
    create,
    status.el,
    slot,
  );
  create.addEventListener('click', () => {
    status.clear();
    void busy(section, async () => {
      try {
        const { codes } = await post<{ codes: string[] }>('/v1/recovery-codes');
        const who = currentSession();
        const label = who ? `${who.user.email} (${who.account.name})` : 'your account';
        const count = section.querySelector('#recovery-remaining');
        if (count) count.textContent = String(codes.length);
        // The warning is stale once the set exists; the button now replaces the set.
        section.querySelector('[data-slot="no-recovery-codes"]')?.remove();
        create.textContent = 'Replace with a new set';
        slot.replaceChildren(recoveryCodesBlock(codes, label));
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
}

async function sessionSection(section: HTMLElement): Promise<void> {
  const status = statusLine();
  const { sessions } = await get<{ sessions: Session[] }>('/v1/sessions');
  const reload = () => sessionSection(section);
  replaceChildren(
    section,
    h('h2', { id: 'sessions-title' }, 'Sessions'),
    h(
      'table',
      { class: 'data' },
      h('caption', { class: 'visually-hidden' }, 'My sessions'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Started', 'Last seen', 'From', 'Second factor', 'Actions'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...sessions.map((s) => {
          const revoke = h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              // The accessible name starts with the visible text (WCAG 2.2 SC 2.5.3).
              'aria-label': `${s.current ? 'Sign out here' : 'Revoke'}: session started ${formatTime(s.createdAt)}`,
            },
            s.current ? 'Sign out here' : 'Revoke',
          );
          revoke.addEventListener('click', () => {
            void busy(section, async () => {
              try {
                await del(`/v1/sessions/${seg(s.id)}`);
                if (s.current) {
                  window.location.assign('/sign-in');
                  return;
                }
                status.info('Session revoked.');
                await reload();
              } catch (err) {
                status.error(describeError(err));
              }
            });
          });
          return h(
            'tr',
            {},
            h(
              'th',
              { scope: 'row' },
              formatTime(s.createdAt),
              s.current ? h('span', { class: 'badge' }, 'this one') : null,
            ),
            h('td', {}, formatTime(s.lastSeenAt)),
            h('td', {}, [s.sourceIp ?? '—', s.userAgent ? ` · ${s.userAgent.slice(0, 60)}` : ''].join('')),
            h('td', {}, s.mfa ? `${factorKind(s.mfa.kind).label} at ${formatTime(s.mfa.at)}` : 'none'),
            h('td', {}, revoke),
          );
        }),
      ),
    ),
    status.el,
  );
}

function passwordSection(section: HTMLElement): void {
  const status = statusLine();
  const current = h('input', {
    name: 'currentPassword',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const next = h('input', {
    name: 'newPassword',
    type: 'password',
    autocomplete: 'new-password',
    required: true,
    minlength: 8,
  });
  const repeat = h('input', {
    name: 'repeatPassword',
    type: 'password',
    autocomplete: 'new-password',
    required: true,
  });
  const form = h(
    'form',
    {},
    field('Current password', current),
    field('New password', next, 'At least 12 characters; a long phrase is easiest to remember.'),
    field('Repeat the new password', repeat),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Change password')),
  );
  section.append(
    h('h2', { id: 'password-title' }, 'Password'),
    h('p', {}, 'Changing it signs out your other sessions.'),
    form,
    status.el,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    if (next.value !== repeat.value) {
      status.error('The two new passwords differ.');
      focusLater(repeat);
      return;
    }
    void busy(form, async () => {
      try {
        await post('/v1/me/password', { currentPassword: current.value, newPassword: next.value });
        form.reset();
        status.info('Your password was changed. Your other sessions were signed out.');
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
}

interface SecurityEvent {
  eventTime: string;
  eventName: string;
  outcome: string;
  errorCode: string | null;
  sourceIPAddress: string | null;
  userIdentity: { principalId: string | null };
}

/** My recent security events (newest first): sign-ins, factor changes, refusals, resets. */
async function eventSection(section: HTMLElement): Promise<void> {
  const { events } = await get<{ events: SecurityEvent[] }>('/v1/me/events');
  replaceChildren(
    section,
    h('h2', { id: 'events-title' }, 'Recent security events'),
    events.length === 0
      ? h('p', {}, 'No events yet.')
      : h(
          'table',
          { class: 'data' },
          h('caption', { class: 'visually-hidden' }, 'My recent security events'),
          h(
            'thead',
            {},
            h('tr', {}, ...['When', 'Event', 'Outcome', 'From'].map((c) => h('th', { scope: 'col' }, c))),
          ),
          h(
            'tbody',
            {},
            ...events.map((e) =>
              h(
                'tr',
                { class: e.outcome === 'failure' ? 'failure' : '' },
                h('th', { scope: 'row' }, formatTime(e.eventTime)),
                h('td', {}, eventWords(e.eventName)),
                h(
                  'td',
                  {},
                  e.outcome === 'failure' ? 'Refused' : 'Done',
                  detailsToggle([
                    `Event ${e.eventName}`,
                    e.errorCode === null ? null : `Code ${e.errorCode}`,
                  ]),
                ),
                h('td', {}, e.sourceIPAddress ?? '—'),
              ),
            ),
          ),
        ),
  );
}

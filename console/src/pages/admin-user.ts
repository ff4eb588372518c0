import { ApiError, del, get, patch, post, seg } from '../api.js';
import { busy, field, formatTime, h, replaceChildren } from '../dom.js';
import { factorKind } from '../factor-kinds.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import { currentSession } from '../session.js';
import type { AuditRecord, Factor, Session, User } from '../types.js';
import { eventWords } from '../words.js';
import { adminNav } from './admin-nav.js';

/**
 * One person's account: who they are, what an administrator may do about them (each action one
 * audited API call), and what concerns them: factors, sessions, access keys, contact channels,
 * resets, alerts and recent events. Errors are said in words; the code and request id sit behind
 * a "Details" toggle for support.
 */
export async function render(ctx: PageContext): Promise<void> {
  const id = ctx.params.id ?? '';
  const { user } = await get<{ user: User }>(`/v1/users/${seg(id)}`);
  const base = `/v1/users/${seg(user.id)}`;
  const viewer = currentSession()?.user ?? null;
  // The help desk reads a person's factors and signs them out; the rest is for owners and admins
  // (the server decides: these only leave out what it would refuse).
  const helpdesk = viewer?.role === 'helpdesk';
  const page: UserPage = { user, base, administers: !helpdesk, self: viewer?.id === user.id };
  const sections = {
    factors: h('section', { 'aria-labelledby': 'user-factors-title' }),
    ...(helpdesk
      ? {}
      : {
          sessions: h('section', { 'aria-labelledby': 'user-sessions-title' }),
          keys: h('section', { 'aria-labelledby': 'user-keys-title' }),
          contacts: h('section', { 'aria-labelledby': 'user-contacts-title' }),
          concerns: h('section', { 'aria-labelledby': 'user-concerns-title' }),
          events: h('section', { 'aria-labelledby': 'user-events-title' }),
        }),
  };
  ctx.main.append(
    h('h1', {}, user.email),
    adminNav('/admin/users'),
    h(
      'dl',
      { class: 'facts', 'data-testid': 'user-facts' },
      h('dt', {}, 'User name'),
      h('dd', {}, user.username),
      h('dt', {}, 'Role'),
      h('dd', { 'data-testid': 'user-role' }, roleWords(user.role)),
      h('dt', {}, 'Status'),
      h('dd', { 'data-testid': 'user-status' }, user.status === 'active' ? 'Active' : 'Disabled'),
      h('dt', {}, 'Password'),
      h('dd', {}, user.hasPassword ? 'Set' : 'Not set yet (the setup link sets it)'),
      h('dt', {}, 'Created'),
      h('dd', {}, formatTime(user.createdAt)),
    ),
    manageSection(page),
    ...Object.values(sections),
  );
  // A section the caller may not read (the help desk: keys, events) says so; the others still load.
  const guarded = async (section: HTMLElement, title: string, draw: () => Promise<void>) => {
    try {
      await draw();
    } catch (err) {
      replaceChildren(
        section,
        h('h2', { id: section.getAttribute('aria-labelledby') ?? '' }, title),
        errorBlock(err),
      );
    }
  };
  const { factors, sessions, keys, contacts, concerns, events } = sections;
  await Promise.all([
    guarded(factors, 'Second factors', () => factorList(factors, page)),
    sessions && guarded(sessions, 'Sessions', () => sessionList(sessions, page)),
    keys && guarded(keys, 'Access keys', () => accessKeyList(keys, page)),
    contacts && guarded(contacts, 'Contact channels', () => contactList(contacts, page)),
    concerns && guarded(concerns, 'Resets and alerts', () => concernsList(concerns, page)),
    events && guarded(events, 'Recent events', () => eventList(events, page)),
  ]);
}

interface UserPage {
  user: User;
  /** `/v1/users/:id`. */
  base: string;
  /** The viewer is an owner or admin (the help desk only reads factors and signs people out). */
  administers: boolean;
  /** The viewer is looking at their own page (nobody changes their own role). */
  self: boolean;
  /** Redraws the sessions list (after sessions were ended from elsewhere on the page). */
  sessionsChanged?: () => void;
}

const ROLE_WORDS: Readonly<Record<string, string>> = {
  owner: 'Owner',
  admin: 'Administrator',
  helpdesk: 'Help desk',
  user: 'User',
};
const roleWords = (role: string) => ROLE_WORDS[role] ?? role;

/** Words for the codes this page meets that the console-wide table does not name. */
const WORDS: Readonly<Record<string, string>> = {
  USER_NOT_DISABLED: 'This person is not disabled: nothing to re-enable.',
  USER_DISABLED: 'This person is disabled. Re-enable them first.',
  USER_ROLE_UNCHANGED: 'This person already has that role.',
  USER_OWN_ROLE: 'Nobody changes their own role: ask another owner or administrator.',
  USER_LAST_OWNER:
    'That would leave the account without an owner who can sign in. Make someone else an owner first.',
  ENROLMENT_GRANT_NOT_NEEDED:
    'This person still has a working second factor, so they can add another themselves. Remove the lost one first if that is the problem.',
  CONTACT_NOT_VERIFIED: 'This person has no e-mail address to send the grant to.',
  GUARDRAIL_DENIED:
    'A safety rule refuses this: administrators never act on owners or make owners, and the help desk acts only on ordinary users.',
  AWS_ACCESS_KEY_LIMIT_REACHED: 'This person already has two access keys. Delete one first.',
  AWS_ACCESS_KEY_NOT_FOUND: 'That access key no longer exists.',
};

/** An error in words, with its code and request id behind a "Details" toggle. */
function errorBlock(err: unknown): HTMLElement {
  const words =
    err instanceof ApiError
      ? (WORDS[err.code] ?? describeError(err).replace(/\s*\([A-Z0-9_]+(, request [^)]*)?\)$/, ''))
      : describeError(err);
  return h(
    'div',
    { class: 'status error', role: 'alert' },
    h('p', { class: 'plain-words' }, words),
    err instanceof ApiError
      ? h(
          'details',
          {},
          h('summary', {}, 'Details'),
          h('p', {}, 'Code ', h('code', {}, err.code), err.requestId ? ` · request ${err.requestId}` : ''),
        )
      : null,
  );
}

/** A button that runs one call and shows its outcome (or error) in `out`. */
function actionButton(
  label: string,
  out: HTMLElement,
  /** Answers what to say, or null when the work redrew the section with its own outcome. */
  run: () => Promise<string | Node | null>,
  options: { danger?: boolean; confirm?: string; testid?: string } = {},
): HTMLButtonElement {
  const button = h(
    'button',
    {
      type: 'button',
      class: options.danger ? 'danger' : 'secondary',
      'data-testid': options.testid ?? null,
    },
    label,
  );
  button.addEventListener('click', () => {
    if (options.confirm !== undefined && !window.confirm(options.confirm)) return;
    out.replaceChildren();
    const scope = (button.closest('section') as HTMLElement | null) ?? button;
    void busy(scope, async () => {
      try {
        const said = await run();
        if (said !== null) out.replaceChildren(h('div', { class: 'status success' }, said));
      } catch (err) {
        out.replaceChildren(errorBlock(err));
      }
    });
  });
  return button;
}

/** What an administrator may do about one user: each action is one audited API call. */
function manageSection(page: UserPage): HTMLElement {
  const { base } = page;
  const email = page.user.email;
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'user-action-result' });
  const section = h('section', { 'aria-labelledby': 'user-manage-title' });
  /** Shows a changed user in the facts at the top and redraws these actions. */
  const changed = (user: User) => {
    page.user = user;
    const doc = section.ownerDocument;
    doc.querySelector('[data-testid="user-role"]')!.textContent = roleWords(user.role);
    doc.querySelector('[data-testid="user-status"]')!.textContent =
      user.status === 'active' ? 'Active' : 'Disabled';
    draw();
  };
  const admin = page.administers;
  const draw = () => {
    const user = page.user;
    const role = h(
      'select',
      { name: 'role' },
      ...Object.entries(ROLE_WORDS).map(([value, words]) =>
        h('option', { value, selected: value === user.role }, words),
      ),
    );
    const roleForm = h(
      'form',
      { class: 'inline-form', 'data-testid': 'role-form' },
      field('Role', role, 'Owners may do everything; administrators everything but owners’ matters.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Change role')),
    );
    roleForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const to = role.value;
      if (!window.confirm(`Make ${email} ${roleWords(to).toLowerCase()}?`)) return;
      out.replaceChildren();
      void busy(section, async () => {
        try {
          const answer = await patch<{ user: User }>(base, { role: to });
          out.replaceChildren(
            h(
              'div',
              { class: 'status success' },
              `${email} is now ${roleWords(answer.user.role).toLowerCase()}.`,
            ),
          );
          changed(answer.user);
        } catch (err) {
          out.replaceChildren(errorBlock(err));
        }
      });
    });
    replaceChildren(
      section,
      h('h2', { id: 'user-manage-title' }, 'Manage'),
      h(
        'div',
        { class: 'actions' },
        admin &&
          actionButton('New setup link', out, async () => {
            const { setup } = await post<{ setup: { url: string; expiresAt: string } }>(`${base}/setup-link`);
            return h(
              'div',
              {},
              h(
                'p',
                {},
                `One-time setup link for ${email}, valid until ${formatTime(setup.expiresAt)}. With it they choose a password; hand it to them, it is not shown again:`,
              ),
              h('p', { class: 'wrap' }, h('code', { class: 'secret' }, setup.url)),
            );
          }),
        admin &&
          actionButton(
            'Send enrolment grant',
            out,
            async () => {
              const sent = await post<{ sentTo: string; expiresAt: string }>(`${base}/enrolment-grant`);
              return `A one-time enrolment grant is on its way to ${sent.sentTo}, valid until ${formatTime(sent.expiresAt)}. With it they add a new second factor.`;
            },
            { testid: 'send-grant' },
          ),
        actionButton('Sign out everywhere', out, async () => {
          const { revoked } = await post<{ revoked: number }>(`${base}/sessions/revoke`);
          page.sessionsChanged?.();
          return `${revoked} session${revoked === 1 ? '' : 's'} ended.`;
        }),
        admin &&
          actionButton('Lift second-factor suspension', out, async () => {
            const { lifted } = await post<{ lifted: boolean }>(`${base}/mfa-suspension/lift`);
            return lifted
              ? `${email} may use their second factors again; they were told.`
              : `${email} was not suspended: nothing changed.`;
          }),
        !admin
          ? null
          : user.status === 'active'
            ? actionButton(
                'Disable user',
                out,
                async () => {
                  const answer = await post<{ user: User }>(`${base}/disable`);
                  setTimeout(() => changed(answer.user), 0);
                  page.sessionsChanged?.();
                  return `${email} is disabled and signed out everywhere.`;
                },
                { danger: true, confirm: `Disable ${email}? Every session of theirs ends.` },
              )
            : actionButton(
                'Re-enable user',
                out,
                async () => {
                  const answer = await post<{ user: User }>(`${base}/enable`);
                  setTimeout(() => changed(answer.user), 0);
                  return `${email} can sign in again with their password and second factors.`;
                },
                { confirm: `Re-enable ${email}? They can sign in again.` },
              ),
      ),
      admin && !page.self ? roleForm : null,
      admin
        ? null
        : h(
            'p',
            {},
            'Lost second factor? ',
            h(
              'a',
              { href: '/admin/resets', 'data-link': true },
              'Request an MFA reset on the help-desk page',
            ),
            '.',
          ),
      out,
    );
  };
  draw();
  return section;
}

async function factorList(section: HTMLElement, page: UserPage): Promise<void> {
  const { user, base } = page;
  const out = h('div', { 'aria-live': 'polite' });
  const { factors } = await get<{ factors: Factor[] }>(`${base}/factors`);
  replaceChildren(
    section,
    h('h2', { id: 'user-factors-title' }, 'Second factors'),
    factors.length === 0
      ? h('p', { class: 'status warning' }, 'This person has no second factor.')
      : h(
          'table',
          { class: 'data', 'data-testid': 'user-factors' },
          h('caption', { class: 'visually-hidden' }, `Second factors of ${user.email}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Name', 'Kind', 'Status', 'Provided by an administrator', 'Last used', 'Actions'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...factors.map((f) => {
              const remove = h(
                'button',
                { type: 'button', class: 'danger', 'aria-label': `Remove ${f.name}` },
                'Remove',
              );
              remove.addEventListener('click', () => {
                if (!window.confirm(`Remove “${f.name}” from ${user.email}? They will be told.`)) return;
                void busy(section, async () => {
                  try {
                    await del(`${base}/factors/${seg(f.id)}`);
                    await factorList(section, page);
                  } catch (err) {
                    out.replaceChildren(errorBlock(err));
                  }
                });
              });
              return h(
                'tr',
                {},
                h('th', { scope: 'row' }, f.name),
                h('td', {}, factorKind(f.kind).label),
                h('td', {}, f.status === 'enabled' ? 'In use' : 'Not finished'),
                h('td', {}, f.adminProvisioned ? 'Yes' : 'No'),
                h('td', {}, formatTime(f.lastUsedAt)),
                h('td', {}, page.administers ? remove : '—'),
              );
            }),
          ),
        ),
    out,
  );
}

/** Where a session came from, in words. */
function browserWords(s: Session): string {
  const ua = s.userAgent ?? '';
  const name = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : ua === ''
            ? 'Unknown'
            : 'Other program';
  return s.channel === 'bearer' ? `${name} (API token)` : name;
}

async function sessionList(section: HTMLElement, page: UserPage, note?: string): Promise<void> {
  const { user, base } = page;
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'sessions-result' });
  if (note !== undefined) out.append(h('div', { class: 'status success' }, note));
  const { sessions } = await get<{ sessions: Session[] }>(`${base}/sessions`);
  page.sessionsChanged = () => {
    void sessionList(section, page).catch(() => undefined);
  };
  replaceChildren(
    section,
    h('h2', { id: 'user-sessions-title' }, 'Sessions'),
    sessions.length === 0
      ? h('p', {}, 'Not signed in anywhere.')
      : h(
          'table',
          { class: 'data', 'data-testid': 'user-sessions' },
          h('caption', { class: 'visually-hidden' }, `Sessions of ${user.email}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Started', 'Last active', 'Second factor', 'Browser', 'Address', 'Actions'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...sessions.map((s) => {
              const end = actionButton(
                'End',
                out,
                async () => {
                  await post(`${base}/sessions/${seg(s.id)}/revoke`);
                  await sessionList(section, page, 'Session ended.');
                  return null;
                },
                { danger: true },
              );
              end.setAttribute('aria-label', `End the session started ${formatTime(s.createdAt)}`);
              return h(
                'tr',
                {},
                h('th', { scope: 'row' }, formatTime(s.createdAt)),
                h('td', {}, formatTime(s.lastSeenAt)),
                h('td', {}, s.mfa === null ? 'No' : `Yes, ${factorKind(s.mfa.kind).label.toLowerCase()}`),
                h('td', {}, browserWords(s)),
                h('td', {}, s.sourceIp ?? '—'),
                h('td', {}, end),
              );
            }),
          ),
        ),
    out,
  );
}

interface AccessKey {
  accessKeyId: string;
  status: 'Active' | 'Inactive';
  createdAt: string;
  lastUsedAt: string | null;
  lastUsedService: string | null;
}

async function accessKeyList(section: HTMLElement, page: UserPage, shown?: Node): Promise<void> {
  const { user, base } = page;
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'keys-result' });
  if (shown !== undefined) out.append(shown);
  const { keys } = await get<{ keys: AccessKey[] }>(`${base}/access-keys`);
  const create = actionButton(
    'Create access key',
    out,
    async () => {
      const made = await post<{ accessKeyId: string; secretAccessKey: string }>(`${base}/access-keys`);
      const secret = h(
        'div',
        { class: 'status warning', 'data-testid': 'new-key' },
        h('p', {}, 'Copy the secret now: it is shown this once and never again.'),
        h(
          'dl',
          { class: 'secret' },
          h('dt', {}, 'Access key id'),
          h('dd', {}, h('code', { class: 'wrap' }, made.accessKeyId)),
          h('dt', {}, 'Secret access key'),
          h('dd', {}, h('code', { class: 'wrap' }, made.secretAccessKey)),
        ),
      );
      await accessKeyList(section, page, secret);
      return null;
    },
    { testid: 'create-key' },
  );
  const keyAction = (key: AccessKey, label: string, run: () => Promise<unknown>, danger = false) => {
    const button = actionButton(
      label,
      out,
      async () => {
        await run();
        await accessKeyList(section, page);
        return null;
      },
      danger
        ? { danger: true, confirm: `Delete the access key ${key.accessKeyId}? Programs using it stop.` }
        : {},
    );
    button.setAttribute('aria-label', `${label} ${key.accessKeyId}`);
    return button;
  };
  replaceChildren(
    section,
    h('h2', { id: 'user-keys-title' }, 'Access keys'),
    h('p', { class: 'hint' }, 'Long-term keys for programs (AWS CLI and SDKs). At most two per person.'),
    keys.length === 0
      ? h('p', {}, 'No access keys.')
      : h(
          'table',
          { class: 'data', 'data-testid': 'user-keys' },
          h('caption', { class: 'visually-hidden' }, `Access keys of ${user.email}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Key id', 'Status', 'Created', 'Last used', 'Actions'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...keys.map((k) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, h('code', { class: 'wrap' }, k.accessKeyId)),
                h('td', {}, k.status === 'Active' ? 'Active' : 'Deactivated'),
                h('td', {}, formatTime(k.createdAt)),
                h(
                  'td',
                  {},
                  k.lastUsedAt === null
                    ? 'Never'
                    : `${formatTime(k.lastUsedAt)}${k.lastUsedService ? ` (${k.lastUsedService})` : ''}`,
                ),
                h(
                  'td',
                  {},
                  h(
                    'div',
                    { class: 'actions inline' },
                    k.status === 'Active'
                      ? keyAction(k, 'Deactivate', () =>
                          patch(`${base}/access-keys/${seg(k.accessKeyId)}`, { status: 'Inactive' }),
                        )
                      : keyAction(k, 'Activate', () =>
                          patch(`${base}/access-keys/${seg(k.accessKeyId)}`, { status: 'Active' }),
                        ),
                    keyAction(k, 'Delete', () => del(`${base}/access-keys/${seg(k.accessKeyId)}`), true),
                  ),
                ),
              ),
            ),
          ),
        ),
    keys.length >= 2 ? null : h('div', { class: 'actions' }, create),
    out,
  );
}

interface Contact {
  kind: string;
  address: string;
  status: string;
  strength: string;
  verifiedAt: string | null;
}

async function contactList(section: HTMLElement, page: UserPage): Promise<void> {
  const { contacts } = await get<{ contacts: Contact[] }>(`${page.base}/contacts`);
  replaceChildren(
    section,
    h('h2', { id: 'user-contacts-title' }, 'Contact channels'),
    h(
      'p',
      { class: 'hint' },
      'Where notices, reset links and enrolment grants go. Only the person changes them (with a fresh second factor).',
    ),
    contacts.length === 0
      ? h('p', {}, `No confirmed channel: notices go to ${page.user.email}.`)
      : h(
          'ul',
          { class: 'plain', 'data-testid': 'user-contacts' },
          ...contacts.map((c) =>
            h(
              'li',
              {},
              h('strong', {}, c.kind === 'email' ? 'E-mail: ' : 'Phone: '),
              h('span', { class: 'wrap' }, c.address),
              ' — ',
              c.status === 'verified' ? `confirmed ${formatTime(c.verifiedAt)}` : 'not confirmed yet',
              c.strength === 'weak' ? ' (a weak channel, used only for recovery)' : '',
            ),
          ),
        ),
  );
}

interface ResetRequest {
  id: string;
  kind: string;
  state: string;
  createdAt: string;
  waitUntil: string | null;
  completedAt: string | null;
  cancelledAt: string | null;
}

interface Alert {
  id: string;
  severity: string;
  summary: string;
  createdAt: string;
}

const RESET_KIND: Readonly<Record<string, string>> = {
  helpdesk: 'Help-desk reset',
  self: 'Self-service recovery',
};

function resetWords(r: ResetRequest): string {
  if (r.completedAt !== null) return `done ${formatTime(r.completedAt)}`;
  if (r.cancelledAt !== null) return `cancelled ${formatTime(r.cancelledAt)}`;
  if (r.waitUntil !== null) return `takes effect ${formatTime(r.waitUntil)} unless cancelled`;
  return r.state.replace(/_/g, ' ');
}

async function concernsList(section: HTMLElement, page: UserPage): Promise<void> {
  const [{ requests }, { alerts }] = await Promise.all([
    get<{ requests: ResetRequest[] }>(`${page.base}/resets`),
    get<{ alerts: Alert[] }>(`${page.base}/alerts`),
  ]);
  replaceChildren(
    section,
    h('h2', { id: 'user-concerns-title' }, 'Resets and alerts'),
    h('h3', {}, 'Resets and recoveries'),
    requests.length === 0
      ? h('p', {}, 'None.')
      : h(
          'ul',
          { class: 'plain', 'data-testid': 'user-resets' },
          ...requests.map((r) =>
            h(
              'li',
              {},
              h('strong', {}, RESET_KIND[r.kind] ?? r.kind),
              ` opened ${formatTime(r.createdAt)}: ${resetWords(r)}`,
            ),
          ),
        ),
    h('h3', {}, 'Alerts'),
    alerts.length === 0
      ? h('p', {}, 'None.')
      : h(
          'ul',
          { class: 'plain', 'data-testid': 'user-alerts' },
          ...alerts.map((a) =>
            h(
              'li',
              {},
              h('strong', {}, `${a.severity[0]?.toUpperCase() ?? ''}${a.severity.slice(1)}: `),
              a.summary,
              ` (${formatTime(a.createdAt)})`,
            ),
          ),
        ),
  );
}

const PAGE_SIZE = 20;

async function eventList(section: HTMLElement, page: UserPage): Promise<void> {
  const { user, base } = page;
  const body = h('tbody', {});
  const more = h(
    'button',
    { type: 'button', class: 'secondary', 'data-testid': 'older-events' },
    'Show older',
  );
  const out = h('div', { 'aria-live': 'polite' });
  let before: number | null = null;
  // Who acted, by name (the answer names every principal in the page).
  const names = new Map<string, string>();
  const by = (r: AuditRecord) =>
    r.userIdentity.principalId !== null
      ? (names.get(r.userIdentity.principalId) ?? r.userIdentity.principalId)
      : r.userIdentity.type === 'operator'
        ? 'Host operator'
        : 'Someone signing in';
  const what = (r: AuditRecord) => {
    const words = eventWords(r.eventName);
    const d = r.details ?? {};
    return r.eventName === 'user.role_change' && typeof d.from === 'string' && typeof d.to === 'string'
      ? `${words}: ${roleWords(d.from).toLowerCase()} to ${roleWords(d.to).toLowerCase()}`
      : words;
  };
  const load = async () => {
    const answer = await get<{
      records: AuditRecord[];
      names: Record<string, string>;
      nextBefore: number | null;
    }>(`${base}/events`, {
      query: { limit: PAGE_SIZE, before: before ?? undefined },
    });
    for (const [id, email] of Object.entries(answer.names)) names.set(id, email);
    names.set(user.id, 'This person');
    body.append(
      ...answer.records.map((r) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, formatTime(r.eventTime)),
          h(
            'td',
            {},
            what(r),
            h(
              'details',
              {},
              h('summary', {}, 'Details'),
              h('code', { class: 'wrap' }, r.eventName),
              r.errorCode ? ` · ${r.errorCode}` : '',
            ),
          ),
          h('td', {}, by(r)),
          h('td', {}, r.outcome === 'success' ? 'Done' : 'Refused'),
        ),
      ),
    );
    before = answer.nextBefore;
    more.hidden = before === null;
  };
  more.addEventListener('click', () => {
    void busy(section, async () => {
      try {
        await load();
      } catch (err) {
        out.replaceChildren(errorBlock(err));
      }
    });
  });
  replaceChildren(
    section,
    h('h2', { id: 'user-events-title' }, 'Recent events'),
    h(
      'table',
      { class: 'data', 'data-testid': 'user-events' },
      h(
        'caption',
        { class: 'visually-hidden' },
        `What ${user.email} did and what was done to them, newest first`,
      ),
      h(
        'thead',
        {},
        h('tr', {}, ...['When', 'What', 'By', 'Outcome'].map((c) => h('th', { scope: 'col' }, c))),
      ),
      body,
    ),
    h('div', { class: 'actions' }, more),
    out,
  );
  await load();
}

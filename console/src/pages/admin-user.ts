import { del, get, post, seg } from '../api.js';
import { busy, formatTime, h, replaceChildren, statusLine } from '../dom.js';
import { factorKind } from '../factor-kinds.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import type { Factor, User } from '../types.js';
import { adminNav } from './admin-nav.js';

/** One user and their factors (admins may remove them; removal needs a recent MFA). */
export async function render(ctx: PageContext): Promise<void> {
  const id = ctx.params.id ?? '';
  const { user } = await get<{ user: User }>(`/v1/users/${seg(id)}`);
  const list = h('section', { 'aria-labelledby': 'user-factors-title' });
  ctx.main.append(
    h('h1', {}, user.email),
    adminNav('/admin/users'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'User name'),
      h('dd', {}, user.username),
      h('dt', {}, 'Role'),
      h('dd', {}, user.role),
      h('dt', {}, 'Status'),
      h('dd', {}, user.status),
      h('dt', {}, 'Created'),
      h('dd', {}, formatTime(user.createdAt)),
    ),
    manageSection(user),
    list,
  );
  await factorList(list, user);
}

/** What an administrator may do about one user: each action is one audited API call. */
function manageSection(user: User): HTMLElement {
  const status = statusLine();
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'user-action-result' });
  const section = h('section', { 'aria-labelledby': 'user-manage-title' });
  const action = (
    label: string,
    run: () => Promise<string | Node>,
    options: { danger?: boolean; confirm?: string } = {},
  ) => {
    const button = h('button', { type: 'button', class: options.danger ? 'danger' : 'secondary' }, label);
    button.addEventListener('click', () => {
      if (options.confirm !== undefined && !window.confirm(options.confirm)) return;
      status.clear();
      void busy(section, async () => {
        try {
          const said = await run();
          out.replaceChildren(h('div', { class: 'status success' }, said));
        } catch (err) {
          status.error(describeError(err));
        }
      });
    });
    return button;
  };
  const base = `/v1/users/${seg(user.id)}`;
  replaceChildren(
    section,
    h('h2', { id: 'user-manage-title' }, 'Manage'),
    h(
      'div',
      { class: 'actions' },
      action('New setup link', async () => {
        const { setup } = await post<{ setup: { url: string; expiresAt: string } }>(`${base}/setup-link`);
        return h(
          'p',
          {},
          `One-time setup link for ${user.email}, valid until ${new Date(setup.expiresAt).toLocaleString()}: `,
          h('code', { class: 'secret' }, setup.url),
        );
      }),
      action('Sign out everywhere', async () => {
        const { revoked } = await post<{ revoked: number }>(`${base}/sessions/revoke`);
        return `${revoked} session${revoked === 1 ? '' : 's'} ended.`;
      }),
      action('Lift second-factor suspension', async () => {
        const { lifted } = await post<{ lifted: boolean }>(`${base}/mfa-suspension/lift`);
        return lifted
          ? `${user.email} may use their second factors again; they were told.`
          : `${user.email} was not suspended: nothing changed.`;
      }),
      user.status === 'active'
        ? action(
            'Disable user',
            async () => {
              await post(`${base}/disable`);
              return `${user.email} is disabled and signed out everywhere.`;
            },
            { danger: true, confirm: `Disable ${user.email}? Every session of theirs ends.` },
          )
        : null,
    ),
    status.el,
    out,
  );
  return section;
}

async function factorList(section: HTMLElement, user: User): Promise<void> {
  const status = statusLine();
  const { factors } = await get<{ factors: Factor[] }>(`/v1/users/${seg(user.id)}/factors`);
  replaceChildren(
    section,
    h('h2', { id: 'user-factors-title' }, 'Factors'),
    factors.length === 0
      ? h('p', { class: 'status warning' }, 'This user has no factor.')
      : h(
          'table',
          { class: 'data', 'data-testid': 'user-factors' },
          h('caption', { class: 'visually-hidden' }, `Factors of ${user.email}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Name', 'Kind', 'Status', 'Provided by admin', 'Last used', 'Actions'].map((c) =>
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
                    await del(`/v1/users/${seg(user.id)}/factors/${seg(f.id)}`);
                    await factorList(section, user);
                  } catch (err) {
                    status.error(describeError(err));
                  }
                });
              });
              return h(
                'tr',
                {},
                h('th', { scope: 'row' }, f.name),
                h('td', {}, factorKind(f.kind).label),
                h('td', {}, f.status),
                h('td', {}, f.adminProvisioned ? 'yes' : 'no'),
                h('td', {}, formatTime(f.lastUsedAt)),
                h('td', {}, remove),
              );
            }),
          ),
        ),
    status.el,
  );
}

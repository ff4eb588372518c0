import { get, seg } from '../api.js';
import { h } from '../dom.js';
import type { PageContext } from '../router.js';
import type { Factor, User } from '../types.js';
import { adminNav, mapLimited } from './admin-nav.js';

/** Users with their factor counts. */
export async function render(ctx: PageContext): Promise<void> {
  ctx.main.append(h('h1', {}, 'Users'), adminNav('/admin/users'));
  const { users } = await get<{ users: User[] }>('/v1/users');
  const counts = await mapLimited(users, 4, async (u) => {
    try {
      const { factors } = await get<{ factors: Factor[] }>(`/v1/users/${seg(u.id)}/factors`);
      return {
        enabled: factors.filter((f) => f.status === 'enabled').length,
        pending: factors.filter((f) => f.status !== 'enabled').length,
      };
    } catch {
      return null;
    }
  });
  ctx.main.append(
    h(
      'table',
      { class: 'data' },
      h('caption', {}, `${users.length} users`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['E-mail', 'User name', 'Role', 'Status', 'Enabled factors', 'Pending'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...users.map((u, i) => {
          const c = counts[i];
          return h(
            'tr',
            { 'data-user-id': u.id },
            h(
              'th',
              { scope: 'row' },
              h('a', { href: `/admin/users/${seg(u.id)}`, 'data-link': true }, u.email),
            ),
            h('td', {}, u.username),
            h('td', {}, u.role),
            h('td', {}, u.status),
            h('td', { class: c && c.enabled < 2 ? 'warn-cell' : null }, c ? String(c.enabled) : '?'),
            h('td', {}, c ? String(c.pending) : '?'),
          );
        }),
      ),
    ),
  );
}

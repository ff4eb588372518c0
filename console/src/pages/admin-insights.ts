import { get, seg } from '../api.js';
import { h } from '../dom.js';
import type { PageContext } from '../router.js';
import type { AtRiskUser, LockoutRisk } from '../types.js';
import { adminNav } from './admin-nav.js';

function group(title: string, users: AtRiskUser[], empty: string): HTMLElement {
  return h(
    'section',
    {},
    h('h2', {}, `${title} (${users.length})`),
    users.length === 0
      ? h('p', {}, empty)
      : h(
          'ul',
          {},
          ...users.map((u) =>
            h(
              'li',
              {},
              h('a', { href: `/admin/users/${seg(u.id)}`, 'data-link': true }, u.email),
              ` — ${u.role}, ${u.enabledFactors} enabled factor${u.enabledFactors === 1 ? '' : 's'}, ${
                u.recoveryCodes ? 'has' : 'no'
              } recovery codes`,
            ),
          ),
        ),
  );
}

/** Lock-out risk: users who could lose access, and a single-administrator warning. */
export async function render(ctx: PageContext): Promise<void> {
  ctx.main.append(h('h1', {}, 'Lock-out risk'), adminNav('/admin/insights'));
  const risk = await get<LockoutRisk>('/v1/insights/lockout-risk');
  ctx.main.append(
    risk.singleAdministrator
      ? h(
          'p',
          { class: 'status warning', role: 'status' },
          'This account has a single administrator. If they are locked out, nobody can help the others. Add a second one.',
        )
      : h('p', {}, `This account has ${risk.administrators} administrators.`),
    group('Users without any factor', risk.usersWithoutFactors, 'Everyone has at least one factor.'),
    group('Users with a single factor', risk.usersWithSingleFactor, 'Nobody depends on a single factor.'),
    group('Users without recovery codes', risk.usersWithoutRecoveryCodes, 'Everyone has recovery codes.'),
  );
}

import { h } from '../dom.js';
import type { PageContext } from '../router.js';
import { ADMIN_LINKS } from '../routes.js';
import { adminNav } from './admin-nav.js';

const SUMMARIES: Readonly<Record<string, string>> = {
  '/admin/users': 'Everyone in the account, with how many factors each has.',
  '/admin/insights':
    'Who could be locked out: no factor, a single factor, no recovery codes, a single administrator.',
  '/admin/tokens': 'Import hardware OTP tokens from PSKC files and assign them to users.',
  '/admin/audit': 'The tamper-evident record of every change and security-relevant failure.',
  '/admin/policies': 'The account’s policies, and a linter for policy documents.',
};

/** The admin section's start page. */
export function render(ctx: PageContext): void {
  ctx.main.append(
    h('h1', {}, 'Administration'),
    adminNav('/admin'),
    h(
      'ul',
      { class: 'cards' },
      ...ADMIN_LINKS.map((l) =>
        h(
          'li',
          {},
          h('h2', {}, h('a', { href: l.path, 'data-link': true }, l.label)),
          h('p', {}, SUMMARIES[l.path] ?? ''),
        ),
      ),
    ),
  );
}

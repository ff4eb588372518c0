import { h } from '../dom.js';
import { ADMIN_LINKS } from '../routes.js';
import { currentSession } from '../session.js';

/** The admin section's sub-navigation, with the current page marked. */
export function adminNav(here: string): HTMLElement {
  const role = currentSession()?.user.role ?? '';
  const links = ADMIN_LINKS.filter((l) => l.roles === undefined || l.roles.includes(role));
  return h(
    'nav',
    { class: 'sub-nav', 'aria-label': 'Administration' },
    h(
      'ul',
      {},
      ...links.map((l) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: l.path, 'data-link': true, 'aria-current': l.path === here ? 'page' : null },
            l.label,
          ),
        ),
      ),
    ),
  );
}

/** Runs `work` over items with at most `limit` at a time (keeps the server and browser calm). */
export async function mapLimited<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

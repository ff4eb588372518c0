/**
 * A small History API router. Each route names a page module, loaded on demand (admin pages
 * stay out of the first download). Links marked `data-link` navigate without a reload; after
 * every navigation the page's heading takes focus, so keyboard and screen-reader users land on
 * the new content.
 */

/** What a page gets to render itself. */
export interface PageContext {
  main: HTMLElement;
  params: Record<string, string>;
  query: URLSearchParams;
  navigate(path: string): void;
}

/** A page: renders into `ctx.main`. */
export type Page = (ctx: PageContext) => void | Promise<void>;

/** One route: a path pattern (`:name` segments), a title and the page loader. */
export interface Route {
  path: string;
  title: string;
  /** Needs a signed-in session (else: sign-in). */
  auth: boolean;
  /** Shown only to owners, admins and help desk. */
  admin?: boolean;
  load: () => Promise<{ render: Page }>;
}

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return null;
      }
    } else if (w !== g) return null;
  }
  return params;
}

/** Finds the route for a path. */
export function resolve(
  routes: Route[],
  path: string,
): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = match(route.path, path);
    if (params !== null) return { route, params };
  }
  return null;
}

/** Focuses the page's first heading (made focusable) and announces the new page. */
export function focusHeading(main: HTMLElement): void {
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  } else {
    main.focus();
  }
}

/** Sends same-origin clicks on `a[data-link]` through `navigate` instead of a full load. */
export function interceptLinks(navigate: (path: string) => void): void {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
      return;
    const a = (event.target as Element | null)?.closest?.('a[data-link]');
    if (!(a instanceof HTMLAnchorElement) || a.origin !== window.location.origin) return;
    event.preventDefault();
    navigate(a.pathname + a.search);
  });
}

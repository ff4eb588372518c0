import './styles.css';
import { onSessionLost, post } from './api.js';
import { h, labelTables, replaceChildren, statusLine } from './dom.js';
import { describeError } from './messages.js';
import { focusHeading, interceptLinks, resolve, type PageContext } from './router.js';
import { ROUTES } from './routes.js';
import { currentSession, forgetSession, isAdmin, loadSession } from './session.js';
import { installStepUp } from './step-up.js';

const main = document.getElementById('main')!;
watchTables(main);
const nav = document.getElementById('nav')!;
let renderSeq = 0;

function link(path: string, label: string, here: string): HTMLElement {
  const active = here === path || (path !== '/' && here.startsWith(`${path}/`));
  return h('a', { href: path, 'data-link': true, 'aria-current': active ? 'page' : null }, label);
}

function renderNav(here: string): void {
  const session = currentSession();
  if (session === null) {
    replaceChildren(nav, h('ul', {}, h('li', {}, link('/sign-in', 'Sign in', here))));
    return;
  }
  const signOut = h('button', { type: 'button', class: 'link-button' }, 'Sign out');
  signOut.addEventListener('click', () => {
    void post('/v1/sign-out')
      .catch(() => undefined)
      .finally(() => {
        forgetSession();
        navigate('/sign-in');
      });
  });
  replaceChildren(
    nav,
    h(
      'ul',
      {},
      h('li', {}, link('/security', 'My security', here)),
      h('li', {}, link('/enrol', 'Add a factor', here)),
      isAdmin() ? h('li', {}, link('/admin', 'Administration', here)) : null,
      h('li', { class: 'who' }, `${session.user.email} · ${session.account.name}`),
      h('li', {}, signOut),
    ),
  );
}

async function render(): Promise<void> {
  const seq = ++renderSeq;
  const path = window.location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/') {
    navigate(currentSession() ? '/security' : '/sign-in', { replace: true });
    return;
  }
  const found = resolve(ROUTES, path);
  if (found === null) {
    renderNav(path);
    document.title = 'Not found · Holdfast';
    replaceChildren(
      main,
      h('h1', {}, 'Page not found'),
      h(
        'p',
        {},
        'There is no console page at this address. ',
        h('a', { href: '/', 'data-link': true }, 'Go to the start.'),
      ),
    );
    focusHeading(main);
    return;
  }
  const { route, params } = found;
  if (route.auth && currentSession() === null) {
    navigate(`/sign-in?next=${encodeURIComponent(path)}`, { replace: true });
    return;
  }
  renderNav(path);
  document.title = `${route.title} · Holdfast`;
  if (route.admin && !isAdmin()) {
    replaceChildren(
      main,
      h('h1', {}, route.title),
      h('p', { class: 'status error' }, 'This page is for administrators.'),
    );
    focusHeading(main);
    return;
  }
  replaceChildren(main, h('p', { 'aria-busy': 'true' }, 'Loading…'));
  // Each render draws into its own view. A render overtaken by a newer one (a second filter
  // change while the first list request is in flight) keeps drawing into a view that is no
  // longer in the page, so its late rows can never stand beside the newer ones.
  const view = h('div', { class: 'view' });
  const ctx: PageContext = {
    main: view,
    params,
    query: new URLSearchParams(window.location.search),
    navigate: (to) => navigate(to),
  };
  try {
    const page = await route.load();
    if (seq !== renderSeq) return;
    replaceChildren(main, view);
    await page.render(ctx);
  } catch (err) {
    if (seq !== renderSeq) return;
    const status = statusLine();
    status.error(describeError(err));
    replaceChildren(main, h('h1', {}, route.title), status.el);
  }
  if (seq === renderSeq) focusHeading(main);
}

/** Labels the cells of every table a page draws, now and when it redraws parts of itself. */
function watchTables(main: HTMLElement): void {
  new MutationObserver(() => labelTables(main)).observe(main, { childList: true, subtree: true });
}

/** Goes to a console path (History API) and renders it. */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  void render();
}

async function start(): Promise<void> {
  installStepUp();
  interceptLinks((path) => navigate(path));
  window.addEventListener('popstate', () => void render());
  onSessionLost(() => {
    if (currentSession() === null) return;
    forgetSession();
    navigate(`/sign-in?next=${encodeURIComponent(window.location.pathname)}`);
  });
  try {
    await loadSession();
  } catch (err) {
    replaceChildren(
      main,
      h('h1', {}, 'Holdfast'),
      h('p', { class: 'status error', role: 'alert' }, describeError(err)),
    );
    return;
  }
  await render();
}

void start();

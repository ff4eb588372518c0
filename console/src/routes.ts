import type { Route } from './router.js';

/**
 * The console's pages. Every path here must also be answered by the server with index.html
 * (CONSOLE_PATHS in src/http/console.ts: `/sign-in`, `/setup`, `/recover/*`, `/enrol`, `/security`, `/admin`, `/admin/*`).
 */
export const ROUTES: Route[] = [
  { path: '/sign-in', title: 'Sign in', auth: false, load: () => import('./pages/sign-in.js') },
  { path: '/setup', title: 'Set your password', auth: false, load: () => import('./pages/setup.js') },
  {
    path: '/recover/:what',
    title: 'Recover access',
    auth: false,
    load: () => import('./pages/recover.js'),
  },
  { path: '/enrol', title: 'Add a factor', auth: true, load: () => import('./pages/enrol.js') },
  { path: '/security', title: 'My security', auth: true, load: () => import('./pages/security.js') },
  {
    path: '/admin',
    title: 'Administration',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-home.js'),
  },
  {
    path: '/admin/users',
    title: 'Users',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-users.js'),
  },
  {
    path: '/admin/users/:id',
    title: 'User',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-user.js'),
  },
  {
    path: '/admin/insights',
    title: 'Lock-out risk',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-insights.js'),
  },
  {
    path: '/admin/tokens',
    title: 'Hardware tokens',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-tokens.js'),
  },
  {
    path: '/admin/audit',
    title: 'Audit log',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-audit.js'),
  },
  {
    path: '/admin/policies',
    title: 'Policies',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-policies.js'),
  },
  {
    path: '/admin/applications',
    title: 'Applications',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-applications.js'),
  },
  {
    path: '/admin/alerts',
    title: 'Alerts',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-alerts.js'),
  },
  {
    path: '/admin/resets',
    title: 'Help desk',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-resets.js'),
  },
  {
    path: '/admin/outbox',
    title: 'Outbox',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-outbox.js'),
  },
  {
    path: '/admin/settings',
    title: 'Account settings',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-settings.js'),
  },
  {
    path: '/admin/groups',
    title: 'Groups',
    auth: true,
    admin: true,
    load: () => import('./pages/admin-groups.js'),
  },
];

/**
 * The admin section's pages, for its sub-navigation. `roles`: only these roles see the link (the
 * help desk is not shown pages whose every call the server would refuse it).
 */
export const ADMIN_LINKS: Array<{ path: string; label: string; roles?: string[] }> = [
  { path: '/admin/users', label: 'Users' },
  { path: '/admin/insights', label: 'Lock-out risk' },
  { path: '/admin/tokens', label: 'Hardware tokens' },
  { path: '/admin/audit', label: 'Audit log' },
  { path: '/admin/alerts', label: 'Alerts' },
  { path: '/admin/policies', label: 'Policies', roles: ['owner', 'admin'] },
  { path: '/admin/applications', label: 'Applications' },
  { path: '/admin/resets', label: 'Help desk' },
  { path: '/admin/outbox', label: 'Outbox', roles: ['owner', 'admin'] },
  { path: '/admin/groups', label: 'Groups', roles: ['owner', 'admin'] },
  { path: '/admin/settings', label: 'Settings', roles: ['owner', 'admin'] },
];

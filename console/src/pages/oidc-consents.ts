import { del, get, seg } from '../api.js';
import { busy, formatTime, h, replaceChildren, statusLine } from '../dom.js';
import { describeError } from '../messages.js';

/** One application the user let sign them in (remembered OpenID Connect consent). */
interface Consent {
  clientId: string;
  clientName: string;
  scopes: string[];
  grantedAt: string;
}

/** "Applications": the user's remembered consents, each revocable (its tokens end with it). */
export async function consentSection(section: HTMLElement, message?: string): Promise<void> {
  const status = statusLine();
  if (message) status.info(message);
  const { consents } = await get<{ consents: Consent[] }>('/v1/me/oidc-consents');
  const rows = consents.map((c) => {
    const revoke = h('button', { type: 'button', class: 'secondary' }, 'Revoke');
    revoke.addEventListener('click', () => {
      void busy(revoke, async () => {
        try {
          await del(`/v1/me/oidc-consents/${seg(c.clientId)}`);
          await consentSection(section, `${c.clientName} can no longer sign you in without asking.`);
        } catch (err) {
          status.error(describeError(err));
        }
      });
    });
    return h(
      'li',
      {},
      h('strong', {}, c.clientName),
      ` (${c.scopes.join(', ')}), allowed ${formatTime(c.grantedAt)} `,
      revoke,
    );
  });
  replaceChildren(
    section,
    h('h2', { id: 'applications-title' }, 'Applications'),
    consents.length === 0
      ? h('p', {}, 'No application signs you in through Holdfast.')
      : h('ul', {}, ...rows),
    status.el,
  );
}

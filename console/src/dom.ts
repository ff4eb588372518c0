/** Child content `h` accepts: nodes, text (always inserted as text, never as HTML), or nothing. */
export type Child = Node | string | number | null | undefined | false | Child[];

/** Attributes and properties `h` accepts; `on*` functions become event listeners. */
export type Props = Record<string, string | number | boolean | null | undefined | EventListener>;

/**
 * Creates an element. Text children become text nodes, so nothing a server or user sends can
 * become markup (no innerHTML anywhere in the console).
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (flattening arrays, skipping empty values). */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let fieldSeq = 0;
/** A unique element id for label/control pairs. */
export function uniqueId(prefix: string): string {
  fieldSeq++;
  return `${prefix}-${fieldSeq}`;
}

/** A labelled form control: `<label for>` plus the control, wrapped in a field block. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLDivElement {
  if (!control.id) control.id = uniqueId(control.name || 'field');
  const hintEl = hint === undefined ? null : h('p', { class: 'hint', id: `${control.id}-hint` }, hint);
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/**
 * Splits a message made by describeError ("Words. (CODE, request ID)") into its words and the
 * codes behind them; a message without codes is all words.
 */
export function splitCodes(message: string): { words: string; codes: string[] } {
  const m = /^([\s\S]*?)\s*\(([A-Z][A-Z0-9_]+)(?:, request ([^)]+))?\)$/.exec(message);
  if (m === null) return { words: message, codes: [] };
  return { words: m[1]!, codes: [`Code ${m[2]!}`, ...(m[3] ? [`Request ${m[3]}`] : [])] };
}

/**
 * A status line for a form: `role="alert"` for errors so screen readers announce them. An error's
 * words are shown; its code and request id wait behind a "Details" toggle, for support.
 */
export function statusLine(): {
  el: HTMLDivElement;
  error(text: string): void;
  info(text: string): void;
  clear(): void;
} {
  const el = h('div', { class: 'status', 'aria-live': 'polite' });
  return {
    el,
    error(text) {
      el.className = 'status error';
      el.setAttribute('role', 'alert');
      const { words, codes } = splitCodes(text);
      el.replaceChildren(
        words,
        ...(codes.length === 0
          ? []
          : [
              h(
                'details',
                { class: 'codes' },
                h('summary', {}, 'Details'),
                ...codes.map((c) => h('span', { class: 'code' }, c)),
              ),
            ]),
      );
    },
    info(text) {
      el.className = 'status info';
      el.removeAttribute('role');
      el.textContent = text;
    },
    clear() {
      el.className = 'status';
      el.removeAttribute('role');
      el.textContent = '';
    },
  };
}

/** Formats an ISO time for people (local time), or a dash for none. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Disables a form's controls while `work` runs, so a double click cannot send twice. */
export async function busy<T>(form: HTMLFormElement | HTMLElement, work: () => Promise<T>): Promise<T> {
  const controls = [
    ...form.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input, select, textarea'),
  ];
  const was = controls.map((c) => c.disabled);
  controls.forEach((c) => (c.disabled = true));
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    controls.forEach((c, i) => (c.disabled = was[i] ?? false));
    form.removeAttribute('aria-busy');
  }
}

/** Focuses an element once the current work (which may have disabled it) is over. */
export function focusLater(el: HTMLElement): void {
  setTimeout(() => el.focus(), 0);
}

/**
 * Gives every body cell of the data tables under `root` a `data-label` from its column header,
 * so narrow screens can show each row as a labelled list (see styles.css) instead of scrolling
 * sideways. Cells that carry a label already keep it.
 */
export function labelTables(root: ParentNode): void {
  for (const table of Array.from(root.querySelectorAll('table.data'))) {
    const headers = Array.from(table.querySelectorAll('thead th')).map((th) => th.textContent?.trim() ?? '');
    for (const row of Array.from(table.querySelectorAll('tbody tr'))) {
      Array.from(row.children).forEach((cell, i) => {
        const label = headers[i];
        if (label && !cell.hasAttribute('data-label')) cell.setAttribute('data-label', label);
      });
    }
  }
}

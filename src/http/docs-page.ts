/** A plain HTML page listing the API's operations from the OpenAPI document (no script, CSP-safe). */
export function renderDocsPage(spec: {
  paths?: Record<string, Record<string, { summary?: string; tags?: string[] }>>;
}): string {
  const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(spec.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      rows.push(
        `<tr><td><code>${escape(method.toUpperCase())}</code></td><td><code>${escape(path)}</code></td><td>${escape(
          op.summary ?? '',
        )}</td></tr>`,
      );
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Holdfast API</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}td{border-bottom:1px solid #ddd;padding:.3rem .5rem}</style>
</head><body><h1>Holdfast API</h1>
<p>The machine-readable document is at <a href="/v1/openapi.json">/v1/openapi.json</a>. Errors use one shape:
<code>{"error": {"code", "message", "requestId"}}</code>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>Summary</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>`;
}

// API keys for the issuer and auditor pages: kept in sessionStorage (this tab only; never a cookie or a
// URL), sent as `Authorization: Bearer` to this service's JSON API. Plus small DOM helpers.

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && typeof body === 'object' ? (body.detail || body.title) : String(body || '');
    super(detail || `request failed (${status})`);
    this.status = status;
    this.code = body && typeof body === 'object' ? body.code : undefined;
    this.body = body;
  }
}

export function keyStore(role) {
  const name = `certnet.${role}.apiKey`;
  return {
    get: () => sessionStorage.getItem(name),
    set: (key) => sessionStorage.setItem(name, key),
    clear: () => sessionStorage.removeItem(name),
  };
}

export async function api(key, path, { method = 'GET', body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${key}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, credentials: 'omit', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (raw && response.ok) return response;
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Element builder: el('a', {href: '/x', class: 'y'}, 'text', child). Text is never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function short(hash, n = 8) {
  if (!hash) return '';
  return hash.length <= 2 * n + 1 ? hash : `${hash.slice(0, n)}…${hash.slice(-6)}`;
}

export function utc(seconds) {
  if (!seconds) return '';
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wires the key form of a page. `probe` is a path the key must be allowed to read; `onReady(key)` runs
 * once a key works (also at load, when this tab already holds one).
 */
export function setupKey(role, probe, onReady) {
  const store = keyStore(role);
  const form = document.getElementById('key-form');
  const input = document.getElementById('api-key');
  const error = document.getElementById('key-error');
  const section = document.getElementById('key-section');
  const signedIn = document.getElementById('signed-in');
  const workspace = document.getElementById('workspace');
  const prefix = document.getElementById('key-prefix');

  function show(key) {
    section.hidden = Boolean(key);
    signedIn.hidden = !key;
    workspace.hidden = !key;
    prefix.textContent = key ? `${key.slice(0, 10)}…` : '';
  }

  async function use(key, fromForm) {
    error.hidden = true;
    try {
      await api(key, probe);
    } catch (e) {
      store.clear();
      show(null);
      if (fromForm) {
        error.textContent = e.status === 401 ? 'This key is not valid.'
          : e.status === 403 ? `This is not an ${role} key: ${e.message}` : `The key could not be checked: ${e.message}`;
        error.hidden = false;
        input.focus();
      }
      return;
    }
    store.set(key);
    input.value = '';
    show(key);
    await onReady(key);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key) use(key, true);
  });
  document.getElementById('forget-key').addEventListener('click', () => {
    store.clear();
    show(null);
    input.focus();
  });
  const existing = store.get();
  show(null);
  if (existing) use(existing, false);
  return store;
}

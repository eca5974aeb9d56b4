// A QR capability link: /portal/q/<token>#<key>. The key is in the URL fragment, which the browser never
// sends to the service. This page fetches the ciphertext by token, decrypts it here (WebCrypto AES-GCM, the
// token as associated data), then verifies the document by presenting it to the portal's verification, and
// shows that page's verdict and certificate. A wrong key shows an error and nothing else.
const root = document.getElementById('capability');
const token = root.dataset.token;
const step = document.getElementById('capability-step');
const error = document.getElementById('capability-error');

function fail(message) {
  document.getElementById('capability-progress').hidden = true;
  error.textContent = message;
  error.hidden = false;
  document.title = 'QR link could not be opened · certnet';
}

function unb64url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function open() {
  const fragment = window.location.hash.slice(1);
  if (!/^[A-Za-z0-9_-]{43}$/.test(fragment)) {
    fail('This QR link is incomplete: the key after "#" is missing or cut. Scan the QR code again or copy the whole link.');
    return;
  }
  let key;
  try {
    key = await crypto.subtle.importKey('raw', unb64url(fragment), { name: 'AES-GCM' }, false, ['decrypt']);
  } catch (e) {
    fail('This QR link cannot be opened: its key is not valid.');
    return;
  }
  const response = await fetch(`/portal/api/q/${encodeURIComponent(token)}`, { credentials: 'omit', cache: 'no-store' });
  if (!response.ok) {
    let detail = '';
    try { detail = (await response.json()).detail || ''; } catch (e) { /* not JSON */ }
    if (response.status === 410) { window.location.reload(); return; } // withdrawn: the page shows the status
    fail(`The certificate behind this QR link could not be fetched${detail ? `: ${detail}` : ''}.`);
    return;
  }
  const sealed = await response.json();
  let text;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: unb64url(sealed.nonce), additionalData: new TextEncoder().encode(token), tagLength: 128 },
      key, unb64url(sealed.ciphertext));
    text = new TextDecoder().decode(plain);
  } catch (e) {
    fail('This QR link cannot be opened: its key does not match. Scan the QR code again or copy the whole link.');
    return;
  }
  step.textContent = 'Verifying the certificate…';
  const body = new FormData();
  body.append('document', text);
  const verified = await fetch('/portal/verify', { method: 'POST', body, credentials: 'omit', cache: 'no-store' });
  const html = await verified.text();
  const page = new DOMParser().parseFromString(html, 'text/html');
  const main = page.getElementById('main');
  if (!verified.ok || !main) {
    fail(`The certificate could not be verified now (HTTP ${verified.status}). Try again later.`);
    return;
  }
  document.getElementById('main').replaceChildren(...[...main.childNodes].map((n) => document.adoptNode(n)));
  document.title = page.title;
  for (const button of document.querySelectorAll('[data-action="print"]')) {
    button.addEventListener('click', () => window.print());
  }
}

open().catch((e) => fail(`This QR link could not be opened: ${e.message}`));

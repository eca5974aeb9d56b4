// The verify form: drag and drop onto the drop zone, a size check before upload, a busy state.
const form = document.getElementById('verify-form');
const input = document.getElementById('file');
const zone = document.getElementById('dropzone');
const pasted = document.getElementById('document');
const chosen = document.getElementById('file-chosen');
const error = document.getElementById('client-error');
const button = document.getElementById('verify-button');
const maxBytes = Number(form.dataset.maxBytes || 0);

function showError(message) {
  error.textContent = message;
  error.hidden = !message;
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function tooBig(bytes) {
  return maxBytes > 0 && bytes > maxBytes;
}

function describe(file) {
  chosen.textContent = file ? `Chosen: ${file.name} (${size(file.size)})` : '';
}

function accept(file) {
  if (tooBig(file.size)) {
    showError(`This file is ${size(file.size)}; documents up to ${size(maxBytes)} can be verified.`);
    input.value = '';
    describe(null);
    return false;
  }
  showError('');
  describe(file);
  return true;
}

input.addEventListener('change', () => {
  const file = input.files && input.files[0];
  if (file) accept(file); else describe(null);
});

for (const type of ['dragenter', 'dragover']) {
  zone.addEventListener(type, (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    zone.classList.add('is-over');
  });
}
for (const type of ['dragleave', 'dragend']) {
  zone.addEventListener(type, () => zone.classList.remove('is-over'));
}
zone.addEventListener('drop', (event) => {
  event.preventDefault();
  zone.classList.remove('is-over');
  const files = event.dataTransfer && event.dataTransfer.files;
  if (!files || files.length === 0) return;
  if (files.length > 1) {
    showError('Drop one document at a time.');
    return;
  }
  if (!accept(files[0])) return;
  input.files = files;
  form.requestSubmit();
});
// A file dropped next to the box must not make the browser leave the page to show it.
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => event.preventDefault());

form.addEventListener('submit', (event) => {
  const file = input.files && input.files[0];
  const text = pasted.value;
  if (!file && !text.trim()) {
    event.preventDefault();
    showError('Choose a document file, drop one on the box, or paste the document text, then press Verify.');
    pasted.focus();
    return;
  }
  const bytes = file ? file.size : new Blob([text]).size;
  if (tooBig(bytes)) {
    event.preventDefault();
    showError(`The document is ${size(bytes)}; documents up to ${size(maxBytes)} can be verified.`);
    return;
  }
  showError('');
  button.disabled = true;
  button.textContent = 'Verifying…';
  form.setAttribute('aria-busy', 'true');
});

// Coming back with the browser's back button: make the form usable again.
window.addEventListener('pageshow', () => {
  button.disabled = false;
  button.textContent = 'Verify';
  form.removeAttribute('aria-busy');
});

// A pasted QR capability link (…/portal/q/<token>#<key>) is opened here, in the browser: its key must not be
// sent to the service as a query parameter.
const linkForm = document.querySelector('form[action="/portal/open"]');
if (linkForm) {
  linkForm.addEventListener('submit', (event) => {
    const text = linkForm.elements.link.value.trim();
    const m = /\/portal\/q\/([A-Za-z0-9_-]{16,64})#([A-Za-z0-9_-]+)/.exec(text);
    if (m) {
      event.preventDefault();
      window.location.assign(`/portal/q/${m[1]}#${m[2]}`);
    }
  });
}

// The issuer page: batches and documents from the JSON API, revocation with a reason, supersession.
import { api, el, setupKey, short, sleep, utc } from './keys.js';

let key = null;
let documents = new Map();
const statusLine = document.getElementById('status');
const dialog = document.getElementById('revoke-dialog');
const stateFilter = document.getElementById('state-filter');
let revoking = null;

function say(message, tone = '') {
  statusLine.textContent = message;
  statusLine.className = `status-line${tone ? ` tone-${tone}` : ''}`;
}

function fill(tableId, rows, emptyId) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...rows);
  document.getElementById(emptyId).hidden = rows.length > 0;
}

const STATE_WORDS = { SUBMITTED: 'Submitted', BATCHED: 'Batched', SENT: 'Sent', ANCHORED: 'Anchored' };

async function loadBatches() {
  const batches = await api(key, '/v1/batches?limit=100');
  fill('batches', batches.map((b) => el('tr', { dataset: { batch: b.id } },
    el('td', {}, `#${b.id}`),
    el('td', {}, b.documentType),
    el('td', { class: 'num' }, b.count),
    el('td', {}, el('span', { class: `state state-${b.state.toLowerCase()}` }, STATE_WORDS[b.state] || b.state)),
    el('td', { class: 'num' }, b.blockNumber ?? ''),
    el('td', {}, utc(b.anchoredAt)),
    el('td', { class: 'mono', title: b.transactionHash || '' }, short(b.transactionHash)),
  )), 'batches-empty');
}

function chainCell(doc, status) {
  if (!status) return doc.state === 'ANCHORED' ? '…' : 'Not yet';
  if (status.status === 'REVOKED') {
    return el('span', { class: 'state state-revoked' },
      `Revoked: ${status.revocationReasonText || status.revocationReason}`,
      status.revokedAtUtc ? ` (${status.revokedAtUtc})` : '');
  }
  if (status.status === 'SUPERSEDED') return el('span', { class: 'state state-superseded' }, 'Replaced');
  if (status.status === 'ISSUED') return el('span', { class: 'state state-valid' }, 'In force');
  return 'Not yet';
}

function renderDocuments(list, statuses) {
  fill('documents', list.map((d) => {
    const status = statuses.get(d.targetHash);
    const actions = el('td', { class: 'actions-cell' });
    if (d.targetHash && d.state === 'ANCHORED') {
      actions.append(el('a', { href: `/portal/certificates/${d.targetHash}`, class: 'button button-small button-secondary',
        'aria-label': `Certificate ${d.referenceNumber}` }, 'Certificate'));
      if (!status || status.status === 'ISSUED') {
        actions.append(' ', el('button', {
          type: 'button', class: 'button button-small button-danger', dataset: { revoke: d.id },
          'aria-label': `Revoke ${d.referenceNumber}`, onclick: () => openRevoke(d),
        }, 'Revoke…'));
      }
    }
    return el('tr', { dataset: { document: d.id, reference: d.referenceNumber } },
      el('td', { class: 'num' }, d.id),
      el('td', {}, d.referenceNumber),
      el('td', {}, d.documentType),
      el('td', {}, el('span', { class: `state state-${d.state.toLowerCase()}` }, STATE_WORDS[d.state] || d.state)),
      el('td', {}, d.batchId ? `#${d.batchId}` : ''),
      el('td', { class: 'chain-status' }, chainCell(d, status)),
      actions);
  }), 'documents-empty');
}

async function loadDocuments() {
  const state = stateFilter.value;
  const list = await api(key, `/v1/documents?limit=100${state ? `&state=${encodeURIComponent(state)}` : ''}`);
  documents = new Map(list.map((d) => [d.id, d]));
  const statuses = new Map();
  renderDocuments(list, statuses);
  const anchored = list.filter((d) => d.targetHash && d.merkleRoot && d.state === 'ANCHORED');
  if (anchored.length) {
    try {
      const answer = await api(key, '/portal/api/status', {
        method: 'POST', body: { documents: anchored.map((d) => ({ targetHash: d.targetHash, merkleRoot: d.merkleRoot })) },
      });
      for (const s of answer.documents) statuses.set(s.targetHash, s);
      renderDocuments(list, statuses);
    } catch (e) {
      say(`The status on the network could not be read: ${e.message}`, 'warn');
    }
  }
}

async function refresh() {
  try {
    await Promise.all([loadBatches(), loadDocuments()]);
  } catch (e) {
    say(`Could not load your batches and documents: ${e.message}`, 'bad');
  }
}

function openRevoke(doc) {
  revoking = doc;
  document.getElementById('revoke-ref').textContent = doc.referenceNumber;
  document.getElementById('revoke-reason').value = 'UNSPECIFIED';
  document.getElementById('revoke-batch').checked = false;
  dialog.returnValue = '';
  dialog.showModal();
  document.getElementById('revoke-reason').focus();
}

async function follow(action, what) {
  const deadline = Date.now() + 120000;
  let a = action;
  while (a.state !== 'DONE' && a.state !== 'FAILED' && Date.now() < deadline) {
    await sleep(400);
    a = await api(key, `/v1/actions/${action.id}`);
  }
  return a;
}

async function revoke(doc, reason, wholeBatch) {
  const reasonText = document.querySelector(`#revoke-reason option[value="${reason}"]`)?.textContent || reason;
  say(`Revoking ${doc.referenceNumber}…`);
  try {
    const action = await api(key, `/v1/documents/${doc.id}/revoke`, { method: 'POST', body: { reason, wholeBatch } });
    const done = await follow(action);
    if (done.state === 'DONE') {
      say(`${doc.referenceNumber} is revoked (${reasonText.toLowerCase()})${wholeBatch ? ', with its whole batch' : ''}: `
        + `transaction ${short(done.transactionHash)} in block ${done.blockNumber}.`, 'ok');
    } else if (done.state === 'FAILED') {
      say(`The revocation of ${doc.referenceNumber} failed: ${done.error || 'refused by the registry'}.`, 'bad');
    } else {
      say(`The revocation of ${doc.referenceNumber} is still pending (${done.state}); refresh later.`, 'warn');
    }
  } catch (e) {
    say(`The revocation of ${doc.referenceNumber} was refused: ${e.message}`, 'bad');
  }
  await refresh();
}

dialog.addEventListener('close', () => {
  const doc = revoking;
  revoking = null;
  if (dialog.returnValue === 'confirm' && doc) {
    revoke(doc, document.getElementById('revoke-reason').value, document.getElementById('revoke-batch').checked);
  }
});
document.getElementById('revoke-cancel').addEventListener('click', () => dialog.close('cancel'));

document.getElementById('supersede-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const oldId = Number(document.getElementById('old-id').value);
  const newId = Number(document.getElementById('new-id').value);
  say(`Replacing document ${oldId} by document ${newId}…`);
  try {
    const action = await api(key, `/v1/documents/${oldId}/supersede`, { method: 'POST', body: { successorId: newId } });
    const done = await follow(action);
    if (done.state === 'DONE') say(`Document ${oldId} is replaced by document ${newId}: transaction ${short(done.transactionHash)}.`, 'ok');
    else if (done.state === 'FAILED') say(`The replacement failed: ${done.error || 'refused by the registry'}.`, 'bad');
    else say(`The replacement is still pending (${done.state}); refresh later.`, 'warn');
  } catch (e) {
    say(`The replacement was refused: ${e.message}`, 'bad');
  }
  await refresh();
});

document.getElementById('refresh').addEventListener('click', refresh);
stateFilter.addEventListener('change', () => loadDocuments().catch((e) => say(e.message, 'bad')));

setupKey('issuer', '/v1/batches?limit=1', async (k) => {
  key = k;
  await refresh();
});

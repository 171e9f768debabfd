// Crucible dashboard: keeps the jobs table and a running job's progress
// current by polling the server's read-only JSON API (/api/v1). Data from the
// server is only ever written with textContent and element attributes, never
// parsed as HTML.
'use strict';

const POLL_MS = 1000;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

function el(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function seconds(timestamp) {
  return timestamp ? Date.parse(timestamp) / 1000 : NaN;
}

function timeText(timestamp) {
  if (!timestamp) return '';
  const t = new Date(timestamp);
  if (isNaN(t.getTime()) || t.getTime() === 0) return '';
  return t.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function durationText(job) {
  const start = seconds(job.started_at);
  if (!job.started_at || isNaN(start) || start <= 0) return '';
  const finished = seconds(job.finished_at);
  const end = TERMINAL.has(job.state) && finished > 0 ? finished : Date.now() / 1000;
  const s = Math.max(0, end - start);
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + String(Math.floor(s % 60)).padStart(2, '0') + 's';
  return Math.floor(s / 3600) + 'h ' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
}

function progressText(progress) {
  const p = progress || {};
  let text = ((p.fraction || 0) * 100).toFixed(2) + '%';
  if (p.stage) text += ' · ' + p.stage;
  if (p.message) text += ' — ' + p.message;
  return text;
}

async function getJson(url, headers) {
  const response = await fetch(url, {cache: 'no-store'});
  if (!response.ok) throw new Error(url + ': HTTP ' + response.status);
  if (headers) response.headers.forEach((value, name) => (headers[name] = value));
  return response.json();
}

// --- the jobs table (/) ---

function jobsPage() {
  const params = new URLSearchParams(location.search);
  const state = document.getElementById('filter-state');
  const engine = document.getElementById('filter-engine');
  const model = document.getElementById('filter-model');
  const pageSize = document.getElementById('page-size');
  const body = document.getElementById('jobs-body');
  const empty = document.getElementById('jobs-empty');
  const prev = document.getElementById('page-prev');
  const next = document.getElementById('page-next');
  const pageNumber = document.getElementById('page-number');
  const updated = document.getElementById('jobs-updated');
  state.value = params.get('state') || '';
  engine.value = params.get('engine') || '';
  model.value = params.get('model') || '';
  if (params.get('page_size')) pageSize.value = params.get('page_size');

  // Page tokens of the pages before the current one; the current page's token is last.
  let tokens = [''];
  let nextToken = '';
  let generation = 0;  // Ignores answers to requests made before the filters changed.
  const modelNames = new Map();

  function modelName(id, cell) {
    if (modelNames.has(id)) {
      cell.textContent = modelNames.get(id) || id.slice(0, 12);
      return;
    }
    modelNames.set(id, '');
    cell.textContent = id.slice(0, 12);
    getJson('/api/v1/models/' + encodeURIComponent(id))
        .then((m) => {
          modelNames.set(id, m.name || id.slice(0, 12));
          for (const c of body.querySelectorAll('td.model')) {
            if (c.dataset.modelId === id) c.textContent = modelNames.get(id);
          }
        })
        .catch(() => {});
  }

  function row(job) {
    const tr = el('tr', {'data-job-id': job.id, 'data-state': job.state});
    const idCell = el('td');
    idCell.append(el('a', {href: '/jobs/' + encodeURIComponent(job.id)}, job.id.slice(0, 12)));
    tr.append(idCell);
    const stateCell = el('td');
    stateCell.append(el('span', {class: 'state state-' + job.state}, job.state));
    tr.append(stateCell);
    tr.append(el('td', {class: 'engine'}, job.engine));
    const modelCell = el('td', {class: 'model', 'data-model-id': job.spec.model_id, title: job.spec.model_id});
    modelName(job.spec.model_id, modelCell);
    tr.append(modelCell);
    const progressCell = el('td', {class: 'progress-cell'});
    const bar = el('progress', {max: '1'});
    bar.value = (job.progress && job.progress.fraction) || 0;
    progressCell.append(bar, el('span', {title: progressText(job.progress)}, progressText(job.progress)));
    tr.append(progressCell);
    tr.append(el('td', {}, timeText(job.created_at)));
    tr.append(el('td', {class: 'duration'}, durationText(job)));
    return tr;
  }

  function query(token) {
    const q = new URLSearchParams({view: 'summary', page_size: pageSize.value});
    if (state.value) q.set('state', state.value);
    if (engine.value) q.set('engine', engine.value);
    if (model.value.trim()) q.set('model_id', model.value.trim());
    if (token) q.set('page_token', token);
    return '/api/v1/jobs?' + q.toString();
  }

  async function refresh() {
    const asked = generation;
    try {
      const headers = {};
      const page = await getJson(query(tokens[tokens.length - 1]), headers);
      if (asked !== generation) return;
      body.replaceChildren(...page.jobs.map(row));
      empty.hidden = page.jobs.length > 0;
      nextToken = page.next_page_token;
      next.disabled = !nextToken;
      prev.disabled = tokens.length <= 1;
      const total = Number(headers['x-total-count']);
      const pageCount = Math.max(1, Math.ceil(total / Number(pageSize.value)));
      pageNumber.textContent = isNaN(total) ? 'page ' + tokens.length :
          'page ' + tokens.length + ' of ' + pageCount + ' · ' + total + (total === 1 ? ' job' : ' jobs');
      updated.textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (error) {
      updated.textContent = 'update failed: ' + error.message;
    }
  }

  function filtersChanged() {
    generation++;
    tokens = [''];
    const q = new URLSearchParams();
    if (state.value) q.set('state', state.value);
    if (engine.value) q.set('engine', engine.value);
    if (model.value.trim()) q.set('model', model.value.trim());
    if (pageSize.value !== '50') q.set('page_size', pageSize.value);
    history.replaceState(null, '', q.toString() ? '?' + q.toString() : location.pathname);
    refresh();
  }

  for (const control of [state, engine, pageSize]) control.addEventListener('change', filtersChanged);
  model.addEventListener('change', filtersChanged);
  document.getElementById('job-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    filtersChanged();
  });
  next.addEventListener('click', () => {
    if (!nextToken) return;
    generation++;
    tokens.push(nextToken);
    refresh();
  });
  prev.addEventListener('click', () => {
    if (tokens.length <= 1) return;
    generation++;
    tokens.pop();
    refresh();
  });
  refresh();
  setInterval(refresh, POLL_MS);
}

// --- one job (/jobs/{id}) ---

function jobPage() {
  const id = document.body.dataset.jobId;
  if (TERMINAL.has(document.body.dataset.jobState)) return;
  const badge = document.getElementById('job-state');
  const bar = document.getElementById('job-progress');
  const text = document.getElementById('job-progress-text');
  const duration = document.getElementById('job-duration');
  const timer = setInterval(async () => {
    try {
      const job = await getJson('/api/v1/jobs/' + encodeURIComponent(id) + '?view=summary');
      badge.textContent = job.state;
      badge.className = 'state state-' + job.state;
      bar.value = (job.progress && job.progress.fraction) || 0;
      text.textContent = progressText(job.progress);
      duration.textContent = durationText(job);
      if (TERMINAL.has(job.state)) {
        // The report, pictures and artifacts are rendered by the server.
        clearInterval(timer);
        location.reload();
      }
    } catch (error) {
      text.textContent = 'update failed: ' + error.message;
    }
  }, POLL_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  if (document.body.dataset.page === 'jobs') jobsPage();
  if (document.body.dataset.page === 'job') jobPage();
});

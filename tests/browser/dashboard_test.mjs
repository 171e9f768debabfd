// The dashboard in a real browser: headless Chromium (Debian's) driven by
// playwright-core against a live crucible-server started with --http.
//
//   node dashboard_test.mjs SERVER_BINARY CLI_BINARY FIXTURES_DIR OUTPUT_DIR
//
// Checks, in order:
//  - a job submitted through the `crucible` CLI appears on / and its row goes
//    from QUEUED/RUNNING to SUCCEEDED with a full progress bar while the page
//    stays loaded (a marker set on window before the job survives);
//  - the job's page shows the robustness curve (one point per epsilon of the
//    sweep, at the robust accuracies of the report) and the example grid PNG
//    (decoded by the browser: naturalWidth > 0);
//  - a model named with HTML and script shows as plain text on /models and /
//    and nothing in it runs;
//  - no page logs an error (which includes Content-Security-Policy violations).
// Screenshots go to OUTPUT_DIR. Exit status 0 when every check passes.
import {spawn, execFileSync} from 'node:child_process';
import {mkdtempSync, writeFileSync, mkdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {chromium} from 'playwright-core';

const [serverBinary, cliBinary, fixtures, outputDir] = process.argv.slice(2);
if (!outputDir) {
  console.error('usage: node dashboard_test.mjs SERVER_BINARY CLI_BINARY FIXTURES_DIR OUTPUT_DIR');
  process.exit(2);
}
mkdirSync(outputDir, {recursive: true});

const EPSILONS = [0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2];
const HOSTILE_NAME = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>&amp; "model"';
const CHROMIUM = process.env.CHROMIUM_BINARY || '/usr/bin/chromium';

let failures = 0;
function check(condition, what) {
  console.log((condition ? 'ok    ' : 'FAIL  ') + what);
  if (!condition) failures++;
}

function startServer(dataDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(serverBinary, ['--listen=127.0.0.1:0', '--data_dir=' + dataDir, '--http=127.0.0.1:0',
                                       '--workers=1', '--threads_per_job=1'],
                        {stdio: ['ignore', 'ignore', 'pipe']});
    let log = '';
    const timer = setTimeout(() => reject(new Error('server did not start:\n' + log)), 20000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /event=server_started .*port=(\d+).* http=(\S+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve({child, grpc: '127.0.0.1:' + match[1], http: 'http://' + match[2]});
      }
    });
    child.on('exit', (code) => reject(new Error('server exited with ' + code + ':\n' + log)));
  });
}

// Runs the CLI to completion; resolves with its exit code and output.
function cli(server, args) {
  return new Promise((resolve) => {
    const child = spawn(cliBinary, ['--server', server, ...args], {stdio: ['ignore', 'pipe', 'pipe']});
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', () => {});
    child.on('exit', (code) => resolve({code, out}));
  });
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'crucible_browser_'));
  const server = await startServer(dataDir);
  const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu']});
  try {
    const context = await browser.newContext({viewport: {width: 1280, height: 900}});
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    let dialogs = 0;
    page.on('dialog', (dialog) => {
      dialogs++;
      dialog.dismiss();
    });

    // Files the jobs use.
    const model = join(fixtures, 'models/fmnist_lenet.onnx');
    const hostileModel = join(fixtures, 'models/fmnist_mlp.onnx');
    const inputs = join(fixtures, 'data/fmnist_test_1000_images.npy');
    const labels = join(fixtures, 'data/fmnist_test_1000_labels.npy');
    const fgsmConfig = join(dataDir, 'fgsm.json');
    writeFileSync(fgsmConfig, JSON.stringify({epsilons: EPSILONS, preprocess: {scale: 1 / 255}}));
    const pgdConfig = join(dataDir, 'pgd.json');
    // Long enough to hold the only worker until the test cancels it, however fast the machine.
    writeFileSync(pgdConfig, JSON.stringify({epsilon: 0.1, steps: 100000, step_size: 0.0001,
                                             preprocess: {scale: 1 / 255}}));

    const upload = await cli(server.grpc, ['model', 'upload', '--name', HOSTILE_NAME, hostileModel]);
    check(upload.code === 0, 'model with an HTML/script name uploaded through the CLI');

    await page.goto(server.http + '/');
    await page.evaluate(() => (window.__stillTheSamePage = true));

    // One worker: the PGD job holds it, so the FGSM job is seen queued; once the page shows
    // it waiting, the PGD job is cancelled and the FGSM job runs to the end.
    const blocker = cli(server.grpc, ['run', '--engine', 'pgd', '--model', hostileModel, '--inputs', inputs,
                                      '--labels', labels, '--config', pgdConfig]);
    await new Promise((r) => setTimeout(r, 300));
    const fgsmRun = cli(server.grpc, ['run', '--engine', 'fgsm', '--model', model, '--inputs', inputs,
                                      '--labels', labels, '--config', fgsmConfig, '--json']);

    // Watch the FGSM row on the live page until it says SUCCEEDED.
    const seen = [];
    const deadline = Date.now() + 120000;
    let finalRow = null;
    let pgdRow = null;
    let blockerCancelled = false;
    while (Date.now() < deadline) {
      const rows = await page.$$eval('#jobs-body tr', (trs) => trs.map((tr) => ({
        id: tr.dataset.jobId,
        engine: tr.querySelector('td.engine').textContent,
        state: tr.dataset.state,
        progress: tr.querySelector('progress').value,
        model: tr.querySelector('td.model').textContent,
      })));
      const row = rows.find((r) => r.engine === 'fgsm');
      pgdRow = rows.find((r) => r.engine === 'pgd') || pgdRow;
      if (row) {
        const last = seen[seen.length - 1];
        if (!last || last.state !== row.state || last.progress !== row.progress) seen.push(row);
        if (pgdRow && !blockerCancelled && row.state === 'QUEUED') {
          blockerCancelled = true;
          await cli(server.grpc, ['job', 'cancel', pgdRow.id]);
        }
        if (row.state === 'SUCCEEDED') {
          finalRow = row;
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log('fgsm row states seen: ' + seen.map((r) => r.state + '@' + r.progress.toFixed(2)).join(' → '));
    const fgsm = await fgsmRun;
    await blocker;
    check(fgsm.code === 0, 'crucible run --engine fgsm exited 0');
    const job = JSON.parse(fgsm.out);
    check(finalRow !== null && finalRow.id === job.id, 'the CLI\'s job appears on / and reaches SUCCEEDED there');
    check(seen.length > 0 && ['QUEUED', 'RUNNING'].includes(seen[0].state),
          'the row was first seen ' + (seen[0] && seen[0].state) + ' (not yet finished)');
    check(finalRow !== null && finalRow.progress === 1, 'the progress bar is full once SUCCEEDED');
    check(await page.evaluate(() => window.__stillTheSamePage === true), 'the jobs page updated without a reload');
    check(finalRow !== null && finalRow.model === 'fmnist_lenet.onnx', 'the model column names the model');
    check(pgdRow !== null && pgdRow.model === HOSTILE_NAME, 'the model column shows the hostile name as text');
    await page.screenshot({path: join(outputDir, 'dashboard_jobs.png')});

    // Filters: the engine filter keeps only that engine's rows.
    await page.selectOption('#filter-engine', 'pgd');
    await page.waitForFunction(() => {
      const engines = [...document.querySelectorAll('#jobs-body td.engine')].map((td) => td.textContent);
      return engines.length === 1 && engines[0] === 'pgd';
    }, null, {timeout: 10000});
    check(new URL(page.url()).searchParams.get('engine') === 'pgd', 'the engine filter is kept in the URL');
    check((await page.textContent('#page-number')) === 'page 1 of 1 · 1 job', 'the pager counts the filtered jobs');

    // The job's page: curve and example grid.
    await page.goto(server.http + '/jobs/' + job.id);
    await page.waitForFunction(() => {
      const img = document.querySelector('img.artifact-image[alt="adversarial_examples.png"]');
      return img && img.complete;
    }, null, {timeout: 10000});
    const detail = await page.evaluate(() => {
      const img = document.querySelector('img.artifact-image[alt="adversarial_examples.png"]');
      return {
        state: document.getElementById('job-state').textContent,
        curvePoints: [...document.querySelectorAll('#curve svg.curve circle.curve-point')].map((c) => ({
          cy: Number(c.getAttribute('cy')),
          title: c.querySelector('title').textContent,
        })),
        curveLine: !!document.querySelector('#curve svg.curve polyline.curve-line'),
        barCount: document.querySelectorAll('#per-class svg.bars rect.bar').length,
        imageWidth: img.naturalWidth,
        imageHeight: img.naturalHeight,
        downloads: [...document.querySelectorAll('a.artifact-download')].map((a) => a.textContent),
      };
    });
    const curve = job.report.attack.curve;
    check(detail.state === 'SUCCEEDED', 'the job page shows SUCCEEDED');
    check(detail.curveLine && detail.curvePoints.length === EPSILONS.length,
          `the curve has one point per epsilon (${detail.curvePoints.length} of ${EPSILONS.length})`);
    // Points go down the page (larger cy) as robust accuracy falls, in the report's order.
    const expectedTitles = curve.map((p) => `${(p.robust_accuracy * 100).toFixed(2)}%`);
    check(detail.curvePoints.every((p, i) => p.title.endsWith(expectedTitles[i])),
          'each curve point carries the report\'s robust accuracy');
    check(detail.curvePoints.every((p, i) => i === 0 || p.cy >= detail.curvePoints[i - 1].cy - 1e-6) &&
              curve.every((p, i) => i === 0 || p.robust_accuracy <= curve[i - 1].robust_accuracy),
          'the curve falls as epsilon grows');
    check(detail.barCount === 20, `per-class bars: clean and robust for 10 classes (${detail.barCount})`);
    check(detail.imageWidth > 0 && detail.imageHeight > 0,
          `the example grid PNG is shown (${detail.imageWidth}x${detail.imageHeight})`);
    check(detail.downloads.includes('adversarial_examples.npy') && detail.downloads.includes('adversarial_examples.png'),
          'every artifact has a download link');
    const npy = await page.request.get(server.http + '/jobs/' + job.id + '/artifacts/adversarial_examples.npy');
    const npyBytes = await npy.body();
    check(npy.ok() && npyBytes.subarray(1, 6).toString() === 'NUMPY', 'the NPY artifact downloads');
    await page.screenshot({path: join(outputDir, 'dashboard_job.png'), fullPage: true});

    // The hostile model name is inert on /models.
    await page.goto(server.http + '/models');
    const models = await page.evaluate(() => ({
      names: [...document.querySelectorAll('td.model-name')].map((td) => td.textContent),
      injectedImages: document.querySelectorAll('main img').length,
      injectedScripts: document.querySelectorAll('main script').length,
      pwned: window.__pwned,
    }));
    check(models.names.length === 2 && models.names.includes(HOSTILE_NAME), '/models shows the name as text');
    check(models.injectedImages === 0 && models.injectedScripts === 0 && models.pwned === undefined && dialogs === 0,
          'nothing in the name became an element or ran');
    await page.screenshot({path: join(outputDir, 'dashboard_models.png')});

    check(pageErrors.length === 0, 'no page errors or CSP violations' +
          (pageErrors.length ? ': ' + pageErrors.join(' | ') : ''));
  } finally {
    await browser.close();
    server.child.kill('SIGTERM');
    rmSync(dataDir, {recursive: true, force: true});
  }
}

main().then(
    () => {
      console.log(failures === 0 ? 'all checks passed' : failures + ' check(s) failed');
      process.exit(failures === 0 ? 0 : 1);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    });

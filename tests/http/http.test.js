// The HTTP/JSON face from node's own fetch (undici), no npm packages: run by tests/http/http-test.sh
// with FANOUT_HTTP (the base URL), FANOUT_HTTP_GRPC (the same aggregator's gRPC address) and
// FANOUT_CLI (fanout-cli, for the byte-for-byte comparison).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');

const base = process.env.FANOUT_HTTP;
const features = 'listings,tours,offers';
const window = 'window_start=1764547200&window_end=1765152000';
const mask = (text) => text.replace(/"(elapsedUs|latencyUs)": ?"[0-9]+"/g, '"$1": "0"');

test('GET is byte for byte what fanout-cli query prints', async () => {
  const res = await fetch(`${base}/v1/customers/c-9/analytics?features=${features}&${window}`);
  assert.strictEqual(res.status, 200);
  assert.strictEqual(res.headers.get('content-type'), 'application/json');
  assert.match(res.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
  const cli = execFileSync(process.env.FANOUT_CLI, ['query', '--addr', process.env.FANOUT_HTTP_GRPC, '--customer', 'c-9',
    '--features', features, '--window-start', '1764547200', '--window-end', '1765152000']).toString();
  assert.strictEqual(mask(await res.text()), mask(cli));
});

test('POST with proto field names', async () => {
  const res = await fetch(`${base}/v1/analytics:query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customer_id: 'c-9', features: ['tours'], failure_policy: 'FAIL_FAST' }),
  });
  assert.strictEqual(res.status, 200);
  const body = await res.json();
  assert.strictEqual(body.customerId, 'c-9');
  assert.strictEqual(body.succeeded, 1);
});

test('errors are google.rpc.Status with the mapped HTTP status', async () => {
  let res = await fetch(`${base}/v1/analytics:query`, { method: 'POST', body: '{"customerId": "c", "nope": 1}' });
  assert.strictEqual(res.status, 400);
  const err = await res.json();
  assert.strictEqual(err.code, 3);
  assert.match(err.message, /nope/);
  assert.deepStrictEqual(err.details, []);
  res = await fetch(`${base}/nowhere`);
  assert.strictEqual(res.status, 404);
  res = await fetch(`${base}/v1/features`, { method: 'PUT' });
  assert.strictEqual(res.status, 405);
  res = await fetch(`${base}/v1/customers/c-9/analytics?features=tours&policy=FAIL_FAST`,
    { headers: { 'x-mock-fault': 'tours=error:PERMISSION_DENIED' } });
  assert.strictEqual(res.status, 403);
  assert.strictEqual(res.headers.get('fanout-failed-feature'), 'tours');
});

// Reads an event stream as it arrives: [{event, id, data}].
async function readEvents(res, onEvent) {
  const decoder = new TextDecoder();
  let buffered = '';
  const events = [];
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const ev = {};
      for (const line of block.split('\n')) {
        const colon = line.indexOf(': ');
        ev[line.slice(0, colon)] = line.slice(colon + 2);
      }
      events.push(ev);
      if (onEvent && onEvent(ev, events) === false) return events;
    }
  }
  return events;
}

test('SSE: one event per result as it completes, then done', async () => {
  const res = await fetch(`${base}/v1/customers/c-9/analytics:stream?features=${features}`,
    { headers: { 'x-mock-fault': 'offers=delay:300ms' } });
  assert.strictEqual(res.status, 200);
  assert.strictEqual(res.headers.get('content-type'), 'text/event-stream');
  const started = Date.now();
  const arrivals = [];
  const events = await readEvents(res, () => { arrivals.push(Date.now() - started); });
  assert.deepStrictEqual(events.map((e) => e.event), ['result', 'result', 'result', 'done']);
  assert.deepStrictEqual(events.slice(0, 3).map((e) => e.id), ['1', '2', '3']);
  // The slow feature is the last result, and the two fast ones came well before it.
  assert.strictEqual(JSON.parse(events[2].data).feature, 'offers');
  assert.ok(arrivals[0] + 150 < arrivals[2], `arrivals ${arrivals}`);
  const done = JSON.parse(events[3].data);
  assert.strictEqual(done.results, undefined);
  assert.strictEqual(done.succeeded, 3);
});

test('SSE: aborting the fetch mid-stream cancels the request', async () => {
  const controller = new AbortController();
  const res = await fetch(`${base}/v1/customers/c-9/analytics:stream?features=listings,documents`,
    { headers: { 'x-mock-fault': 'documents=hang', 'x-request-id': 'node-abort' }, signal: controller.signal });
  await assert.rejects(readEvents(res, () => { controller.abort(); }));
});

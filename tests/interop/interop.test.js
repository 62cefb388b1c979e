// The wire contract from an independent gRPC stack: grpc-js speaks HTTP/2
// through Node's own implementation and shares no code with gRPC's C core.
// What users do with grpcurl or a service in another language, checked here:
// server reflection (v1 and v1alpha) yields descriptors a client can call
// with, and every outcome of the contract arrives with its status, message,
// trailers and fields as protos/ define them.
//
//   FANOUT_AGG_ADDR=host:port FANOUT_MOCK_ADDR=host:port node --test tests/interop/interop.test.js
// (scripts/interop-test.sh starts a fleet and an aggregator and runs it.)
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const { GrpcReflection } = require('grpc-js-reflection-client');

const AGG = process.env.FANOUT_AGG_ADDR;
const MOCK = process.env.FANOUT_MOCK_ADDR;
// An aggregator with TLS, one with mutual TLS, and scripts/gen-certs.sh's files.
const TLS_AGG = process.env.FANOUT_TLS_AGG_ADDR;
const MTLS_AGG = process.env.FANOUT_MTLS_AGG_ADDR;
const CERTS = process.env.FANOUT_CERTS;
if (!AGG || !MOCK || !TLS_AGG || !MTLS_AGG || !CERTS)
  throw new Error('set FANOUT_AGG_ADDR, FANOUT_MOCK_ADDR, FANOUT_TLS_AGG_ADDR, FANOUT_MTLS_AGG_ADDR and FANOUT_CERTS');

const insecure = grpc.credentials.createInsecure();
const loadOpts = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true };
const pkg = grpc.loadPackageDefinition(
  loader.loadSync(['fanout/v1/aggregator.proto', 'fanout/feature/v1/feature.proto'],
                  { ...loadOpts, includeDirs: [path.join(__dirname, '../../protos')] }));
const aggregator = new pkg.fanout.v1.Aggregator(AGG, insecure);
const feature = new pkg.fanout.feature.v1.FeatureService(MOCK, insecure);
const raw = new grpc.Client(AGG, insecure);

function metadataOf(pairs) {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(pairs)) md.set(k, v);
  return md;
}

// A unary call that always resolves: {err, resp, headers, trailers}.
function unary(client, method, req, { metadata = {}, deadlineMs } = {}) {
  const md = metadataOf(metadata);
  const opts = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  return new Promise(resolve => {
    let headers = {}, trailers = {};
    const call = client[method](req, md, opts, (err, resp) => setImmediate(() => resolve({ err, resp, headers, trailers })));
    call.on('metadata', m => { headers = m.getMap(); });
    call.on('status', s => { trailers = s.metadata.getMap(); });
  });
}

// Bytes in, bytes out: for what a generated client cannot send.
function unaryRaw(method, bytes) {
  return new Promise(resolve =>
    raw.makeUnaryRequest(method, b => b, b => b, bytes, (err, resp) => resolve({ err, resp })));
}

function ok(r) {
  assert.equal(r.err, null, r.err && `${grpc.status[r.err.code]}: ${r.err.details}`);
  return r.resp;
}

function failed(r, code, detailsPattern) {
  assert.ok(r.err, `expected ${grpc.status[code]}, got OK`);
  assert.equal(grpc.status[r.err.code], grpc.status[code], r.err.details);
  if (detailsPattern) assert.match(r.err.details, detailsPattern);
}

test.after(() => {
  aggregator.close();
  feature.close();
  raw.close();
});

const fault = spec => ({ metadata: { 'x-mock-fault': spec } });

for (const version of ['v1', 'v1alpha']) {
  test(`reflection ${version}: lists the services and describes them well enough to call`, async () => {
    const reflection = new GrpcReflection(AGG, insecure, {}, version);
    const services = await reflection.listServices();
    for (const s of ['fanout.v1.Aggregator', 'grpc.health.v1.Health', `grpc.reflection.${version}.ServerReflection`])
      assert.ok(services.includes(s), `${s} not in ${services}`);
    const methods = (await reflection.listMethods('fanout.v1.Aggregator')).map(m => m.name);
    assert.deepEqual(methods.sort(), ['GetCustomerAnalytics', 'StreamCustomerAnalytics']);

    // The descriptor alone (its import of feature.proto included) makes a working client.
    const descriptor = await reflection.getDescriptorBySymbol('fanout.v1.Aggregator');
    const reflected = descriptor.getPackageObject(loadOpts);
    const client = new reflected.fanout.v1.Aggregator(AGG, insecure);
    const resp = ok(await unary(client, 'GetCustomerAnalytics', { customer_id: 'c-42', features: ['tours'] }));
    assert.equal(resp.results.length, 1);
    assert.equal(resp.results[0].usage.customer_id, 'c-42');
    client.close();

    const mockReflection = new GrpcReflection(MOCK, insecure, {}, version);
    const mockMethods = (await mockReflection.listMethods('fanout.feature.v1.FeatureService')).map(m => m.name);
    assert.deepEqual(mockMethods, ['GetUsage']);
  });
}

test('every configured feature, in configuration order, all succeeded', async () => {
  const resp = ok(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-42' }));
  assert.equal(resp.results.length, 12);
  assert.equal(resp.succeeded, 12);
  assert.ok(!resp.partial);
  resp.results.forEach((r, i) => {
    assert.equal(r.index || 0, i);
    assert.equal(r.outcome, 'usage');
    assert.equal(r.usage.feature, r.feature);
    assert.match(r.usage.events || '0', /^\d+$/, 'int64 comes as a decimal string');
  });
});

test('the requested features, in request order', async () => {
  const resp = ok(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-42', features: ['tours', 'offers'] }));
  assert.deepEqual(resp.results.map(r => r.feature), ['tours', 'offers']);
  for (const r of resp.results) assert.equal(r.usage.customerId, 'c-42');
});

test('invalid requests get INVALID_ARGUMENT naming the field', async () => {
  failed(await unary(aggregator, 'GetCustomerAnalytics', { customerId: '' }), grpc.status.INVALID_ARGUMENT, /customer_id/);
  failed(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-1', features: ['tours', 'tours'] }),
         grpc.status.INVALID_ARGUMENT, /features\[1\]/);
  failed(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-1', windowStartUnix: '200', windowEndUnix: '100' }),
         grpc.status.INVALID_ARGUMENT, /window_end_unix/);
  failed(await unaryRaw('/fanout.v1.Aggregator/GetCustomerAnalytics', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])),
         grpc.status.INVALID_ARGUMENT, /AnalyticsRequest/);
});

test('an unknown feature is a per-feature UNKNOWN_FEATURE under ALLOW_PARTIAL', async () => {
  const resp = ok(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-1', features: ['nope', 'tours'] }));
  assert.ok(resp.partial);
  assert.equal(resp.results[0].error.kind, 'UNKNOWN_FEATURE');
  assert.equal(resp.results[0].error.code, grpc.status.NOT_FOUND);
  assert.equal(resp.results[1].outcome, 'usage');
});

test('FAIL_FAST fails the call with the feature status, message and trailer', async () => {
  const r = await unary(aggregator, 'GetCustomerAnalytics',
                        { customerId: 'c-1', features: ['tours', 'offers'], failurePolicy: 'FAIL_FAST' },
                        fault('tours=error:UNAVAILABLE'));
  failed(r, grpc.status.UNAVAILABLE, /^feature tours: /);
  assert.equal(r.trailers['fanout-failed-feature'], 'tours');
});

test('ALLOW_PARTIAL reports each failure by kind and keeps the rest', async () => {
  let resp = ok(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-1', features: ['tours', 'offers'] },
                            fault('tours=error:UNAVAILABLE')));
  assert.equal(resp.results[0].error.kind, 'UNAVAILABLE');
  assert.equal(resp.results[0].error.code, grpc.status.UNAVAILABLE);
  assert.equal(resp.results[1].outcome, 'usage');
  assert.equal(resp.failed, 1);

  resp = ok(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-1', features: ['tours'] }, fault('tours=malformed')));
  assert.equal(resp.results[0].error.kind, 'MALFORMED_RESPONSE');
});

test("the client's deadline bounds the call: an early partial answer, or DEADLINE_EXCEEDED under FAIL_FAST", async () => {
  let t0 = Date.now();
  const resp = ok(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-1', features: ['tours', 'listings'] },
                              { ...fault('tours=delay:3s'), deadlineMs: 300 }));
  // OK itself says the answer came before the deadline (a later one is DEADLINE_EXCEEDED here).
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  assert.equal(resp.partial, true);
  assert.equal(resp.results[0].error.kind, 'DEADLINE');
  assert.equal(resp.results[1].outcome, 'usage');

  t0 = Date.now();
  const r = await unary(aggregator, 'GetCustomerAnalytics',
                        { customerId: 'c-1', features: ['tours'], failurePolicy: 'FAIL_FAST' },
                        { ...fault('tours=delay:3s'), deadlineMs: 300 });
  failed(r, grpc.status.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
});

test('a request over the size limit gets RESOURCE_EXHAUSTED', async () => {
  failed(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'x'.repeat(5 << 20) }), grpc.status.RESOURCE_EXHAUSTED);
});

test('x-request-id comes back in the headers: the client\'s own, or a new one', async () => {
  const id = '3f2b6c1e-0d4a-4c5e-9b7a-2e1f0a9d8c7b';
  const own = await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-1', features: ['tours'] },
                          { metadata: { 'x-request-id': id } });
  ok(own);
  assert.equal(own.headers['x-request-id'], id);
  const refused = await unary(aggregator, 'GetCustomerAnalytics', { customerId: '' });
  failed(refused, grpc.status.INVALID_ARGUMENT);
  assert.match(refused.headers['x-request-id'] || '', /^[0-9a-f]{32}$/);
});

test('an unknown method gets UNIMPLEMENTED', async () => {
  failed(await unaryRaw('/fanout.v1.Aggregator/Nope', Buffer.alloc(0)), grpc.status.UNIMPLEMENTED);
});

test('the stream sends one FeatureResult per feature, each with its request index', async () => {
  const { results, requestId } = await new Promise((resolve, reject) => {
    const results = [];
    let requestId;
    const s = aggregator.StreamCustomerAnalytics({ customerId: 'c-42', features: ['tours', 'offers', 'nope'] },
                                                 metadataOf({ 'x-request-id': 'stream-1' }));
    s.on('metadata', m => { requestId = m.get('x-request-id')[0]; });
    s.on('data', d => results.push(d));
    s.on('error', reject);
    s.on('end', () => resolve({ results, requestId }));
  });
  const byIndex = Object.fromEntries(results.map(r => [r.index || 0, r]));
  assert.equal(results.length, 3);
  assert.equal(requestId, 'stream-1');
  assert.equal(byIndex[0].feature, 'tours');
  assert.equal(byIndex[1].feature, 'offers');
  assert.equal(byIndex[2].error.kind, 'UNKNOWN_FEATURE');
});

test('a cancelled call ends at once and the server goes on serving', async () => {
  const t0 = Date.now();
  const code = await new Promise(resolve => {
    const call = aggregator.GetCustomerAnalytics({ customerId: 'c-1', features: ['tours'] },
                                                 metadataOf({ 'x-mock-fault': 'tours=delay:3s' }),
                                                 err => resolve(err && err.code));
    setTimeout(() => call.cancel(), 100);
  });
  assert.equal(code, grpc.status.CANCELLED);
  assert.ok(Date.now() - t0 < 1000);
  ok(await unary(aggregator, 'GetCustomerAnalytics', { customerId: 'c-1', features: ['tours'] }));
});

test('fifty concurrent calls on one connection all succeed', async () => {
  const all = await Promise.all(Array.from({ length: 50 }, (_, i) =>
    unary(aggregator, 'GetCustomerAnalytics', { customerId: `c-${i}`, features: ['tours', 'offers', 'listings'] })));
  all.forEach((r, i) => assert.equal(ok(r).results[0].usage.customerId, `c-${i}`));
});

test('health: SERVING', async () => {
  // HealthCheckResponse{status: SERVING} is field 1 = 1.
  const r = await unaryRaw('/grpc.health.v1.Health/Check', Buffer.alloc(0));
  assert.equal(r.err, null);
  assert.equal(r.resp.toString('hex'), '0801');
});

test('a mock service answers GetUsage directly', async () => {
  const usage = ok(await unary(feature, 'GetUsage', { customerId: 'c-42' }));
  assert.equal(usage.customerId, 'c-42');
  assert.equal(usage.feature, 'tours');
});

// TLS through Node's own TLS stack (ALPN h2, as grpc-go and grpcurl require).
const pem = name => fs.readFileSync(path.join(CERTS, name));
function tlsCall(addr, creds) {
  const client = new pkg.fanout.v1.Aggregator(addr, creds);
  return unary(client, 'GetCustomerAnalytics', { customerId: 'c-7', features: ['tours'] }, { deadlineMs: 5000 })
    .finally(() => client.close());
}

test('TLS: a client that trusts the CA is served; plaintext and an unknown CA are not', async () => {
  assert.equal(ok(await tlsCall(TLS_AGG, grpc.credentials.createSsl(pem('ca.pem')))).results[0].usage.customerId, 'c-7');
  failed(await tlsCall(TLS_AGG, insecure), grpc.status.UNAVAILABLE);
  failed(await tlsCall(TLS_AGG, grpc.credentials.createSsl(pem('other-ca.pem'))), grpc.status.UNAVAILABLE);
});

test('mutual TLS: only a client certificate signed by client_ca is served', async () => {
  const withCert = (key, cert) => grpc.credentials.createSsl(pem('ca.pem'), pem(key), pem(cert));
  assert.equal(ok(await tlsCall(MTLS_AGG, withCert('client.key', 'client.pem'))).results.length, 1);
  failed(await tlsCall(MTLS_AGG, grpc.credentials.createSsl(pem('ca.pem'))), grpc.status.UNAVAILABLE);
  failed(await tlsCall(MTLS_AGG, withCert('other-client.key', 'other-client.pem')), grpc.status.UNAVAILABLE);
});

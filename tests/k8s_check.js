'use strict';
// The Kubernetes manifests (deploy/kubernetes/) checked against the programs, since no cluster runs here:
//  - every file parses as YAML (the yaml package, strict: duplicate keys and bad syntax are errors), every
//    document is a kind we use with its apiVersion, and the fields we use are spelled right (a misspelt
//    readinessProbe would otherwise be dropped by Kubernetes without a word);
//  - every container's command is an installed program and its args pass that program's own --check;
//  - ports, probes, Services, the balancer's --backend, the HPAs and the disruption budget agree with each
//    other and with the programs (--port, engines per CPU, memory for what the worker may hold, a grace
//    period covering preStop and the graceful stop the program's --help names);
//  - then each container really runs with its args and answers its probe paths with 200, a picture goes
//    through the balancer, and SIGTERM ends each with 0 within the grace period.
// To run the args on this machine three things are rewritten, and only these: paths under PREFIX point
// into the staged install (DESTDIR), --port becomes a free port (after checking it equals containerPort),
// and the balancer's --backend SERVICE:PORT becomes the worker started here (after checking SERVICE is
// the headless worker Service and PORT its port).
//
// usage: node tests/k8s_check.js MANIFEST_DIR DESTDIR PREFIX PICTURE
const fs = require('fs');
const path = require('path');
const http = require('http');
const net = require('net');
const { spawn, spawnSync } = require('child_process');
const YAML = require('yaml');

const [dir, dest, prefix, picture] = process.argv.slice(2);
if (!picture) {
    console.error('usage: node tests/k8s_check.js MANIFEST_DIR DESTDIR PREFIX PICTURE');
    process.exit(2);
}
const children = [];
let checks = 0;

function fail(what) {
    console.error(`k8s check: FAILED: ${what}`);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    process.exit(1);
}
function expect(cond, what) {
    if (!cond) fail(what);
    checks++;
}

// ---- parsing ---------------------------------------------------------------------------------------------
const API = {
    Deployment: 'apps/v1', Service: 'v1', HorizontalPodAutoscaler: 'autoscaling/v2',
    PodDisruptionBudget: 'policy/v1', ConfigMap: 'v1', Kustomization: 'kustomize.config.k8s.io/v1beta1',
};
// The keys each object we write may have (Kubernetes' names; a subset of what it accepts).
const KEYS = {
    metadata: ['name', 'namespace', 'labels', 'annotations'],
    deploymentSpec: ['replicas', 'selector', 'strategy', 'template', 'minReadySeconds', 'revisionHistoryLimit'],
    podSpec: ['terminationGracePeriodSeconds', 'securityContext', 'containers', 'volumes', 'serviceAccountName'],
    container: ['name', 'image', 'command', 'args', 'ports', 'resources', 'startupProbe', 'readinessProbe',
                'livenessProbe', 'lifecycle', 'securityContext', 'env', 'volumeMounts'],
    probe: ['httpGet', 'periodSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold', 'initialDelaySeconds'],
    httpGet: ['path', 'port', 'scheme', 'httpHeaders'],
    resources: ['requests', 'limits'],
    serviceSpec: ['type', 'clusterIP', 'selector', 'ports', 'publishNotReadyAddresses'],
    hpaSpec: ['scaleTargetRef', 'minReplicas', 'maxReplicas', 'metrics', 'behavior'],
};
function keysOf(obj, kind, where) {
    expect(obj && typeof obj === 'object', `${where}: ${kind} is an object`);
    for (const k of Object.keys(obj))
        expect(KEYS[kind].includes(k), `${where}: '${k}' is a field of ${kind} (misspelt?)`);
}

function yamlFiles(d) {
    return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(d, e.name);
        return e.isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(e.name) ? [p] : [];
    });
}
function parseAll(text, where) {
    const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
    for (const d of docs) {
        expect(d.errors.length === 0, `${where} parses: ${d.errors.map(String).join('; ')}`);
        expect(d.warnings.length === 0, `${where} parses without warnings: ${d.warnings.map(String).join('; ')}`);
    }
    return docs.map((d) => d.toJS()).filter((o) => o !== null);
}

const objects = [];
const files = yamlFiles(dir).sort();
expect(files.length > 0, `${dir} has manifests`);
for (const f of files) {
    const rel = path.relative(dir, f);
    for (const o of parseAll(fs.readFileSync(f, 'utf8'), rel)) {
        const name = o.metadata ? o.metadata.name : '(kustomization)';
        const where = `${rel}: ${o.kind} ${name}`;
        expect(API[o.kind] === o.apiVersion, `${where}: apiVersion ${o.apiVersion} is ${API[o.kind]}`);
        if (o.kind !== 'Kustomization') {
            keysOf(o.metadata, 'metadata', where);
            expect(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && name.length <= 63, `${where}: a DNS label name`);
        }
        objects.push({ ...o, file: rel, where });
    }
}
const ofKind = (k) => objects.filter((o) => o.kind === k);
console.log(`k8s check: ${files.length} files, ${objects.length} documents parse`);

// The kustomization applies every top-level manifest (custom-metric/ is the documented alternative).
for (const k of ofKind('Kustomization')) {
    const listed = k.resources || [];
    for (const r of listed) expect(fs.existsSync(path.join(dir, r)), `kustomization: resource ${r} exists`);
    const top = files.map((f) => path.relative(dir, f)).filter((f) => !f.includes('/') && !/^kustomization\.ya?ml$/.test(f));
    for (const f of top) expect(listed.includes(f), `kustomization lists ${f}`);
}

// ---- what the programs say about themselves ------------------------------------------------------------
const installed = (cmd) => dest + cmd;
const moved = (arg) => (arg.startsWith(prefix + '/') ? dest + arg : arg);
function help(program) {
    const r = spawnSync(installed(program), ['--help'], { encoding: 'utf8', timeout: 10000 });
    expect(r.status === 0, `${program} --help runs`);
    return r.stdout;
}
function helpDefault(text, option) { // "(default N" on the option's line or the lines that continue it
    const m = text.match(new RegExp(`  ${option} [^\\n]*(?:\\n {20,}[^\\n]*)*?\\(default (\\d+)`));
    if (!m) fail(`--help names the default of ${option}`);
    return Number(m[1]);
}
function argMap(args, where) {
    const m = new Map();
    for (let i = 0; i < args.length; i += 2) {
        expect(/^--[a-z-]+$/.test(args[i]) && i + 1 < args.length, `${where}: args are --option value pairs`);
        if (!m.has(args[i])) m.set(args[i], []);
        m.get(args[i]).push(String(args[i + 1]));
    }
    return m;
}
const cpus = (q) => (typeof q === 'number' ? q : /m$/.test(q) ? Number(q.slice(0, -1)) / 1000 : Number(q));
function mebibytes(q) {
    const m = String(q).match(/^(\d+)(Mi|Gi)$/);
    if (!m) fail(`memory ${q} is written in Mi or Gi`);
    return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

// ---- Deployments and their containers --------------------------------------------------------------------
const programs = {}; // 'worker' | 'balancer' -> { deployment, container, args, port, grace, preStop }
for (const d of ofKind('Deployment')) {
    const w = d.where;
    keysOf(d.spec, 'deploymentSpec', w);
    const labels = d.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels))
        expect(labels[k] === v, `${w}: the selector's ${k}=${v} is on the pod template`);
    const pod = d.spec.template.spec;
    keysOf(pod, 'podSpec', w);
    expect(pod.securityContext && pod.securityContext.runAsNonRoot === true, `${w}: runs as non-root`);
    expect(pod.containers.length === 1, `${w}: one container`);
    const c = pod.containers[0];
    const cw = `${w}: container ${c.name}`;
    keysOf(c, 'container', cw);
    const program = c.command && c.command.length === 1 ? c.command[0] : '';
    const name = path.basename(program);
    expect(program === `${prefix}/bin/${name}` && ['worker', 'balancer'].includes(name),
           `${cw}: command is ${prefix}/bin/worker or balancer`);
    expect(fs.existsSync(installed(program)), `${cw}: ${program} is installed`);
    const args = (c.args || []).map(String);
    const r = spawnSync(installed(program), [...args.map(moved), '--check'], { encoding: 'utf8', timeout: 30000 });
    expect(r.status === 0 && /configuration OK/.test(r.stdout), `${cw}: its args pass ${name} --check: ${r.stderr}`);
    console.log(`k8s check: ${d.metadata.name}: ${r.stdout.trim()}`);
    const a = argMap(args, cw);
    const text = help(program);
    for (const o of a.keys()) // spelt out (getopt would also take an abbreviation such as --ww)
        expect(text.includes(`  ${o} `), `${cw}: ${o} is an option ${name} --help names`);
    const port = Number((a.get('--port') || [])[0]);
    expect(c.ports && c.ports.length === 1 && c.ports[0].containerPort === port, `${cw}: containerPort is --port ${port}`);
    const portOf = (p) => (p === c.ports[0].name ? c.ports[0].containerPort : p);
    const probes = {};
    for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        if (!c[kind]) continue;
        keysOf(c[kind], 'probe', `${cw} ${kind}`);
        keysOf(c[kind].httpGet, 'httpGet', `${cw} ${kind}`);
        expect(portOf(c[kind].httpGet.port) === port, `${cw}: ${kind} goes to port ${port}`);
        expect(/^\//.test(c[kind].httpGet.path), `${cw}: ${kind} has a path`);
        probes[kind] = c[kind].httpGet.path;
    }
    expect(probes.readinessProbe && probes.livenessProbe, `${cw}: readiness and liveness probes`);
    // The grace period covers preStop and the program's graceful stop (its --help says how long).
    const drain = text.match(/finish the requests in flight \(up to (\d+) s\)/);
    expect(drain, `${name} --help says how long its graceful stop takes`);
    const pre = c.lifecycle && c.lifecycle.preStop && c.lifecycle.preStop.exec.command;
    expect(pre && pre[0] === '/bin/sleep' && Number(pre[1]) > 0, `${cw}: preStop sleeps while the pod leaves the endpoints`);
    const grace = pod.terminationGracePeriodSeconds;
    expect(grace >= Number(pre[1]) + Number(drain[1]) + 1,
           `${cw}: terminationGracePeriodSeconds ${grace} >= preStop ${pre[1]} s + graceful stop ${drain[1]} s + 1`);
    // Resources: requests and limits of both; the memory limit holds what the program may hold.
    keysOf(c.resources, 'resources', cw);
    for (const k of ['requests', 'limits'])
        expect(c.resources[k] && c.resources[k].cpu && c.resources[k].memory, `${cw}: ${k} for cpu and memory`);
    const opt = (o) => Number((a.get(o) || [helpDefault(text, o)])[0]);
    const limitMi = mebibytes(c.resources.limits.memory);
    if (name === 'worker') {
        const engines = Number((a.get('--engines') || ['1'])[0]);
        expect(cpus(c.resources.requests.cpu) === engines, `${cw}: --engines ${engines} = the CPUs requested`);
        expect(cpus(c.resources.limits.cpu) === engines, `${cw}: the CPU limit is the request (no throttled engine)`);
        const need = opt('--max-memory') + opt('--max-decode-mb') + 32 * engines;
        expect(limitMi >= need, `${cw}: memory limit ${limitMi} Mi >= bodies + decoding + models (${need} Mi)`);
    } else {
        const need = opt('--max-memory') + opt('--cache-mb') + 16;
        expect(limitMi >= need, `${cw}: memory limit ${limitMi} Mi >= bodies + file cache + buffers (${need} Mi)`);
    }
    const sc = c.securityContext || {};
    expect(sc.allowPrivilegeEscalation === false && sc.readOnlyRootFilesystem === true &&
           sc.capabilities && sc.capabilities.drop.includes('ALL'), `${cw}: no privileges, read-only root`);
    expect(!programs[name], `one Deployment runs ${name}`);
    programs[name] = { d, c, args, a, port, probes, grace, preStop: Number(pre[1]), labels };
}
expect(programs.worker && programs.balancer, 'a worker and a balancer Deployment');

// ---- Services, the balancer's backends, HPAs, the disruption budget ---------------------------------------
const matches = (sel, labels) => Object.entries(sel).every(([k, v]) => labels[k] === v);
const services = {};
for (const s of ofKind('Service')) {
    keysOf(s.spec, 'serviceSpec', s.where);
    const target = Object.values(programs).filter((p) => matches(s.spec.selector, p.labels));
    expect(target.length === 1, `${s.where}: selects one Deployment's pods`);
    for (const p of s.spec.ports) {
        const tp = p.targetPort === target[0].c.ports[0].name ? target[0].port : p.targetPort;
        expect(tp === target[0].port, `${s.where}: port ${p.port} reaches the container's port ${target[0].port}`);
    }
    services[s.metadata.name] = { s, program: target[0] };
}
const balancerService = Object.values(services).find((x) => x.program === programs.balancer);
expect(balancerService && balancerService.s.spec.ports.some((p) => p.port === 5000), 'the balancer Service is on port 5000');
const backends = programs.balancer.a.get('--backend') || [];
expect(backends.length > 0, 'the balancer has a --backend');
for (const b of backends) {
    const [host, port] = b.split(':');
    const svc = services[host.split('.')[0]];
    expect(svc && svc.program === programs.worker && svc.s.spec.clusterIP === 'None',
           `--backend ${b} names the headless worker Service`);
    expect(svc.s.spec.ports.some((p) => p.port === Number(port)), `--backend ${b}: the Service has port ${port}`);
}
const podMetrics = [];
for (const h of ofKind('HorizontalPodAutoscaler')) {
    keysOf(h.spec, 'hpaSpec', h.where);
    const ref = h.spec.scaleTargetRef;
    expect(ref.kind === 'Deployment' && ref.name === programs.worker.d.metadata.name, `${h.where}: scales the workers`);
    expect(h.spec.minReplicas >= 1 && h.spec.minReplicas <= h.spec.maxReplicas, `${h.where}: 1 <= min <= max`);
    for (const m of h.spec.metrics) {
        expect(['Resource', 'Pods'].includes(m.type), `${h.where}: metric type ${m.type}`);
        if (m.type === 'Resource')
            expect(m.resource.name === 'cpu' && programs.worker.c.resources.requests.cpu, `${h.where}: on the CPU requested`);
        else podMetrics.push({ name: m.pods.metric.name, where: h.where });
    }
}
expect(ofKind('HorizontalPodAutoscaler').length >= 2 && podMetrics.length >= 1, 'an HPA on CPU and one on a custom metric');
for (const p of ofKind('PodDisruptionBudget'))
    expect(matches(p.spec.selector.matchLabels, programs.worker.labels), `${p.where}: selects the workers`);
// The custom metric: prometheus-adapter's rule makes it, from a worker series.
const series = new Set();
for (const cm of ofKind('ConfigMap')) {
    const rules = parseAll(cm.data['config.yaml'], `${cm.where}: config.yaml`)[0].rules;
    for (const m of podMetrics) {
        const rule = rules.find((r) => r.name.as === m.name);
        expect(rule, `${m.where}: the adapter rule in ${cm.file} makes ${m.name}`);
        for (const s of rule.metricsQuery.match(/imgrec_[a-z_]+/g)) series.add(s);
    }
}
expect(series.size > 0, 'the custom metric comes from named worker series');

// ---- the containers, run ----------------------------------------------------------------------------------
function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        }).on('error', reject);
    });
}
function request(port, method, p, body) {
    return new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, method, path: p, timeout: 5000,
                                   headers: body ? { 'Content-Type': 'image/jpeg' } : {} }, (res) => {
            let data = '';
            res.on('data', (d) => (data += d));
            res.on('end', () => resolve({ status: res.statusCode, body: data }));
        });
        req.on('error', (e) => resolve({ status: 0, body: String(e) }));
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end(body);
    });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function start(p, args) {
    const child = spawn(installed(p.c.command[0]), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    children.push(child);
    const port = Number(args[args.indexOf('--port') + 1]);
    for (const t0 = Date.now(); Date.now() - t0 < 20000; await sleep(100)) {
        if (child.exitCode !== null) fail(`${p.c.name} exited at start: ${log}`);
        if ((await request(port, 'GET', '/healthz')).status === 200) return { child, port };
    }
    fail(`${p.c.name} did not become healthy: ${log}`);
}
function withPort(args, port) {
    const out = args.map(moved);
    out[out.indexOf('--port') + 1] = String(port);
    return out;
}
async function probesAnswer(p, port) {
    for (const [kind, route] of Object.entries(p.probes)) {
        const r = await request(port, 'GET', route);
        expect(r.status === 200, `${p.c.name}: ${kind} GET ${route} is 200 (got ${r.status})`);
    }
}
async function stops(p, run) {
    const t0 = Date.now();
    const code = await new Promise((resolve) => { run.child.on('exit', (c) => resolve(c)); run.child.kill('SIGTERM'); });
    const s = (Date.now() - t0) / 1000;
    expect(code === 0 && s < p.grace - p.preStop, `${p.c.name}: SIGTERM ends it with 0 in ${s} s (< grace - preStop)`);
}

(async () => {
    const worker = await start(programs.worker, withPort(programs.worker.args, await freePort()));
    await probesAnswer(programs.worker, worker.port);
    const metrics = await request(worker.port, 'GET', '/metrics');
    expect(metrics.status === 200, `the worker serves /metrics (got ${metrics.status})`);
    for (const s of series) // the custom metric's sources are the worker's own series
        expect(new RegExp(`^${s}(\\{| )`, 'm').test(metrics.body), `the worker's /metrics has ${s}`);
    const bargs = withPort(programs.balancer.args, await freePort());
    for (let i = 0; i < bargs.length; i++)
        if (bargs[i] === '--backend') bargs[i + 1] = `127.0.0.1:${worker.port}`;
    const balancer = await start(programs.balancer, bargs);
    await probesAnswer(programs.balancer, balancer.port);
    const answer = await request(balancer.port, 'POST', '/predict', fs.readFileSync(picture));
    expect(answer.status === 200 && /"label":"/.test(answer.body), `a picture through the balancer: ${answer.status}`);
    await stops(programs.balancer, balancer);
    await stops(programs.worker, worker);
    console.log(`k8s check: ok (${checks} checks)`);
})().catch((e) => fail(e.stack));

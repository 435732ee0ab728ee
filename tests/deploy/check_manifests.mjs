// Checks the Kubernetes manifests of deploy/kubernetes/ without a cluster: every object against
// the Kubernetes API's own JSON schemas (kubernetes-models, generated from the OpenAPI
// definitions), then what the fleet needs of them: the workers' --fleet reaches the etcd of the
// StatefulSet, probes on /healthz and /readyz, resource requests, Prometheus scrape annotations
// on the port the API listens on, the token file mounted from the Secret.
//   node tests/deploy/check_manifests.mjs DIR [--worker-args]
// Prints one line per problem and exits 1, or "ok: N objects"; --worker-args prints the
// workers' arguments, one per line, for the test that checks them against `serve --help`.
import { createRequire } from "node:module";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const modules = join(root, "third_party/npm-test/node_modules");
if (!existsSync(modules)) {
  console.log(`${modules} is missing: run scripts/vendor_test_js.sh`);
  process.exit(1);
}
const require = createRequire(join(root, "third_party/npm-test/package.json"));
const YAML = require("yaml");
const kinds = {
  "apps/v1/Deployment": require("kubernetes-models/apps/v1").Deployment,
  "apps/v1/StatefulSet": require("kubernetes-models/apps/v1").StatefulSet,
  "v1/Service": require("kubernetes-models/v1").Service,
  "v1/Secret": require("kubernetes-models/v1").Secret,
  "v1/ConfigMap": require("kubernetes-models/v1").ConfigMap,
};

const dir = process.argv[2];
const problems = [];
const objects = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
  const text = readFileSync(join(dir, file), "utf8");
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length) {
      problems.push(`${file}: ${doc.errors[0].message.split("\n")[0]}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    if (obj.kind === "Kustomization") {
      for (const r of obj.resources ?? []) {
        if (!existsSync(join(dir, r))) problems.push(`${file}: resource ${r} does not exist`);
      }
      continue;
    }
    const Model = kinds[`${obj.apiVersion}/${obj.kind}`];
    if (!Model) {
      problems.push(`${file}: ${obj.apiVersion} ${obj.kind} is not a kind this check knows`);
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      const name = obj.metadata?.name ?? "?";
      problems.push(`${file}: ${obj.kind} ${name}: ${String(e.message).split("\n")[0]}`);
    }
    objects.push({ file, obj });
  }
}

const find = (kind, name) =>
  objects.find((o) => o.obj.kind === kind && o.obj.metadata?.name === name)?.obj;
const worker = find("Deployment", "streaminfer-worker");
const etcd = find("StatefulSet", "streaminfer-etcd");
if (!worker) problems.push("no Deployment streaminfer-worker");
if (!etcd) problems.push("no StatefulSet streaminfer-etcd");
let args = [];
if (worker) {
  const pod = worker.spec.template;
  const c = pod.spec.containers.find((x) => x.name === "streaminfer");
  if (!c) {
    problems.push("streaminfer-worker: no container named streaminfer");
  } else {
    args = c.args ?? [];
    const arg = (flag) => args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
    const fleet = arg("--fleet");
    const listen = arg("--listen");
    if (!fleet) problems.push("streaminfer-worker: no --fleet=etcd://HOST:PORT/PREFIX argument");
    if (!listen || !listen.startsWith("0.0.0.0:")) {
      problems.push("streaminfer-worker: --listen must take every address (0.0.0.0:PORT)");
    }
    const port = Number(listen?.split(":").pop());
    const named = (c.ports ?? []).find((p) => p.containerPort === port);
    if (!named) problems.push(`streaminfer-worker: no containerPort ${port} for --listen`);
    const probePort = (probe) =>
      probe?.httpGet?.port === named?.name || probe?.httpGet?.port === port;
    if (c.livenessProbe?.httpGet?.path !== "/healthz" || !probePort(c.livenessProbe)) {
      problems.push("streaminfer-worker: the liveness probe must GET /healthz on the API's port");
    }
    if (c.readinessProbe?.httpGet?.path !== "/readyz" || !probePort(c.readinessProbe)) {
      problems.push("streaminfer-worker: the readiness probe must GET /readyz on the API's port");
    }
    if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) {
      problems.push("streaminfer-worker: cpu and memory requests are needed");
    }
    const a = pod.metadata?.annotations ?? {};
    if (a["prometheus.io/scrape"] !== "true" || Number(a["prometheus.io/port"]) !== port ||
        a["prometheus.io/path"] !== "/metrics") {
      problems.push("streaminfer-worker: prometheus.io/scrape, /port and /path must name /metrics on the API's port");
    }
    const token = arg("--api-token-file");
    const mount = (c.volumeMounts ?? []).find((m) => token?.startsWith(`${m.mountPath}/`));
    const volume = mount && pod.spec.volumes?.find((v) => v.name === mount.name);
    const secret = volume?.secret && find("Secret", volume.secret.secretName);
    const item = volume?.secret?.items?.find((i) => `${mount.mountPath}/${i.path}` === token);
    if (!token || !secret || !item || !(item.key in (secret.stringData ?? secret.data ?? {}))) {
      problems.push("streaminfer-worker: --api-token-file must be a key of a Secret mounted there");
    }
    const m = fleet && /^etcd:\/\/([^:/]+):(\d+)\/(.+)$/.exec(fleet);
    if (fleet && !m) problems.push(`streaminfer-worker: --fleet=${fleet} is not etcd://HOST:PORT/PREFIX`);
    if (m && etcd) {
      const [, host, etcdPort] = m;
      const service = etcd.spec.serviceName;
      const podHost = `${etcd.metadata.name}-0.${service}`;
      const clientPort = etcd.spec.template.spec.containers[0].ports?.find(
        (p) => p.containerPort === Number(etcdPort));
      if (host !== podHost && host !== service) {
        problems.push(`streaminfer-worker: --fleet host ${host} is not the etcd StatefulSet's (${podHost})`);
      }
      if (!find("Service", service)) problems.push(`no Service ${service} for the etcd StatefulSet`);
      if (!clientPort) problems.push(`etcd: no containerPort ${etcdPort} for the workers' --fleet`);
    }
  }
}

if (process.argv.includes("--worker-args")) {
  for (const a of args) console.log(a);
} else if (problems.length) {
  for (const p of problems) console.log(p);
} else {
  console.log(`ok: ${objects.length} objects`);
}
process.exit(problems.length ? 1 : 0);

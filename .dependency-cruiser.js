/**
 * The import rules of docs/design.md §7, checked by `npm test` (`npm run deps`):
 * util ← model ← plan ← aws ← reconcile ← wiring ← hosts ← cli, with kube, admission and
 * queue beside the layers that use them; the node agent beside the whole controller; the
 * emulators only in the playground and the tests.
 */
const layer = (name) => `^src/${name}/`;
const forbid = (name, from, to, comment) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

/** Everything that sits above a layer, as one alternation. */
const above = (...names) => `^src/(${names.join('|')})/`;

module.exports = {
  forbidden: [
    forbid('util-is-leaf', layer('util'), '^src/(?!util/)', 'util/ holds no ferry concepts: it imports nothing of ferry'),
    forbid('model-is-pure', layer('model'), above('plan', 'aws', 'kube', 'reconcile', 'admission', 'queue', 'wiring', 'report', 'hosts', 'local', 'manifests', 'cli', 'agent', 'config'),
      'model/ is the pure desired state: it imports only util/ and errors'),
    forbid('plan-is-pure', layer('plan'), above('aws', 'kube', 'reconcile', 'admission', 'queue', 'wiring', 'report', 'hosts', 'local', 'manifests', 'cli', 'agent'),
      'plan/ compares model with observation: it imports only model/ and util/'),
    forbid('aws-below-reconcile', layer('aws'), above('kube', 'reconcile', 'admission', 'queue', 'wiring', 'report', 'hosts', 'local', 'manifests', 'cli', 'agent'),
      'aws/ runs plans against AWS: nothing of Kubernetes or the hosts'),
    forbid('kube-below-reconcile', layer('kube'), above('plan', 'aws', 'reconcile', 'admission', 'queue', 'wiring', 'report', 'hosts', 'local', 'manifests', 'cli', 'agent'),
      'kube/ is the Kubernetes API slice: no AWS, no hosts'),
    forbid('queue-below-hosts', layer('queue'), above('plan', 'aws', 'kube', 'reconcile', 'admission', 'wiring', 'report', 'hosts', 'local', 'manifests', 'cli', 'agent'),
      'queue/ carries messages: it knows nothing of what they mean'),
    forbid('admission-is-pure', layer('admission'), above('plan', 'aws', 'kube', 'reconcile', 'wiring', 'report', 'hosts', 'local', 'manifests', 'cli', 'agent'),
      "admission/ decides from the request alone: the webhook never loads AWS or Kubernetes clients"),
    forbid('reconcile-below-hosts', layer('reconcile'), above('admission', 'wiring', 'report', 'hosts', 'local', 'manifests', 'cli', 'agent'),
      'reconcile/ is the core the hosts run'),
    forbid('wiring-below-hosts', layer('wiring'), above('report', 'hosts', 'local', 'manifests', 'cli', 'agent'),
      'wiring/ builds the core for every host'),
    forbid('report-below-hosts', layer('report'), above('hosts', 'local', 'manifests', 'cli', 'agent'), 'report/ formats; the hosts and the CLI print'),
    forbid('hosts-below-cli', layer('hosts'), above('local', 'cli', 'agent'), 'hosts/ run the core; the CLI starts them'),
    forbid('local-below-cli', layer('local'), above('cli', 'agent'), 'the playground is started by the CLI'),
    forbid('manifests-below-cli', layer('manifests'), above('plan', 'aws', 'kube', 'reconcile', 'admission', 'queue', 'wiring', 'report', 'hosts', 'local', 'cli'),
      'manifests/ renders YAML'),
    forbid('agent-stands-alone', layer('agent'), above('plan', 'aws', 'reconcile', 'admission', 'queue', 'wiring', 'report', 'hosts', 'local', 'manifests', 'cli'),
      'the node agent runs on every node: it loads nothing of the controller'),
    forbid('emulators-only-in-the-playground', '^src/(?!local/)', '^packages/emulators/',
      "the emulators never reach the product's build or bundles; only src/local/ (ferry local) and the tests use them"),
    forbid('emulators-stand-alone', '^packages/emulators/src/', '^src/', "the emulators are AWS's and Kubernetes's stand-ins: they know nothing of ferry"),
    forbid('functions-are-thin', '^functions/', '^src/(?!hosts/lambda/)', 'a Lambda entry re-exports its handler from src/hosts/lambda/'),
    {
      name: 'no-circular',
      comment: 'a cycle means two modules are one; merge them or move the shared part down',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.json') },
    // TypeScript 7 ships no JavaScript compiler API; swc parses the sources instead.
    parser: 'swc',
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};

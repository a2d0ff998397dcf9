// Ends every Jest run with the tier the cluster tests ran on and, alone on the last line,
// its counts in the plain form CI reads: "real: 120 passed, 0 failed, 0 skipped".
export default class TierReporter {
  onRunComplete(_contexts, results) {
    const env = process.env;
    const [tier, where] = env.TRUSTGATE_TEST_KUBECONFIG
      ? ['external', `the cluster of ${env.TRUSTGATE_TEST_KUBECONFIG}`]
      : env.KUBEBUILDER_ASSETS
        ? ['real', `kube-apiserver from KUBEBUILDER_ASSETS=${env.KUBEBUILDER_ASSETS}`]
        : ['sandbox', 'the embedded sandbox control plane'];
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(
      `\ntier ${tier}: cluster tests ran on ${where}\n` +
        `${tier}: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
    );
  }
}

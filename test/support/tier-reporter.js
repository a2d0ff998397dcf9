// Ends every Jest run with one plain line naming the tier the cluster tests ran on and
// the counts, e.g. "tier real (KUBEBUILDER_ASSETS=…): 120 passed, 0 failed, 0 skipped".
export default class TierReporter {
  onRunComplete(_contexts, results) {
    const env = process.env;
    const tier =
      env.TRUSTGATE_TEST_KUBECONFIG
        ? `external (${env.TRUSTGATE_TEST_KUBECONFIG})`
        : env.KUBEBUILDER_ASSETS
          ? `real (KUBEBUILDER_ASSETS=${env.KUBEBUILDER_ASSETS})`
          : 'sandbox';
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(
      `\ntier ${tier}: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
    );
  }
}

import type { Command } from '../io.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  /** The command's module is loaded only when it runs: `trustgate run` loads none of the others. */
  load(): Promise<Command>;
}

// Every `trustgate` command, in the order `trustgate --help` lists them.
export const COMMANDS: CommandEntry[] = [
  {
    name: 'keys generate',
    summary: 'Generate a verifier signing key: a private JWK and its public JWKS',
    load: async () => (await import('./keys.ts')).command,
  },
  {
    name: 'attest sign',
    summary: 'Sign an EAR attestation result for a node and print a NodeAttestation',
    load: async () => (await import('./attest.ts')).command,
  },
  {
    name: 'attest publish',
    summary: 'Sign posture for nodes and apply their NodeAttestations, on an interval',
    load: async () => (await import('./publish.ts')).command,
  },
  {
    name: 'evaluate',
    summary:
      'Decide offline what the webhook would admit (-f manifests) or whether nodes are trusted',
    load: async () => (await import('./evaluate.ts')).command,
  },
  {
    name: 'test',
    summary: 'Run a table of expected admission outcomes for manifests (exit 1 on a mismatch)',
    load: async () => (await import('./test.ts')).command,
  },
  {
    name: 'validate',
    summary: 'Check trustgate resources in files against the CRD schemas and semantic rules',
    load: async () => (await import('./validate.ts')).command,
  },
  {
    name: 'run',
    summary: 'Run the admission webhook and, on the elected leader, the controllers',
    load: async () => (await import('./run.ts')).command,
  },
  {
    name: 'version',
    summary: 'Print the version, git commit and Node version of this build',
    load: async () => (await import('./version.ts')).command,
  },
];

// A stock EAR appraisal for the verifier tests.
import { NOW } from '../trust/fixtures.ts';

/** Shaped like Veraison's EAR output for one platform submodule. */
export const VERAISON_EAR = {
  eat_profile: 'tag:github.com,2023:veraison/ear',
  iat: Math.floor(NOW / 1000) - 30,
  'ear.verifier-id': { build: 'vts 0.0.1', developer: 'https://veraison-project.org' },
  eat_nonce: 'n-0123456789abcdef',
  submods: {
    PSA_IOT: {
      'ear.status': 'affirming',
      'ear.trustworthiness-vector': {
        'instance-identity': 2,
        configuration: 2,
        executables: 2,
        hardware: 2,
        'x-vendor-extension': 7,
      },
      'ear.appraisal-policy-id': 'policy:PSA_IOT',
      'ear.veraison.annotated-evidence': { 'psa-security-lifecycle': 12288 },
      'ear.veraison.policy-claims': {
        diskEncryption: true,
        patchAgeDays: 3,
        edr: { version: '7.4.2', healthy: true },
      },
    },
  },
};

// The Reflect metadata shim @peculiar/x509 needs lives in webhook/tls/x509.ts, which
// installs it and then loads x509. Kept so callers that preload the shim keep working.
import '../../webhook/tls/x509.ts';

/**
 * Where a sandbox finds the TLS trust the daemon hands it (`runtime/gvisor/host-trust.ts`), and
 * where a template keeps its own. The run directory is the sandbox's `/run/sandboxd`, read-only on
 * the host kernel; templates point their system bundle at {@link SANDBOX_CA_BUNDLE}.
 */

/** The sandbox's whole bundle: the template's own CAs plus every CA the host trusts. */
export const SANDBOX_CA_BUNDLE = '/run/sandboxd/ca-certificates.crt';
/** Only the host's CAs the template does not ship (may be empty), for the sandbox's `update-ca-certificates`. */
export const SANDBOX_HOST_CAS = '/run/sandboxd/host-ca-certificates.crt';
/** The bundle the template's `ca-certificates` package built, kept aside at template build. */
export const TEMPLATE_OWN_CA_BUNDLE = '/usr/share/sandboxd/ca-certificates.crt';
/** The system bundle every TLS client in a Debian userland reads (OpenSSL's and GnuTLS's default file). */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** File names of the two bundles in the sandbox's run directory on the host. */
export const RUN_DIR_CA_BUNDLE = 'ca-certificates.crt';
export const RUN_DIR_HOST_CAS = 'host-ca-certificates.crt';

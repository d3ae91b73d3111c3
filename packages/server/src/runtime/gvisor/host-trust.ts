import { X509Certificate } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** One trusted certificate: its SHA-256 fingerprint (the identity we dedupe on) and its PEM. */
export interface TrustedCert {
  fingerprint: string;
  pem: string;
}

/** Where the host keeps what it trusts. */
export interface HostTrustSources {
  /** Bundle files read whole (the host's system bundle). */
  bundles: string[];
  /** Directories whose `*.pem`, `*.crt` and OpenSSL hash links (`1a2b3c4d.0`) are trusted certificates. */
  certDirs: string[];
  /** Directories searched recursively for `*.crt` (update-ca-certificates' local CAs). */
  localDirs: string[];
  /**
   * Directories searched recursively for `*.crt` of the host's distribution (its Mozilla set).
   * They are not the host's extras: a sandbox gets its template's own, perhaps newer, set instead,
   * so a root the newer set dropped is not trusted again through an older host.
   */
  distributionDirs: string[];
}

/**
 * A Debian host: the bundle `update-ca-certificates` wrote, the certificates OpenSSL finds in its
 * CApath (whatever was added there, run through `update-ca-certificates` or not), and the local
 * administrator's CAs; less the distribution's own CAs.
 */
export const DEBIAN_HOST_TRUST: HostTrustSources = {
  bundles: ['/etc/ssl/certs/ca-certificates.crt'],
  certDirs: ['/etc/ssl/certs'],
  localDirs: ['/usr/local/share/ca-certificates'],
  distributionDirs: ['/usr/share/ca-certificates'],
};

/** What one sandbox is given: its whole bundle, and the host's part of it alone. */
export interface SandboxTrust {
  /** The template's own certificates, then the host's it lacks: the sandbox's system bundle. */
  bundle: string;
  /** The host's certificates the template lacks ('' when none). */
  hostOnly: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const CERT_FILE = /\.(pem|crt)$/;
const HASH_LINK = /^[0-9a-f]{8}\.\d+$/;

/**
 * The certificates in PEM text, in order, each once. Blocks that do not parse as X.509 are left
 * out: one broken block makes some clients (Python's `load_verify_locations`) reject a whole file.
 */
export function parseCertificates(text: string): TrustedCert[] {
  const out: TrustedCert[] = [];
  const seen = new Set<string>();
  for (const block of text.match(PEM_BLOCK) ?? []) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      continue;
    }
    if (seen.has(cert.fingerprint256)) continue;
    seen.add(cert.fingerprint256);
    out.push({ fingerprint: cert.fingerprint256, pem: cert.toString().trim() });
  }
  return out;
}

/** The template's certificates first, then the host's that the template does not have. */
export function composeTrust(templateCerts: TrustedCert[], hostCerts: TrustedCert[]): SandboxTrust {
  const known = new Set(templateCerts.map((c) => c.fingerprint));
  const hostOnly: TrustedCert[] = [];
  for (const cert of hostCerts) {
    if (known.has(cert.fingerprint)) continue;
    known.add(cert.fingerprint);
    hostOnly.push(cert);
  }
  const pem = (certs: TrustedCert[]): string => certs.map((c) => `${c.pem}\n`).join('');
  return { bundle: pem([...templateCerts, ...hostOnly]), hostOnly: pem(hostOnly) };
}

/** Every file the sources name, and a signature of them that changes when any of them may have. */
async function listSources(sources: HostTrustSources): Promise<{ files: string[]; distribution: string[]; signature: string }> {
  const files: string[] = [];
  const distribution: string[] = [];
  const marks: string[] = [];
  const mark = async (path: string): Promise<boolean> => {
    const st = await stat(path).catch(() => undefined);
    marks.push(`${path}:${st ? `${st.mtimeMs}:${st.size}` : '-'}`);
    return st !== undefined;
  };
  for (const bundle of sources.bundles) if (await mark(bundle)) files.push(bundle);
  for (const dir of sources.certDirs) {
    if (!(await mark(dir))) continue;
    const names = (await readdir(dir).catch(() => [] as string[])).sort();
    for (const name of names) if (CERT_FILE.test(name) || HASH_LINK.test(name)) files.push(join(dir, name));
  }
  const walk = async (dir: string, into: string[]): Promise<void> => {
    if (!(await mark(dir))) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      // Symbolic links are followed, as update-ca-certificates does (find -L).
      const st = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
      if (st?.isDirectory()) await walk(path, into);
      else if (st?.isFile() && entry.name.endsWith('.crt')) {
        into.push(path);
        await mark(path);
      }
    }
  };
  for (const dir of sources.localDirs) await walk(dir, files);
  for (const dir of sources.distributionDirs) await walk(dir, distribution);
  return { files, distribution, signature: marks.join('\n') };
}

const readAll = async (files: string[]): Promise<string> =>
  (await Promise.all(files.map((file) => readFile(file, 'utf8').catch(() => '')))).join('\n');

/**
 * Reads the CAs the host trusts beyond its distribution's, again whenever a bundle, a certificate
 * directory or a CA file changed (by mtime and size), so a CA the host adds or removes reaches
 * the next sandbox with no restart. Unreadable or broken files are skipped; an absent source is
 * no source.
 */
export function createHostTrustReader(sources: HostTrustSources = DEBIAN_HOST_TRUST): () => Promise<TrustedCert[]> {
  let cached: { signature: string; certs: TrustedCert[] } | undefined;
  return async () => {
    const { files, distribution, signature } = await listSources(sources);
    if (cached?.signature === signature) return cached.certs;
    const ours = new Set(parseCertificates(await readAll(distribution)).map((c) => c.fingerprint));
    const certs = parseCertificates(await readAll(files)).filter((c) => !ours.has(c.fingerprint));
    cached = { signature, certs };
    return certs;
  };
}

/**
 * The certificates a template ships (kept aside at build, see `TEMPLATE_OWN_CA_BUNDLE`), read
 * once per template root: a built template never changes. None for a template without the file.
 */
export function createTemplateTrustReader(ownBundle: string): (rootfsPath: string) => Promise<TrustedCert[]> {
  const byRoot = new Map<string, Promise<TrustedCert[]>>();
  return (rootfsPath) => {
    let pending = byRoot.get(rootfsPath);
    if (!pending) {
      pending = readFile(join(rootfsPath, ownBundle), 'utf8').then(parseCertificates, () => []);
      byRoot.set(rootfsPath, pending);
    }
    return pending;
  };
}

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composeTrust, createHostTrustReader, createTemplateTrustReader, parseCertificates, type HostTrustSources } from './host-trust.js';

const dirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'sandboxd-trust-'));
  dirs.push(dir);
  return dir;
};
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A real self-signed CA certificate made by openssl, as PEM. */
function makeCa(cn: string, dir: string): string {
  const out = join(dir, `${cn}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-days', '2', '-keyout', join(dir, `${cn}.key`), '-out', out], { stdio: 'ignore' });
  return readFileSync(out, 'utf8');
}

const subjects = (pem: string): string[] => parseCertificates(pem).map((c) => new X509Certificate(c.pem).subject);

let work: string;
const ca: Record<string, string> = {};
before(async () => {
  work = await tempDir();
  for (const cn of ['mozilla-root', 'corp-proxy', 'artifactory', 'egress', 'late']) ca[cn] = makeCa(cn, work);
});

describe('parseCertificates', () => {
  it('returns each certificate once, in order, and leaves out blocks that are not certificates', () => {
    const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    const text = `# comment\n${ca['corp-proxy']}${broken}\n${ca['mozilla-root']}\n${ca['corp-proxy']}`;
    assert.deepEqual(subjects(text), ['CN=corp-proxy', 'CN=mozilla-root']);
  });

  it('normalises line endings and surrounding noise into plain PEM blocks', () => {
    const crlf = (ca['egress'] ?? '').replace(/\n/g, '\r\n');
    const [cert] = parseCertificates(`subject=whatever\r\n${crlf}`);
    assert.ok(cert);
    assert.match(cert.pem, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----$/);
  });
});

describe('composeTrust', () => {
  it('keeps the template certificates first and adds only the host ones it lacks', () => {
    const template = parseCertificates(`${ca['mozilla-root']}`);
    const host = parseCertificates(`${ca['mozilla-root']}${ca['corp-proxy']}${ca['artifactory']}`);
    const trust = composeTrust(template, host);
    assert.deepEqual(subjects(trust.bundle), ['CN=mozilla-root', 'CN=corp-proxy', 'CN=artifactory']);
    assert.deepEqual(subjects(trust.hostOnly), ['CN=corp-proxy', 'CN=artifactory']);
  });

  it('gives an empty host part when the host trusts nothing the template lacks', () => {
    const template = parseCertificates(`${ca['mozilla-root']}`);
    assert.equal(composeTrust(template, template).hostOnly, '');
  });
});

describe('createHostTrustReader', () => {
  it('reads the bundle, the CApath certificates and hash links, and the local CAs (nested, through symlinks)', async () => {
    const root = await tempDir();
    const certs = join(root, 'etc/ssl/certs');
    const local = join(root, 'usr/local/share/ca-certificates');
    const elsewhere = join(root, 'elsewhere');
    await mkdir(certs, { recursive: true });
    await mkdir(join(local, 'corp'), { recursive: true });
    await mkdir(elsewhere, { recursive: true });
    await writeFile(join(certs, 'ca-certificates.crt'), `${ca['mozilla-root']}`);
    // Added to CApath directly, without update-ca-certificates: the host's OpenSSL trusts it.
    await writeFile(join(certs, 'egress.pem'), `${ca['egress']}`);
    await writeFile(join(elsewhere, 'proxy.crt'), `${ca['corp-proxy']}`);
    await symlink(join(elsewhere, 'proxy.crt'), join(certs, '0a1b2c3d.0'));
    // Not a certificate file by name: ignored.
    await writeFile(join(certs, 'README'), `${ca['late']}`);
    await writeFile(join(local, 'corp', 'artifactory.crt'), `${ca['artifactory']}`);
    const sources: HostTrustSources = { bundles: [join(certs, 'ca-certificates.crt')], certDirs: [certs], localDirs: [local], distributionDirs: [] };
    const names = subjects((await createHostTrustReader(sources)()).map((c) => c.pem).join('\n'));
    assert.deepEqual(names.sort(), ['CN=artifactory', 'CN=corp-proxy', 'CN=egress', 'CN=mozilla-root']);
  });

  it('leaves out the distribution\'s own CAs, which the template brings in its own version', async () => {
    const root = await tempDir();
    const distro = join(root, 'usr/share/ca-certificates/mozilla');
    const local = join(root, 'usr/local/share/ca-certificates');
    await mkdir(distro, { recursive: true });
    await mkdir(local, { recursive: true });
    await writeFile(join(distro, 'Mozilla_Root.crt'), `${ca['mozilla-root']}`);
    await writeFile(join(root, 'bundle.crt'), `${ca['mozilla-root']}${ca['corp-proxy']}`);
    await writeFile(join(local, 'artifactory.crt'), `${ca['artifactory']}`);
    const read = createHostTrustReader({ bundles: [join(root, 'bundle.crt')], certDirs: [], localDirs: [local], distributionDirs: [join(root, 'usr/share/ca-certificates')] });
    assert.deepEqual(subjects((await read()).map((c) => c.pem).join('\n')).sort(), ['CN=artifactory', 'CN=corp-proxy']);
  });

  it('sees a CA the host adds or removes on the next read, with no restart', async () => {
    const root = await tempDir();
    const local = join(root, 'local');
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'corp.crt'), `${ca['corp-proxy']}`);
    const read = createHostTrustReader({ bundles: [join(root, 'missing.crt')], certDirs: [join(root, 'missing-dir')], localDirs: [local], distributionDirs: [] });
    const names = async (): Promise<string[]> => subjects((await read()).map((c) => c.pem).join('\n')).sort();
    assert.deepEqual(await names(), ['CN=corp-proxy']);
    await writeFile(join(local, 'late.crt'), `${ca['late']}`);
    assert.deepEqual(await names(), ['CN=corp-proxy', 'CN=late']);
    await rm(join(local, 'corp.crt'));
    assert.deepEqual(await names(), ['CN=late']);
  });

  it('reads nothing from sources that do not exist', async () => {
    const root = await tempDir();
    const read = createHostTrustReader({ bundles: [join(root, 'a.crt')], certDirs: [join(root, 'b')], localDirs: [join(root, 'c')], distributionDirs: [join(root, 'd')] });
    assert.deepEqual(await read(), []);
  });
});

describe('createTemplateTrustReader', () => {
  it('reads the template bundle kept aside, and nothing for a template without one', async () => {
    const withBundle = await tempDir();
    await mkdir(join(withBundle, 'usr/share/sandboxd'), { recursive: true });
    await writeFile(join(withBundle, 'usr/share/sandboxd/ca-certificates.crt'), `${ca['mozilla-root']}`);
    const read = createTemplateTrustReader('/usr/share/sandboxd/ca-certificates.crt');
    assert.deepEqual(subjects((await read(withBundle)).map((c) => c.pem).join('\n')), ['CN=mozilla-root']);
    assert.deepEqual(await read(await tempDir()), []);
  });
});

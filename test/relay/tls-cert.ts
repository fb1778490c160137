/** A self-signed certificate for the relay's TLS tests, made by openssl (1 day, localhost and 127.0.0.1). */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function selfSignedCert(dir: string): Promise<{ certFile: string; keyFile: string; cert: string }> {
  const [keyFile, certFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  // biome-ignore format: one flag and its value a line
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-days', '1',
    '-keyout', keyFile,
    '-out', certFile,
  ]);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8') };
}

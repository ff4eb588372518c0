/**
 * The AWS Query API (IAM, STS) in-process: requests signed with SigV4 exactly as the SDKs sign
 * them, at the test clock's time, sent with `server.inject`. Answers are XML; the helpers read the
 * few elements the attack tests assert on (error code, issued credentials, device serial).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FastifyInstance } from 'fastify';

class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

/** Long-term keys, or temporary ones with their session token. */
export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** An answer: the HTTP status, the XML body, and the error code when it failed. */
export interface AwsAnswer {
  status: number;
  body: string;
  code: string | null;
}

/** The text of the first `<name>` element of an XML answer, or null. */
export function xmlValue(body: string, name: string): string | null {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body);
  return m === null ? null : m[1]!;
}

/** A client for one server, signing at `now()` from `ip`. */
export function awsQuery(server: FastifyInstance, now: () => number) {
  const call = async (
    service: 'iam' | 'sts',
    keys: AwsKeys,
    params: Record<string, string>,
    ip = '198.51.100.7',
  ): Promise<AwsAnswer> => {
    const body = new URLSearchParams({
      Version: service === 'iam' ? '2010-05-08' : '2011-06-15',
      ...params,
    }).toString();
    const signer = new SignatureV4({
      credentials: keys,
      region: 'us-east-1',
      service,
      sha256: NodeSha256 as never,
    });
    const request = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 8080,
        path: '/',
        query: {},
        headers: {
          host: '127.0.0.1:8080',
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        },
        body,
      },
      { signingDate: new Date(now()) },
    );
    const res = await server.inject({
      method: 'POST',
      url: '/',
      headers: request.headers as Record<string, string>,
      payload: body,
      remoteAddress: ip,
    });
    const code = res.statusCode >= 400 ? xmlValue(res.body, 'Code') : null;
    return { status: res.statusCode, body: res.body, code };
  };
  return {
    call,
    iam: (keys: AwsKeys, params: Record<string, string>, ip?: string) => call('iam', keys, params, ip),
    sts: (keys: AwsKeys, params: Record<string, string>, ip?: string) => call('sts', keys, params, ip),
    /** The temporary credentials of a GetSessionToken or AssumeRole answer. */
    credentialsOf(answer: AwsAnswer): AwsKeys {
      if (answer.status !== 200) throw new Error(`no credentials: ${answer.body}`);
      return {
        accessKeyId: xmlValue(answer.body, 'AccessKeyId')!,
        secretAccessKey: xmlValue(answer.body, 'SecretAccessKey')!,
        sessionToken: xmlValue(answer.body, 'SessionToken')!,
      };
    },
  };
}

import { describe, expect, it } from 'vitest';

import * as shapes from './shapes.js';
import { writeSuccessResponse } from './xml.js';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);
const alice = {
  path: '/',
  userName: 'alice',
  userId: 'AIDAEXAMPLEEXAMPLE01',
  arn: 'arn:aws:iam::123456789012:user/alice',
  createDate: T0,
};

function iam(action: string, result: shapes.AwsResult): string {
  return writeSuccessResponse({ service: 'iam', action, requestId: 'r', result });
}

describe('result writers', () => {
  it('write the User members in model order', () => {
    expect(
      iam('GetUser', shapes.getUserResult({ user: { ...alice, permissionsBoundary: { arn: 'arn:p' } } })),
    ).toContain(
      '<GetUserResult><User><Path>/</Path><UserName>alice</UserName><UserId>AIDAEXAMPLEEXAMPLE01</UserId>' +
        '<Arn>arn:aws:iam::123456789012:user/alice</Arn><CreateDate>2024-01-02T03:04:05Z</CreateDate>' +
        '<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType>' +
        '<PermissionsBoundaryArn>arn:p</PermissionsBoundaryArn></PermissionsBoundary></User></GetUserResult>',
    );
  });

  it('write Marker only when the page is truncated', () => {
    expect(
      iam('ListUsers', shapes.listUsersResult({ users: [], isTruncated: false, marker: 'm' })),
    ).toContain('<ListUsersResult><Users/><IsTruncated>false</IsTruncated></ListUsersResult>');
    expect(iam('ListUsers', shapes.listUsersResult({ users: [], isTruncated: true, marker: 'm' }))).toContain(
      '<IsTruncated>true</IsTruncated><Marker>m</Marker>',
    );
  });

  it('give no Result element for every operation without output', () => {
    const empty = [
      shapes.deleteUserResult,
      shapes.updateAccessKeyResult,
      shapes.deleteAccessKeyResult,
      shapes.enableMFADeviceResult,
      shapes.resyncMFADeviceResult,
      shapes.deactivateMFADeviceResult,
      shapes.deleteVirtualMFADeviceResult,
      shapes.putUserPolicyResult,
      shapes.deleteUserPolicyResult,
      shapes.attachUserPolicyResult,
      shapes.detachUserPolicyResult,
    ];
    for (const writer of empty) {
      expect(writer()).toBeNull();
      expect(iam('X', writer())).not.toContain('Result');
    }
  });

  it('write policy documents URL-encoded, with XML escaping on top only where needed', () => {
    const doc = '{"Statement":[{"Resource":"a&b<c>%"}]}';
    const xml = iam(
      'GetUserPolicy',
      shapes.getUserPolicyResult({ userName: 'u', policyName: 'p', policyDocument: doc }),
    );
    const encoded = /<PolicyDocument>(.*)<\/PolicyDocument>/.exec(xml)![1]!;
    expect(encoded).not.toMatch(/[{}"<>&]/);
    expect(decodeURIComponent(encoded)).toBe(doc);
  });

  it('write the seed blob as base64 of the Base32 text and never list seeds', () => {
    const created = iam(
      'CreateVirtualMFADevice',
      shapes.createVirtualMFADeviceResult({
        serialNumber: 'arn:aws:iam::123456789012:mfa/d',
        base32StringSeed: 'JBSWY3DPEHPK3PXP',
        qrCodePNG: new Uint8Array([1, 2, 3]),
      }),
    );
    expect(created).toContain(
      '<Base32StringSeed>SkJTV1kzRFBFSFBLM1BYUA==</Base32StringSeed><QRCodePNG>AQID</QRCodePNG>',
    );
    const listed = iam(
      'ListVirtualMFADevices',
      shapes.listVirtualMFADevicesResult({ devices: [{ serialNumber: 's' }], isTruncated: false }),
    );
    expect(listed).not.toContain('Base32StringSeed');
  });

  it('filter virtual devices by AssignmentStatus', () => {
    const devices = [{ serialNumber: 'a', user: alice, enableDate: T0 }, { serialNumber: 'u' }];
    expect(shapes.filterByAssignmentStatus(devices, 'Assigned').map((d) => d.serialNumber)).toEqual(['a']);
    expect(shapes.filterByAssignmentStatus(devices, 'Unassigned').map((d) => d.serialNumber)).toEqual(['u']);
    expect(shapes.filterByAssignmentStatus(devices, 'Any')).toHaveLength(2);
    expect(shapes.filterByAssignmentStatus(devices)).toHaveLength(2);
  });

  it('refuse a non-integer SummaryMap value', () => {
    expect(() => shapes.getAccountSummaryResult({ summary: { Users: 1.5 } })).toThrow(
      'SummaryMap Users is not an integer',
    );
  });

  it('write STS credentials in model order, Expiration with milliseconds when present', () => {
    const xml = writeSuccessResponse({
      service: 'sts',
      action: 'GetSessionToken',
      requestId: 'r',
      result: shapes.getSessionTokenResult({
        credentials: { accessKeyId: 'ASIA1', secretAccessKey: 's', sessionToken: 't', expiration: T0 + 611 },
      }),
    });
    expect(xml).toContain(
      '<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>' +
        '<Expiration>2024-01-02T03:04:05.611Z</Expiration></Credentials>',
    );
  });
});

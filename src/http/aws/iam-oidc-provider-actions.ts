/**
 * IAM OpenID Connect provider operations (AWS IAM API Reference: CreateOpenIDConnectProvider,
 * GetOpenIDConnectProvider, ListOpenIDConnectProviders, DeleteOpenIDConnectProvider,
 * AddClientIDToOpenIDConnectProvider, RemoveClientIDFromOpenIDConnectProvider,
 * UpdateOpenIDConnectProviderThumbprint). The use cases are in src/app/aws/oidc-providers.ts.
 */

import { ACTIONS } from '../../app/actions.js';
import { tagList } from './iam-policy-actions.js';
import { base, type AwsOperation, type OperationContext } from './operation.js';
import { readString, readStringList, readTags } from './query.js';
import { xmlList, xmlStringList, xmlText, xmlTimestamp } from './xml.js';

function readArn(c: OperationContext): string {
  return readString(c.params, 'OpenIDConnectProviderArn', { required: true, minLength: 20, maxLength: 2048 });
}

function readClientId(c: OperationContext): string {
  return readString(c.params, 'ClientID', { required: true, minLength: 1, maxLength: 255 });
}

/** The IAM OpenID Connect provider operations by wire name. */
export const IAM_OIDC_PROVIDER_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
  CreateOpenIDConnectProvider: {
    action: ACTIONS.CreateOpenIDConnectProvider,
    async handle(c) {
      const url = readString(c.params, 'Url', { required: true, minLength: 1, maxLength: 255 });
      // The model bounds the lists loosely; the quotas (100 client ids, 5 thumbprints) answer
      // LimitExceeded from the use case, as IAM does.
      const clientIds = readStringList(c.params, 'ClientIDList', { maxItems: 1000 });
      const thumbprints = readStringList(c.params, 'ThumbprintList', { maxItems: 100 });
      const view = await c.app.createOpenIDConnectProvider({
        ...base(c),
        url,
        clientIds,
        thumbprints,
        tags: readTags(c.params),
      });
      return {
        result: [xmlText('OpenIDConnectProviderArn', view.arn), tagList(view.provider.tags)],
        audit: { openIDConnectProviderArn: view.arn },
      };
    },
  },
  GetOpenIDConnectProvider: {
    action: ACTIONS.GetOpenIDConnectProvider,
    async handle(c) {
      const { provider } = await c.app.getOpenIDConnectProvider({ ...base(c), arn: readArn(c) });
      return {
        result: [
          // IAM answers the URL without its scheme, as the ARN names the provider.
          xmlText('Url', provider.hostPath),
          xmlStringList('ClientIDList', provider.clientIds),
          xmlStringList('ThumbprintList', provider.thumbprints),
          xmlTimestamp('CreateDate', provider.createdAt),
          tagList(provider.tags),
        ],
      };
    },
  },
  ListOpenIDConnectProviders: {
    action: ACTIONS.ListOpenIDConnectProviders,
    async handle(c) {
      const providers = await c.app.listOpenIDConnectProviders(base(c));
      return {
        result: [
          xmlList(
            'OpenIDConnectProviderList',
            providers.map((p) => [xmlText('Arn', p.arn)]),
          ),
        ],
      };
    },
  },
  DeleteOpenIDConnectProvider: {
    action: ACTIONS.DeleteOpenIDConnectProvider,
    async handle(c) {
      await c.app.deleteOpenIDConnectProvider({ ...base(c), arn: readArn(c) });
      return { result: null };
    },
  },
  AddClientIDToOpenIDConnectProvider: {
    action: ACTIONS.AddClientIDToOpenIDConnectProvider,
    async handle(c) {
      await c.app.addClientIDToOpenIDConnectProvider({
        ...base(c),
        arn: readArn(c),
        clientId: readClientId(c),
      });
      return { result: null };
    },
  },
  RemoveClientIDFromOpenIDConnectProvider: {
    action: ACTIONS.RemoveClientIDFromOpenIDConnectProvider,
    async handle(c) {
      await c.app.removeClientIDFromOpenIDConnectProvider({
        ...base(c),
        arn: readArn(c),
        clientId: readClientId(c),
      });
      return { result: null };
    },
  },
  UpdateOpenIDConnectProviderThumbprint: {
    action: ACTIONS.UpdateOpenIDConnectProviderThumbprint,
    async handle(c) {
      const thumbprints = readStringList(c.params, 'ThumbprintList', { maxItems: 100, required: true });
      await c.app.updateOpenIDConnectProviderThumbprint({ ...base(c), arn: readArn(c), thumbprints });
      return { result: null };
    },
  },
};

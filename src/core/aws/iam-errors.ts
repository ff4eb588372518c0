/** Error codes of the IAM records beyond users, keys and devices (mirrored in docs/errors.md). */
export const IAM_ERROR_CODES = {
  IAM_POLICY_DOCUMENT_INVALID:
    "The policy document breaks a rule IAM applies before storing one (syntax, Version, Sid, ARN); the message is IAM's.",
  IAM_POLICY_VERSION_NOT_FOUND: 'The managed policy has no version with this id.',
  IAM_POLICY_VERSION_LIMIT: 'The managed policy already has five versions; delete one first.',
  IAM_POLICY_VERSION_IS_DEFAULT:
    'The default version of a policy cannot be deleted; set another one as default first.',
  IAM_POLICY_HAS_VERSIONS:
    'The managed policy still has versions besides its default one; delete them first.',
  IAM_TAG_INVALID:
    'A tag key or value is too long, empty, uses characters IAM does not allow, or uses the aws: prefix.',
  IAM_TAG_DUPLICATE: 'Two tags have the same key (tag keys are compared without regard to case).',
  IAM_TAG_LIMIT: 'The resource would hold more than 50 tags.',
  IAM_GROUP_NOT_EMPTY: 'The group still has members or policies; remove them first.',
  IAM_PASSWORD_POLICY_NOT_FOUND: 'The account has no password policy set through the IAM API.',
  IAM_LOGIN_PROFILE_NOT_FOUND: 'The user has no password (no login profile).',
  IAM_ACCOUNT_ALIAS_NOT_FOUND: 'The account has no alias (name) like the one given.',
  IAM_ACCOUNT_ALIAS_REQUIRED:
    'An account keeps its name, which is its alias; CreateAccountAlias replaces it.',
  IAM_OIDC_PROVIDER_NOT_FOUND: 'The account has no OpenID Connect provider with this ARN.',
  IAM_OIDC_PROVIDER_EXISTS: 'The account already has an OpenID Connect provider with this URL.',
  IAM_OIDC_PROVIDER_LIMIT:
    'The account holds 100 OpenID Connect providers, or the provider 100 client ids or 5 thumbprints.',
  IAM_OIDC_PROVIDER_INVALID:
    'The provider URL, a client id or a thumbprint is not acceptable (https URL without query or fragment; http only on loopback).',
} as const;

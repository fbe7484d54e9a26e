import { Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { RESOURCE_SERVER_IDENTIFIER } from '../routes/gatehouse-routes';
import type { RouteSpec } from '../routes/route-spec';
import type { JwtIssuer } from './jwt-authorizer';

/** The identifier of the resource server a GatehouseUserPool makes, and so the prefix of its scopes. */
export const DEFAULT_RESOURCE_SERVER_IDENTIFIER = RESOURCE_SERVER_IDENTIFIER;

/** Props of {@link GatehouseUserPool}. */
export interface GatehouseUserPoolProps {
  /** The routes whose scopes become the resource server's scopes: every scope of the spec, once. */
  readonly routes: readonly RouteSpec[];
  /**
   * The resource server's identifier: tokens name its scopes `<identifier>/<scope>`.
   * @default - DEFAULT_RESOURCE_SERVER_IDENTIFIER ('gatehouse')
   */
  readonly resourceServerIdentifier?: string;
  /**
   * How long the machine client's access tokens live: 5 minutes to 1 day (Cognito's bounds). The
   * authorizer's result cache (5 minutes by default) can keep a token usable that long after it expires.
   * @default - Duration.hours(1)
   */
  readonly accessTokenValidity?: Duration;
  /**
   * The prefix of the Cognito domain that serves the token endpoint
   * (`https://{prefix}.auth.{region}.amazoncognito.com/oauth2/token`); unique in the region across all
   * accounts, lower-case letters, digits and hyphens, without "aws", "amazon" or "cognito".
   * @default - `gatehouse-{account}-{a unique suffix of this construct}`
   */
  readonly domainPrefix?: string;
}

/**
 * The identity provider a Gatehouse stack makes when it is given none: a Cognito user pool whose
 * resource server's scopes are the route spec's, a Cognito domain for its token endpoint, and one app
 * client for the client-credentials flow (machine clients), with a secret Cognito generates. `issuer`
 * is what the JwtAuthorizer trusts: access tokens of that client, scopes without the server's prefix.
 */
export class GatehouseUserPool extends Construct {
  /** The user pool. */
  public readonly userPool: cognito.UserPool;
  /** The resource server that holds the route spec's scopes. */
  public readonly resourceServer: cognito.UserPoolResourceServer;
  /** The app client of machine clients (client credentials). */
  public readonly machineClient: cognito.UserPoolClient;
  /** The Cognito domain of the token endpoint. */
  public readonly domain: cognito.UserPoolDomain;
  /** `https://{domain}/oauth2/token`: where a client trades its id and secret for an access token. */
  public readonly tokenEndpoint: string;
  /** The scopes, as a client asks for them (`gatehouse/orders:read`). */
  public readonly oauthScopes: readonly string[];
  /** The issuer the authorizer trusts for this pool's access tokens. */
  public readonly issuer: JwtIssuer;

  constructor(scope: Construct, id: string, props: GatehouseUserPoolProps) {
    super(scope, id);
    const identifier = props.resourceServerIdentifier ?? DEFAULT_RESOURCE_SERVER_IDENTIFIER;
    const accessTokenValidity = props.accessTokenValidity ?? Duration.hours(1);
    const scopeNames = [...new Set(props.routes.flatMap((route) => route.scopes))].sort();
    validateIdentifier(identifier);
    validateScopes(scopeNames);
    validateValidity(accessTokenValidity);
    const domainPrefix = props.domainPrefix ?? this.defaultDomainPrefix();
    validateDomainPrefix(domainPrefix);

    this.userPool = new cognito.UserPool(this, 'Resource', {
      // Machine clients only: nobody signs up, and the pool holds no users until an operator adds them.
      selfSignUpEnabled: false,
      signInAliases: { username: true },
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.NONE,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.resourceServer = this.userPool.addResourceServer('ResourceServer', {
      identifier,
      userPoolResourceServerName: 'Gatehouse API',
      scopes: scopeNames.map((scopeName) => new cognito.ResourceServerScope({ scopeName, scopeDescription: `Gatehouse routes that need ${scopeName}` })),
    });
    this.domain = this.userPool.addDomain('Domain', { cognitoDomain: { domainPrefix } });
    this.machineClient = this.userPool.addClient('MachineClient', {
      // Cognito generates the secret; it never appears in the template (README: describe-user-pool-client).
      generateSecret: true,
      authFlows: {},
      oAuth: {
        flows: { clientCredentials: true },
        scopes: scopeNames.map((scopeName) =>
          cognito.OAuthScope.resourceServer(this.resourceServer, new cognito.ResourceServerScope({ scopeName, scopeDescription: scopeName })),
        ),
      },
      accessTokenValidity,
      // Client credentials issue no ID or refresh tokens; these are Cognito's minimums, never used.
      idTokenValidity: Duration.minutes(5),
      refreshTokenValidity: Duration.minutes(60),
      enableTokenRevocation: true,
      preventUserExistenceErrors: true,
    });
    // No user sign-in flow: without this Cognito enables SRP and custom auth on the client by default.
    // The refresh-token flow stays, as Cognito requires it in any list (client credentials issue no refresh token).
    (this.machineClient.node.defaultChild as cognito.CfnUserPoolClient).explicitAuthFlows = ['ALLOW_REFRESH_TOKEN_AUTH'];
    this.tokenEndpoint = `${this.domain.baseUrl()}/oauth2/token`;
    this.oauthScopes = scopeNames.map((scopeName) => `${identifier}/${scopeName}`);
    // The iss of the pool's tokens, as Cognito's "Verifying a JSON Web Token" gives it, built from the
    // pool id rather than from the ProviderURL attribute, whose scheme CloudFormation does not promise.
    const stack = Stack.of(this);
    this.issuer = {
      issuer: `https://cognito-idp.${stack.region}.${stack.urlSuffix}/${this.userPool.userPoolId}`,
      clientIds: [this.machineClient.userPoolClientId],
      scopePrefix: `${identifier}/`,
    };

    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        "The pool serves machine clients through the client-credentials flow; the Plus plan's threat protection guards user sign-ins, which this pool does not offer",
    });
  }

  /** Unique per account, region-wide namespace of Cognito domains: the account id and this construct's unique id. */
  private defaultDomainPrefix(): string {
    const account = Stack.of(this).account;
    const suffix = Names.uniqueResourceName(this, { maxLength: 24, separator: '-' })
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '')
      .replace(/aws|amazon|cognito/g, 'x');
    return `gatehouse-${account}-${suffix}`;
  }
}

/** Cognito's ScopeName pattern: no space, no `"`, no `/` (it separates the server from the scope), no `\`. */
const SCOPE_NAME = /^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]{1,256}$/;

function validateScopes(names: readonly string[]): void {
  if (names.length === 0) throw new Error('routes must name at least one scope: a client-credentials client can only be given a resource server scope');
  if (names.length > 100) throw new Error(`routes name ${names.length} scopes; a Cognito resource server holds at most 100`);
  for (const name of names) {
    if (!SCOPE_NAME.test(name)) throw new Error(`scope ${JSON.stringify(name)} is not a Cognito scope name (printable ASCII without space, ", / or \\)`);
  }
}

function validateIdentifier(identifier: string): void {
  if (Token.isUnresolved(identifier)) return;
  if (!/^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/.test(identifier)) {
    throw new Error(`resourceServerIdentifier must be 1 to 256 printable ASCII characters without space, " or \\, got ${JSON.stringify(identifier)}`);
  }
}

function validateValidity(validity: Duration): void {
  if (validity.isUnresolved()) return;
  const minutes = validity.toMinutes({ integral: false });
  if (minutes < 5 || minutes > 24 * 60)
    throw new Error(`accessTokenValidity must be from 5 minutes to 1 day (Cognito's bounds), got ${validity.toHumanString()}`);
}

function validateDomainPrefix(prefix: string): void {
  if (Token.isUnresolved(prefix)) return;
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(prefix) || /aws|amazon|cognito/.test(prefix)) {
    throw new Error(
      `domainPrefix must be 1 to 63 lower-case letters, digits and inner hyphens, without "aws", "amazon" or "cognito", got ${JSON.stringify(prefix)}`,
    );
  }
}

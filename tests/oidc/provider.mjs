// A real OpenID Connect provider (the `oidc-provider` package) on loopback, for the single sign-on
// tests (tests/test_oidc.py, tests/e2e/test_sso.py). Not for production.
//
//   node tests/oidc/provider.mjs --port N --client-id ID --client-secret SECRET \
//        --redirect-uri URI [--redirect-uri URI ...] --accounts FILE [--jwks FILE]
//
// The issuer is http://127.0.0.1:N. One static confidential client (client_secret_basic, PKCE
// required, RS256 ID tokens). Accounts are read from FILE at every sign-in and every claims
// lookup, so a test changes a user's groups at the provider by rewriting it:
//   [{"username": "ada", "password": "...", "sub": "...", "claims": {"groups": ["x"], ...}}]
// --jwks: a private JWK set to sign with (tests sign their own forged tokens with it); without
// it, a fresh RSA key. Sign-in is this file's own small login form; consent is given for the
// client without asking, as an organisation's provider does for its own applications.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'client-id': { type: 'string', default: 'cobrowse' },
    'client-secret': { type: 'string', default: 'cobrowse-test-secret' },
    'redirect-uri': { type: 'string', multiple: true, default: [] },
    accounts: { type: 'string' },
    jwks: { type: 'string' },
  },
});
if (!args.port || !args.accounts || args['redirect-uri'].length === 0) {
  process.stderr.write('usage: provider.mjs --port N --accounts FILE --redirect-uri URI ...\n');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${args.port}`;

function accounts() {
  return JSON.parse(readFileSync(args.accounts, 'utf8'));
}

function signingKeys() {
  if (args.jwks) {
    return JSON.parse(readFileSync(args.jwks, 'utf8'));
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' }] };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: args['client-id'],
      client_secret: args['client-secret'],
      redirect_uris: args['redirect-uri'],
      post_logout_redirect_uris: args['redirect-uri'].map((uri) => new URL('/accounts/login/', uri).href),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: signingKeys(),
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = accounts().find((a) => a.sub === sub);
    if (!account) {
      return undefined;
    }
    return { accountId: sub, claims: async () => ({ ...account.claims, sub }) };
  },
  // First-party client: every scope it asks for is granted without a consent page.
  async loadExistingGrant(ctx) {
    const { client, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) {
        return existing;
      }
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(res, uid, error) {
  res.statusCode = error ? 401 : 200;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  // No form-action: Chromium applies it to the redirects after the post too (to the client).
  res.setHeader('Content-Security-Policy', "default-src 'none'");
  res.setHeader('Cache-Control', 'no-store');
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head>
<body><h1>Test identity provider: sign in</h1>
${error ? `<p role="alert" id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<label>Username <input name="username" id="username" autocomplete="username" required></label>
<label>Password <input type="password" name="password" id="password" autocomplete="current-password" required></label>
<button type="submit" id="sign-in">Sign in</button>
</form></body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) {
      throw new Error('form too large');
    }
  }
  return new URLSearchParams(body);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid || details.prompt.name !== 'login') {
    res.statusCode = 400;
    res.end('unexpected interaction');
    return;
  }
  if (req.method === 'GET') {
    loginPage(res, uid, '');
    return;
  }
  const form = await readForm(req);
  const account = accounts().find((a) => a.username === form.get('username'));
  if (!account || account.password !== form.get('password')) {
    loginPage(res, uid, 'Wrong username or password.');
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
}

const handle = provider.callback();
createServer((req, res) => {
  const match = /^\/interaction\/([\w-]+)$/.exec(new URL(req.url, issuer).pathname);
  if (!match) {
    handle(req, res);
    return;
  }
  interaction(req, res, match[1]).catch((error) => {
    res.statusCode = 400;
    res.end(`interaction failed: ${error.message}`);
  });
}).listen(Number(args.port), '127.0.0.1', () => {
  process.stdout.write(`listening on ${issuer}\n`);
});
